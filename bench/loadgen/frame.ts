/**
 * WebSocket framing for the load generator, and nothing else (RFC 6455 section 5).
 *
 * The parser reads server frames (never masked) straight out of the socket's chunks and hands
 * each one to a callback as (opcode, buffer, start, end): no copy when a frame lies inside one
 * chunk, which is almost always. It does no UTF-8 validation and keeps no message state: the
 * servers under test never fragment what they send, so a fragment is reported as an error
 * rather than reassembled. The framer builds client frames (always masked, as servers require).
 */

/** Opcodes the load generator sees or sends. */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Receives one complete frame; the payload is `buf[start, end)`, valid only during the call. */
export type FrameHandler = (opcode: number, buf: Buffer, start: number, end: number) => void;

/** Largest frame the parser accepts; bigger means a broken stream, not a bench payload. */
const MAX_FRAME = 64 * 1024 * 1024;

/** Splits a byte stream of server frames into frames. One per connection. */
export class FrameParser {
  private pending: Buffer | undefined;
  private readonly onFrame: FrameHandler;

  constructor(onFrame: FrameHandler) {
    this.onFrame = onFrame;
  }

  /** Feeds one chunk from the socket. Throws on a frame it does not accept. */
  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let pos = 0;
    const len = buf.length;
    while (len - pos >= 2) {
      const b0 = buf[pos] as number;
      const b1 = buf[pos + 1] as number;
      if ((b0 & 0x80) === 0 || (b0 & 0x0f) === Opcode.continuation) throw new Error('fragmented frame: not expected from the servers under test');
      if ((b1 & 0x80) !== 0) throw new Error('masked frame from a server');
      let size = b1 & 0x7f;
      let head = 2;
      if (size === 126) {
        if (len - pos < 4) break;
        size = buf.readUInt16BE(pos + 2);
        head = 4;
      } else if (size === 127) {
        if (len - pos < 10) break;
        if (buf.readUInt32BE(pos + 2) !== 0) throw new Error('frame over 4 GiB');
        size = buf.readUInt32BE(pos + 6);
        head = 10;
      }
      if (size > MAX_FRAME) throw new Error(`frame of ${size} bytes`);
      if (len - pos < head + size) break;
      this.onFrame(b0 & 0x0f, buf, pos + head, pos + head + size);
      pos += head + size;
    }
    // Keep the incomplete tail (a copy: the socket may reuse the chunk's memory).
    if (pos < len) this.pending = Buffer.from(buf.subarray(pos));
  }

  /** Bytes waiting for the rest of their frame. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}

/**
 * One masked client frame. The mask key comes from Math.random: the key exists to stop
 * cache-poisoning attacks on intermediaries, which loopback load tests do not have, but servers
 * must see a real one.
 */
export function encodeClientFrame(opcode: number, payload: Uint8Array | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const size = data.length;
  const head = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + size);
  out[0] = 0x80 | opcode;
  if (size < 126) out[1] = 0x80 | size;
  else if (size < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(size, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(size, 6);
  }
  const key = (Math.random() * 0x100000000) >>> 0;
  out.writeUInt32BE(key, head);
  const k = out.subarray(head, head + 4);
  for (let i = 0; i < size; i++) out[head + 4 + i] = (data[i] as number) ^ (k[i & 3] as number);
  return out;
}

/** The status code of a close frame's payload (1005 when it carries none). */
export function closeCode(buf: Buffer, start: number, end: number): number {
  return end - start >= 2 ? buf.readUInt16BE(start) : 1005;
}
