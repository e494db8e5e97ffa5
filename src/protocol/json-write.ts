/**
 * The proto3 JSON mapping, written: the canonical form the standard printers produce.
 */
import { encodeBase64 } from './base64.js';
import { type FieldInfo, info, INT64_TYPES, type MessageInfo, PACKAGE, UINT64_TYPES } from './descriptors.js';

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
