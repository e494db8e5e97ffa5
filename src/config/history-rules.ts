/**
 * Which rooms keep history, and how much: a list of rules by room pattern, the first match wins.
 * Plain data, no config or socket types, so brokers and tests can build one directly.
 */

/** One rule: rooms matching `rooms` keep their last `size` events for `ttlSec` seconds. */
export interface HistoryRule {
  /** An exact room name, a prefix ending in `*` (`chat:*`), or `*`. */
  rooms: string;
  /** Events kept per room; 0 = no history for these rooms. */
  size: number;
  /** How long an event is kept, and how long a room's stream outlives its members (seconds). */
  ttlSec: number;
}

/** The history a room gets. */
export interface HistoryPolicy {
  size: number;
  ttlMs: number;
}

const NONE: HistoryPolicy = Object.freeze({ size: 0, ttlMs: 0 });

/** The default: every room keeps its last 100 events for 5 minutes. */
export const DEFAULT_HISTORY: readonly HistoryRule[] = Object.freeze([Object.freeze({ rooms: '*', size: 100, ttlSec: 300 })]);

function matches(pattern: string, room: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return room.startsWith(pattern.slice(0, -1));
  return pattern === room;
}

/** A compiled rule list. */
export class HistoryRules {
  private readonly rules: ReadonlyArray<{ rooms: string; policy: HistoryPolicy }>;
  /** Whether any rule keeps history at all. */
  readonly any: boolean;

  constructor(rules: readonly HistoryRule[]) {
    this.rules = rules.map((r) => ({ rooms: r.rooms, policy: r.size > 0 && r.ttlSec > 0 ? { size: r.size, ttlMs: r.ttlSec * 1000 } : NONE }));
    this.any = this.rules.some((r) => r.policy.size > 0);
  }

  /** The policy of `room`: the first matching rule's, or none. */
  policy(room: string): HistoryPolicy {
    for (const r of this.rules) if (matches(r.rooms, room)) return r.policy;
    return NONE;
  }
}

/** Parses the flag/environment form `pattern/size/ttlSec,...` (e.g. `chat:*\/200/600,*\/100/300`). */
export function parseHistoryRules(text: string): HistoryRule[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item) => {
      const m = /^([^/\s]+)\/(\d+)\/(\d+)$/.exec(item);
      if (m === null) throw new Error(`history rule ${JSON.stringify(item)}: expected pattern/size/ttlSec, e.g. chat:*/200/600`);
      return { rooms: m[1] as string, size: Number(m[2]), ttlSec: Number(m[3]) };
    });
}
