/**
 * A protobuf walker for the load generator's readers (./dialect-roomcast.ts, ./storm-wire.ts):
 * varints and field skips over a frame, with no decoder and no allocation. One frame is read at a
 * time, so the position is one shared cursor.
 */

/** Where the walk is in the frame being read. */
export const cursor = { pos: 0 };

/** Reads a varint at the cursor (at most up to `end`). */
export function varint(buf: Buffer, end: number): number {
  let result = 0;
  let shift = 1;
  while (cursor.pos < end) {
    const b = buf[cursor.pos++] as number;
    result += (b & 0x7f) * shift;
    if (b < 0x80) return result;
    shift *= 128;
  }
  throw new Error('truncated varint');
}

/** Skips a field of wire type `wt` whose key has been read. */
export function skip(buf: Buffer, end: number, wt: number): void {
  if (wt === 0) varint(buf, end);
  else if (wt === 2) {
    // Not `cursor.pos += varint(...)`: that would read pos before varint moves it.
    const len = varint(buf, end);
    cursor.pos += len;
  } else if (wt === 1) cursor.pos += 8;
  else if (wt === 5) cursor.pos += 4;
  else throw new Error(`wire type ${wt}`);
}
