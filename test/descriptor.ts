/**
 * Test helpers that read the message descriptors generated from the proto (src/gen/roomcast.json).
 */
import descriptor from '../src/gen/roomcast.json' with { type: 'json' };

interface TypeDesc {
  oneofs?: Record<string, { oneof: string[] }>;
}
const types = (descriptor as { nested: { roomcast: { nested: { v1: { nested: Record<string, TypeDesc> } } } } }).nested.roomcast.nested.v1.nested;

/** The field names that make up the oneof `oneofName` of message `typeName` (package roomcast.v1). */
export function oneofMembers(typeName: string, oneofName: string): readonly string[] {
  return types[typeName]?.oneofs?.[oneofName]?.oneof ?? [];
}
