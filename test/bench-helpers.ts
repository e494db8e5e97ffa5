/**
 * Helpers for the tests of the bench's load generator (kept apart from ./helpers.ts, which is
 * about the server).
 */
import assert from 'node:assert/strict';

/** Unmasks one client frame (as a server would) and returns its opcode and payload. */
export function unmask(frame: Buffer): { opcode: number; payload: Buffer } {
  const b1 = frame[1] as number;
  assert.ok(b1 & 0x80, 'client frames are masked');
  let size = b1 & 0x7f;
  let at = 2;
  if (size === 126) {
    size = frame.readUInt16BE(2);
    at = 4;
  } else if (size === 127) {
    size = frame.readUInt32BE(6);
    at = 10;
  }
  const key = frame.subarray(at, at + 4);
  const payload = Buffer.from(frame.subarray(at + 4));
  assert.equal(payload.length, size);
  for (let i = 0; i < size; i++) payload[i] = (payload[i] as number) ^ (key[i & 3] as number);
  return { opcode: (frame[0] as number) & 0x0f, payload };
}
