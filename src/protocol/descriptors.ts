/**
 * The message descriptors generated from `proto/` (src/gen/roomcast.json), indexed for the
 * proto3 JSON reader and writer: fields by JSON and original name, oneofs, enum values.
 */
import descriptorJson from '../gen/roomcast.json' with { type: 'json' };

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

/** A field as the JSON reader and writer need it. */
export interface FieldInfo {
  name: string;
  type: string;
  repeated: boolean;
  oneof: string | undefined;
  message: MessageInfo | undefined;
  enumValues: Map<string, number> | undefined;
  /** Enum value names by number (for writing). */
  enumNames: Map<number, string> | undefined;
}
/** A message: its fields by JSON key and by original name. */
export interface MessageInfo {
  fullName: string;
  byKey: Map<string, FieldInfo>;
  /** Each field once, in declaration order (byKey also holds the original names). */
  fields: FieldInfo[];
  resolved: boolean;
  raw: TypeDescriptor;
}

/** 64-bit integer field types (strings in JSON). */
export const INT64_TYPES: ReadonlySet<string> = new Set(['int64', 'sint64', 'sfixed64']);
/** Unsigned 64-bit integer field types. */
export const UINT64_TYPES: ReadonlySet<string> = new Set(['uint64', 'fixed64']);

/** The proto package every message name is relative to. */
export const PACKAGE = 'roomcast.v1';
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

/** The (lazily resolved) message `fullName`, e.g. "roomcast.v1.ClientMessage". */
export function info(fullName: string): MessageInfo {
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

/** The field names that make up the oneof `oneofName` of message `typeName` (package roomcast.v1). */
export function oneofMembers(typeName: string, oneofName: string): readonly string[] {
  return info(`${PACKAGE}.${typeName}`).raw.oneofs?.[oneofName]?.oneof ?? [];
}
