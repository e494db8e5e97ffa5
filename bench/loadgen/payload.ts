/**
 * The bench payload: the same bytes for every peer, whatever wraps them on the wire.
 *
 *   bytes 0-7    intended send time, CLOCK_MONOTONIC nanoseconds (process.hrtime.bigint()),
 *                unsigned little-endian: comparable across processes on one host
 *   bytes 8-11   publish index (uint32 LE), counting from 0 over the whole run
 *   bytes 12-15  room index (uint32 LE)
 *   the rest     filler up to the payload size
 *
 * Receivers read the 16-byte stamp without allocating: the clock as a Number (two 32-bit
 * halves; exact to the nanosecond below 2^53 ns, about 104 days of uptime, and off by a few ns
 * beyond, which microsecond latencies do not notice).
 */

/** Bytes of the stamp at the start of every payload; also the smallest payload. */
export const STAMP_BYTES = 16;

/** What a receiver reads from a payload. Reused: one object per receiver process. */
export interface Stamp {
  /** Intended send time, ns. */
  timeNs: number;
  index: number;
  room: number;
}

/** A payload of `size` bytes with the filler in place; stamp it with {@link writeStamp}. */
export function makePayload(size: number): Buffer {
  if (!Number.isInteger(size) || size < STAMP_BYTES) throw new Error(`payload size must be an integer >= ${STAMP_BYTES}, got ${size}`);
  const buf = Buffer.alloc(size);
  // Printable filler: readable in a packet capture, and the same bytes for every peer.
  for (let i = STAMP_BYTES; i < size; i++) buf[i] = 0x61 + (i % 26);
  return buf;
}

/** Writes the stamp into the first 16 bytes. */
export function writeStamp(buf: Buffer, timeNs: bigint, index: number, room: number): void {
  buf.writeBigUInt64LE(timeNs, 0);
  buf.writeUInt32LE(index, 8);
  buf.writeUInt32LE(room, 12);
}

/** Reads the stamp at `buf[at]` into `out`. The caller checks that 16 bytes are there. */
export function readStamp(buf: Uint8Array, at: number, out: Stamp): void {
  out.timeNs = u32(buf, at + 4) * 4294967296 + u32(buf, at);
  out.index = u32(buf, at + 8);
  out.room = u32(buf, at + 12);
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16)) + (b[i + 3] as number) * 0x1000000;
}

/** Now, CLOCK_MONOTONIC nanoseconds as a Number (see the module comment for the precision). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}
