/**
 * The last N events of one room, as encoded frames, without an allocation per event: frame bytes
 * live in one growing byte ring, and each event's seq, time, place and flags in typed arrays.
 * Storing an event is a copy into the ring; only reads (recovery, history: rare) allocate.
 */
import type { StoredEvent } from './broker.js';

/** Bytes of bookkeeping per slot: seq and time (f64), offset and length (u32), flag (u8), a pointer. */
const SLOT_BYTES = 8 + 8 + 4 + 4 + 1 + 8;
const MIN_SLOTS = 8;
const MIN_DATA = 512;
const EMPTY = new Uint8Array(0);

/**
 * A bounded ring of a room's last events. Its slots and frame storage start small and grow with
 * use (up to `size` slots), so a quiet room costs little.
 */
export class EventRing {
  /** How many events it keeps at most. */
  readonly size: number;
  /** Slots allocated (grows up to `size`). */
  private cap = 0;
  private seqs = new Float64Array(0);
  private times = new Float64Array(0);
  private offs = new Uint32Array(0);
  private lens = new Uint32Array(0);
  private excluded = new Uint8Array(0);
  private connIds: string[] = [];
  /** Index of the oldest event, and how many there are. */
  private head = 0;
  private n = 0;
  /** Frame bytes: from the oldest frame to `end` (where the next one goes), wrapping. */
  private data: Uint8Array = EMPTY;
  private end = 0;

  constructor(size: number) {
    this.size = size;
  }

  /** More slots (twice as many, up to `size`), the events moved to the front in order. */
  private growSlots(): void {
    const cap = Math.min(this.size, Math.max(MIN_SLOTS, this.cap * 2));
    const seqs = new Float64Array(cap);
    const times = new Float64Array(cap);
    const offs = new Uint32Array(cap);
    const lens = new Uint32Array(cap);
    const excluded = new Uint8Array(cap);
    const connIds = new Array<string>(cap).fill('');
    for (let i = 0; i < this.n; i += 1) {
      const from = (this.head + i) % this.cap;
      seqs[i] = this.seqs[from] as number;
      times[i] = this.times[from] as number;
      offs[i] = this.offs[from] as number;
      lens[i] = this.lens[from] as number;
      excluded[i] = this.excluded[from] as number;
      connIds[i] = this.connIds[from] as string;
    }
    this.cap = cap;
    this.seqs = seqs;
    this.times = times;
    this.offs = offs;
    this.lens = lens;
    this.excluded = excluded;
    this.connIds = connIds;
    this.head = 0;
  }

  /** Events held. */
  get count(): number {
    return this.n;
  }

  /** Bytes this ring holds (frame storage and bookkeeping). */
  get bytes(): number {
    return this.data.byteLength + this.cap * SLOT_BYTES;
  }

  /** The time of the oldest event (ms), or Infinity when empty. */
  oldestTimeMs(): number {
    return this.n === 0 ? Infinity : (this.times[this.head] as number);
  }

  /** Forgets the oldest event. */
  shift(): void {
    if (this.n === 0) return;
    this.connIds[this.head] = '';
    this.head = (this.head + 1) % this.cap;
    this.n -= 1;
    if (this.n === 0) this.end = 0;
  }

  /** Forgets every event (and gives back the storage). */
  clear(): void {
    this.head = 0;
    this.n = 0;
    this.end = 0;
    this.cap = 0;
    this.seqs = new Float64Array(0);
    this.times = new Float64Array(0);
    this.offs = new Uint32Array(0);
    this.lens = new Uint32Array(0);
    this.excluded = new Uint8Array(0);
    this.connIds = [];
    this.data = EMPTY;
  }

  /** Bytes of frame storage in use between the oldest frame and `end`, if `end` were at `at`. */
  private tail(): number {
    return this.n === 0 ? this.end : (this.offs[this.head] as number);
  }

  /** Where a frame of `len` bytes can go without overwriting a kept one, or -1. */
  private place(len: number): number {
    const cap = this.data.length;
    if (this.n === 0) return len <= cap ? 0 : -1;
    const tail = this.tail();
    if (this.end >= tail) {
      // Used: [tail, end). Free: [end, cap) then [0, tail).
      if (cap - this.end >= len) return this.end;
      if (tail > len) return 0;
      return -1;
    }
    // Used: [tail, cap) and [0, end). Free: [end, tail).
    return tail - this.end > len ? this.end : -1;
  }

  /** Grows the frame storage to fit `len` more bytes, keeping the events in order. */
  private grow(len: number): void {
    let used = 0;
    for (let i = 0; i < this.n; i += 1) used += this.lens[(this.head + i) % this.cap] as number;
    let cap = Math.max(MIN_DATA, this.data.length * 2);
    while (cap < used + len + 1) cap *= 2;
    const next = new Uint8Array(cap);
    let at = 0;
    for (let i = 0; i < this.n; i += 1) {
      const slot = (this.head + i) % this.cap;
      const off = this.offs[slot] as number;
      const l = this.lens[slot] as number;
      next.set(this.data.subarray(off, off + l), at);
      this.offs[slot] = at;
      at += l;
    }
    this.data = next;
    this.end = at;
  }

  /** Stores an event, dropping the oldest one when all slots are full. */
  push(seq: number, frame: Uint8Array, connId: string, excludeSelf: boolean, timeMs: number): void {
    if (this.n === this.size) this.shift();
    else if (this.n === this.cap) this.growSlots();
    let at = this.place(frame.length);
    if (at < 0) {
      // Rather than drop events that still have a slot, make room.
      this.grow(frame.length);
      at = this.place(frame.length);
    }
    this.data.set(frame, at);
    this.end = at + frame.length;
    const slot = (this.head + this.n) % this.cap;
    this.seqs[slot] = seq;
    this.times[slot] = timeMs;
    this.offs[slot] = at;
    this.lens[slot] = frame.length;
    this.excluded[slot] = excludeSelf ? 1 : 0;
    this.connIds[slot] = connId;
    this.n += 1;
  }

  /** Copies of the events with time >= `sinceMs`, oldest first. */
  read(sinceMs: number): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (let i = 0; i < this.n; i += 1) {
      const slot = (this.head + i) % this.cap;
      if ((this.times[slot] as number) < sinceMs) continue;
      const off = this.offs[slot] as number;
      out.push({
        seq: this.seqs[slot] as number,
        frame: this.data.slice(off, off + (this.lens[slot] as number)),
        connId: this.connIds[slot] as string,
        excludeSelf: this.excluded[slot] === 1,
      });
    }
    return out;
  }
}
