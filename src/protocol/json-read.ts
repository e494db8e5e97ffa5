/**
 * The proto3 JSON mapping, read strictly.
 *
 * protobufjs's `fromObject` coerces anything it is given (a number where a string belongs, an
 * unknown key ignored), which would turn bad input into silent surprises. This reader walks the
 * message descriptors generated from `proto/` and accepts exactly what the proto3 JSON mapping
 * allows: lowerCamelCase or original field names, enums by name or number, 64-bit integers as
 * strings or numbers, bytes as (URL-safe or standard) base64, `null` for "absent", at most one
 * member of a oneof. Anything else is a {@link JsonShapeError} naming the offending path.
 */
import { decodeBase64 } from './base64.js';
import { type FieldInfo, info, INT64_TYPES, type MessageInfo, PACKAGE, UINT64_TYPES } from './descriptors.js';

/** A JSON value did not fit the message it was read as. */
export class JsonShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonShapeError';
  }
}

/** How {@link readProto3Json} reads. */
export interface ReadOptions {
  /** Give absent scalar fields (outside oneofs) their proto3 default, as a protobuf decoder does. */
  defaults: boolean;
  /**
   * Skip unknown fields and read unknown enum names as 0, like the standard parsers' option of
   * the same name: a reader keeps working with a newer peer. Clients set it for server frames, the
   * server for client frames and HTTP bodies (protobuf's own rule, the same in both encodings).
   */
  ignoreUnknownFields: boolean;
}

const INT32_TYPES = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32_TYPES = new Set(['uint32', 'fixed32']);
const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

function readInteger(v: unknown, path: string, min: number, max: number): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = Number(v);
  else throw new JsonShapeError(`${path}: expected an integer, got ${describe(v)}`);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new JsonShapeError(`${path}: ${String(v)} is out of range [${min}, ${max}]`);
  }
  return n;
}

/** 64-bit integers: a safe integer number, or a decimal string (kept as a string beyond 2^53). */
function readInteger64(v: unknown, path: string, unsigned: boolean): number | string {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || (unsigned && v < 0)) {
      throw new JsonShapeError(`${path}: ${v} is not a valid ${unsigned ? 'uint64' : 'int64'}`);
    }
    return v;
  }
  if (typeof v === 'string' && (unsigned ? /^\d{1,20}$/ : /^-?\d{1,19}$/).test(v)) {
    const big = BigInt(v);
    const [lo, hi] = unsigned ? [0n, 2n ** 64n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
    if (big < lo || big > hi) throw new JsonShapeError(`${path}: ${v} is out of range`);
    const n = Number(big);
    return Number.isSafeInteger(n) ? n : v;
  }
  throw new JsonShapeError(`${path}: expected a 64-bit integer (string or number), got ${describe(v)}`);
}

function readScalar(field: FieldInfo, v: unknown, path: string, opts: ReadOptions): unknown {
  const t = field.type;
  if (field.enumValues) {
    if (typeof v === 'string') {
      const n = field.enumValues.get(v);
      // A newer peer may send a value this build does not know: read it as the default.
      if (n === undefined && opts.ignoreUnknownFields) return 0;
      if (n === undefined) throw new JsonShapeError(`${path}: unknown enum value ${JSON.stringify(v)}`);
      return n;
    }
    return readInteger(v, path, -(2 ** 31), 2 ** 31 - 1);
  }
  if (t === 'string') {
    if (typeof v !== 'string') throw new JsonShapeError(`${path}: expected a string, got ${describe(v)}`);
    return v;
  }
  if (t === 'bool') {
    if (typeof v !== 'boolean') throw new JsonShapeError(`${path}: expected true or false, got ${describe(v)}`);
    return v;
  }
  if (t === 'bytes') {
    if (typeof v !== 'string' || !BASE64.test(v)) {
      throw new JsonShapeError(`${path}: expected base64 text, got ${describe(v)}`);
    }
    return decodeBase64(v);
  }
  if (INT32_TYPES.has(t)) return readInteger(v, path, -(2 ** 31), 2 ** 31 - 1);
  if (UINT32_TYPES.has(t)) return readInteger(v, path, 0, 2 ** 32 - 1);
  if (INT64_TYPES.has(t)) return readInteger64(v, path, false);
  if (UINT64_TYPES.has(t)) return readInteger64(v, path, true);
  if (t === 'double' || t === 'float') {
    if (typeof v === 'number') return v;
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
    throw new JsonShapeError(`${path}: expected a number, got ${describe(v)}`);
  }
  throw new JsonShapeError(`${path}: unsupported field type ${t}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === undefined) return `${typeof v} ${String(v)}`;
  // JSON.parse gives none of the rest (symbols, functions).
  return typeof v;
}

function readValue(field: FieldInfo, v: unknown, path: string, depth: number, opts: ReadOptions): unknown {
  if (field.message) return readMessage(field.message, v, path, depth + 1, opts);
  return readScalar(field, v, path, opts);
}

/** The proto3 default of a scalar field. */
function defaultOf(field: FieldInfo): unknown {
  if (field.enumValues) return 0;
  if (field.type === 'string') return '';
  if (field.type === 'bool') return false;
  if (field.type === 'bytes') return new Uint8Array(0);
  return 0;
}

function readMessage(m: MessageInfo, value: unknown, path: string, depth: number, opts: ReadOptions): Record<string, unknown> {
  if (depth > 32) throw new JsonShapeError(`${path}: nested too deeply`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JsonShapeError(`${path}: expected an object (${m.fullName}), got ${describe(value)}`);
  }
  const out: Record<string, unknown> = {};
  const oneofSet = new Map<string, string>();
  for (const key of Object.keys(value)) {
    const field = m.byKey.get(key);
    const fieldPath = path ? `${path}.${key}` : key;
    if (!field) {
      if (opts.ignoreUnknownFields) continue;
      throw new JsonShapeError(`${fieldPath}: unknown field of ${m.fullName}`);
    }
    if (field.name in out) throw new JsonShapeError(`${fieldPath}: field given twice`);
    const v = (value as Record<string, unknown>)[key];
    if (v === null) continue;
    if (field.oneof) {
      const other = oneofSet.get(field.oneof);
      if (other) throw new JsonShapeError(`${fieldPath}: only one of ${field.oneof} may be set (also got ${other})`);
      oneofSet.set(field.oneof, key);
    }
    if (field.repeated) {
      if (!Array.isArray(v)) throw new JsonShapeError(`${fieldPath}: expected an array, got ${describe(v)}`);
      out[field.name] = v.map((item, i) => readValue(field, item, `${fieldPath}[${i}]`, depth, opts));
    } else {
      out[field.name] = readValue(field, v, fieldPath, depth, opts);
    }
  }
  for (const field of m.byKey.values()) {
    if (field.name in out) continue;
    if (field.repeated) out[field.name] = [];
    else if (opts.defaults && !field.message && !field.oneof) out[field.name] = defaultOf(field);
  }
  return out;
}

/**
 * Reads a parsed JSON value as the message `typeName` (e.g. "ClientMessage", in package
 * roomcast.v1). Returns a plain object with the generated code's property names, ready for
 * `encode`/`create`, following {@link ReadOptions} (both off by default). Throws
 * {@link JsonShapeError}.
 */
export function readProto3Json(typeName: string, value: unknown, options: Partial<ReadOptions> = {}): Record<string, unknown> {
  const opts: ReadOptions = { defaults: options.defaults === true, ignoreUnknownFields: options.ignoreUnknownFields === true };
  return readMessage(info(`${PACKAGE}.${typeName}`), value, '', 0, opts);
}
