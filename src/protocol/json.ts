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
import descriptorJson from '../gen/roomcast.json' with { type: 'json' };
import { decodeBase64, encodeBase64 } from './base64.js';

/** A JSON value did not fit the message it was read as. */
export class JsonShapeError extends Error {
  /** Set when the unknown key sits at the top level of the message being read. */
  readonly unknownTopLevelKey: string | undefined;
  constructor(message: string, unknownTopLevelKey?: string) {
    super(message);
    this.name = 'JsonShapeError';
    this.unknownTopLevelKey = unknownTopLevelKey;
  }
}

interface FieldDescriptor {
  type: string;
  id: number;
  rule?: string;
  keyType?: string;
}
interface TypeDescriptor {
  fields?: Record<string, FieldDescriptor>;
  oneofs?: Record<string, { oneof: string[] }>;
  values?: Record<string, number>;
  nested?: Record<string, TypeDescriptor>;
}

interface FieldInfo {
  name: string;
  type: string;
  repeated: boolean;
  oneof: string | undefined;
  message: MessageInfo | undefined;
  enumValues: Map<string, number> | undefined;
  /** Enum value names by number (for writing). */
  enumNames: Map<number, string> | undefined;
}
interface MessageInfo {
  fullName: string;
  byKey: Map<string, FieldInfo>;
  /** Each field once, in declaration order (byKey also holds the original names). */
  fields: FieldInfo[];
  resolved: boolean;
  raw: TypeDescriptor;
}

/** How {@link readProto3Json} reads. */
export interface ReadOptions {
  /** Give absent scalar fields (outside oneofs) their proto3 default, as a protobuf decoder does. */
  defaults: boolean;
  /**
   * Skip unknown fields and read unknown enum names as 0, like the standard parsers' option of
   * the same name. For clients reading a server that may be newer than they are; the server
   * itself reads strictly.
   */
  ignoreUnknownFields: boolean;
}

const PACKAGE = 'roomcast.v1';
const messages = new Map<string, MessageInfo>();
const enums = new Map<string, Map<string, number>>();
const enumNames = new Map<string, Map<number, string>>();

function collect(prefix: string, nested: Record<string, TypeDescriptor> | undefined): void {
  if (!nested) return;
  for (const [name, d] of Object.entries(nested)) {
    const fullName = prefix ? `${prefix}.${name}` : name;
    if (d.fields) messages.set(fullName, { fullName, byKey: new Map(), fields: [], resolved: false, raw: d });
    else if (d.values) {
      enums.set(fullName, new Map(Object.entries(d.values)));
      enumNames.set(fullName, new Map(Object.entries(d.values).map(([k, v]) => [v, k])));
    }
    collect(fullName, d.nested);
  }
}
collect('', (descriptorJson as TypeDescriptor).nested);

function snakeCase(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function resolveTypeName(type: string, scope: string): string {
  // Proto scoping: try the innermost scope first, then walk outwards.
  const parts = scope.split('.');
  while (parts.length > 0) {
    const candidate = `${parts.join('.')}.${type}`;
    if (messages.has(candidate) || enums.has(candidate)) return candidate;
    parts.pop();
  }
  return type;
}

function info(fullName: string): MessageInfo {
  const m = messages.get(fullName);
  if (!m) throw new Error(`no message ${fullName} in the descriptor`);
  if (m.resolved) return m;
  m.resolved = true;
  const oneofOf = new Map<string, string>();
  for (const [oneofName, o] of Object.entries(m.raw.oneofs ?? {})) {
    for (const member of o.oneof) oneofOf.set(member, oneofName);
  }
  const scope = fullName.slice(0, fullName.lastIndexOf('.'));
  for (const [name, f] of Object.entries(m.raw.fields ?? {})) {
    if (f.keyType) throw new Error(`${fullName}.${name}: map fields are not supported by this reader`);
    const typeName = resolveTypeName(f.type, scope);
    const field: FieldInfo = {
      name,
      type: f.type,
      repeated: f.rule === 'repeated',
      oneof: oneofOf.get(name),
      message: undefined,
      enumValues: enums.get(typeName),
      enumNames: enumNames.get(typeName),
    };
    if (messages.has(typeName)) {
      // Resolved lazily so that recursive messages do not loop.
      Object.defineProperty(field, 'message', { get: () => info(typeName), enumerable: true });
    }
    m.byKey.set(name, field);
    m.fields.push(field);
    const original = snakeCase(name);
    if (original !== name) m.byKey.set(original, field);
  }
  return m;
}

const INT32_TYPES = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32_TYPES = new Set(['uint32', 'fixed32']);
const INT64_TYPES = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64_TYPES = new Set(['uint64', 'fixed64']);
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
  return `${typeof v} ${String(v)}`;
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
      throw new JsonShapeError(`${fieldPath}: unknown field of ${m.fullName}`, depth === 0 ? key : undefined);
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

/** The field names that make up the oneof `oneofName` of message `typeName`. */
export function oneofMembers(typeName: string, oneofName: string): readonly string[] {
  const m = info(`${PACKAGE}.${typeName}`);
  return m.raw.oneofs?.[oneofName]?.oneof ?? [];
}

// ---------------------------------------------------------------------------------------------
// Writing

const LONG_TYPES = new Set([...INT64_TYPES, ...UINT64_TYPES]);

interface LongLike {
  low: number;
  high: number;
  toString(): string;
}

function isLongLike(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && 'low' in v && 'high' in v;
}

/** Whether a (non-oneof, non-message) value is its field's proto3 default, which is left out. */
function isDefault(field: FieldInfo, v: unknown): boolean {
  if (v === 0 || v === '' || v === false) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  if (isLongLike(v)) return v.low === 0 && v.high === 0;
  return typeof v === 'bigint' && v === 0n && LONG_TYPES.has(field.type);
}

function writeValue(field: FieldInfo, v: unknown): unknown {
  if (field.message) return writeMessage(field.message, v as Record<string, unknown>);
  if (field.enumNames) return field.enumNames.get(v as number) ?? v;
  if (field.type === 'bytes') return encodeBase64(v as Uint8Array);
  if (LONG_TYPES.has(field.type)) return String(v);
  if ((field.type === 'double' || field.type === 'float') && typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

function writeMessage(m: MessageInfo, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of m.fields) {
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    if (field.repeated) {
      out[field.name] = (v as unknown[]).map((item) => writeValue(field, item));
    } else if (field.oneof !== undefined || field.message !== undefined || !isDefault(field, v)) {
      out[field.name] = writeValue(field, v);
    }
  }
  return out;
}

/**
 * The proto3 JSON form of a message given as a plain object (or a generated message instance)
 * of type `typeName`: lowerCamelCase names, enums as names, 64-bit integers as strings, bytes as
 * base64, scalar fields that hold their default left out (oneof members are kept, since setting
 * one is information); lists are always written, empty ones as [] (the mapping allows printing
 * fields without presence; `{"rooms": []}` reads better than `{}`). Ready for JSON.stringify.
 */
export function writeProto3Json(typeName: string, message: object): Record<string, unknown> {
  return writeMessage(info(`${PACKAGE}.${typeName}`), message as Record<string, unknown>);
}
