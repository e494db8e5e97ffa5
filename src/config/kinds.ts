/**
 * The kinds of option value: for each, its TypeScript type, its validation (zod), how it is
 * read from a flag or environment string, and how `--help` shows it. A new kind of option (a
 * structured one, say a list of rules written `a/b/c,...`) is one entry in {@link KindValues}
 * and one in {@link KINDS}; the option table and everything derived from it follow.
 */
import { z } from 'zod';
import { ROOM_NAME_PATTERN } from '../protocol/limits.js';
import { type HistoryRule, parseHistoryRules } from './history-rules.js';

/** The TypeScript type of each kind's value (an enum's is narrowed to its values in options.ts). */
export interface KindValues {
  int: number;
  string: string;
  bool: boolean;
  enum: string;
  list: string[];
  history: HistoryRule[];
}

/** A kind of option value. */
export type Kind = keyof KindValues;

/** What a kind needs to know about its option (bounds, allowed values). */
export interface KindParams {
  values?: readonly string[];
  min?: number;
  max?: number;
}

/** A configuration problem; the message names the option and where it came from. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** How one kind is validated, read from a string and shown. */
export interface KindImpl<K extends Kind> {
  /** The schema a value of this kind must pass (file, environment and flags alike). */
  schema(o: KindParams): z.ZodType<KindValues[K]>;
  /** Reads a flag or environment string; `where` names its source in errors. */
  fromString(raw: string, where: string): unknown;
  /** The placeholder `--help` shows after the flag. */
  placeholder(o: KindParams): string;
}

/** Every kind. */
export const KINDS: { readonly [K in Kind]: KindImpl<K> } = {
  int: {
    schema: (o) =>
      z
        .number()
        .int()
        .min(o.min ?? Number.MIN_SAFE_INTEGER)
        .max(o.max ?? Number.MAX_SAFE_INTEGER),
    fromString(raw, where) {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${where}: expected an integer, got ${JSON.stringify(raw)}`);
      return Number(raw.trim());
    },
    placeholder: () => '<int>',
  },
  string: {
    schema: () => z.string(),
    fromString: (raw) => raw,
    placeholder: () => '<string>',
  },
  bool: {
    schema: () => z.boolean(),
    fromString(raw, where) {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on', ''].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new ConfigError(`${where}: expected true or false, got ${JSON.stringify(raw)}`);
    },
    placeholder: () => '',
  },
  enum: {
    schema: (o) => z.enum((o.values ?? []) as [string, ...string[]]),
    fromString: (raw) => raw,
    placeholder: (o) => (o.values ?? []).join('|'),
  },
  list: {
    schema: () => z.array(z.string().min(1)),
    fromString: (raw) =>
      raw
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    placeholder: () => '<a,b,...>',
  },
  history: {
    schema: () =>
      z.array(
        z.strictObject({
          rooms: z.string().refine((r) => r === '*' || ROOM_NAME_PATTERN.test(r.endsWith('*') ? r.slice(0, -1) : r), 'a room name, a prefix ending in *, or *'),
          size: z.number().int().min(0).max(1_000_000),
          ttlSec: z
            .number()
            .int()
            .min(0)
            .max(30 * 86_400),
        }),
      ),
    fromString(raw, where) {
      try {
        return parseHistoryRules(raw);
      } catch (err) {
        throw new ConfigError(`${where}: ${(err as Error).message}`);
      }
    },
    placeholder: () => '<pattern/size/ttlSec,...>',
  },
};
