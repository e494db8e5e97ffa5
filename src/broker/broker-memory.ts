/**
 * The default broker: one process, no network. Each room has a stream: an epoch (random, so a
 * restarted process starts new ones), a sequence number, and a ring of its last events as
 * already-encoded frames (replayed as they are, never re-encoded).
 *
 * A stream lives while the room has members, and after that while its history policy keeps it:
 * its events for `ttlMs`, the stream itself (epoch and seq, a few dozen bytes) for a day, so a
 * client that comes back after its events expired hears "too old" rather than "epoch changed".
 * Rooms without history drop their stream with their last member, as before. Every stream and
 * stored frame counts against `maxBytes`; past it the least recently published streams lose
 * their events (and, without members, the stream), which readers then see as a miss, never as a
 * silent gap.
 */
import { randomBytes } from 'node:crypto';
import { encodeEventProto } from '../protocol/events.js';
import type {
  Broker,
  BrokerHandlers,
  HistoryQuery,
  HistoryRead,
  PresenceNotice,
  Publication,
  SequencedPublication,
  StoredEvent,
  StreamPosition,
} from './broker.js';
import { DEFAULT_HISTORY, type HistoryPolicy, HistoryRules } from './history-rules.js';

/** Options of the in-process broker. */
export interface MemoryBrokerOptions {
  /** Which rooms keep history (default: every room, 100 events, 5 minutes). */
  history?: HistoryRules;
  /** Bytes all streams may hold together (default 64 MiB). */
  maxBytes?: number;
  /** How long an idle stream's epoch and seq are kept after its events expired (default 24 h). */
  streamTtlMs?: number;
  /** The clock (ms), for tests. */
  now?: () => number;
}

/** What a stream costs besides its frames (the record, the map entry, the epoch string). */
const STREAM_OVERHEAD = 160;
/** What a stored event costs besides its frame bytes. */
const ENTRY_OVERHEAD = 64;

interface Entry extends StoredEvent {
  timeMs: number;
}

interface Stream {
  readonly room: string;
  readonly epoch: string;
  readonly policy: HistoryPolicy;
  seq: number;
  /** Ring of the last `policy.size` events: `count` of them, the oldest at `head`. */
  readonly ring: Array<Entry | undefined>;
  head: number;
  count: number;
  /** Bytes of this stream (overhead + frames). */
  bytes: number;
  /** Local members. */
  open: boolean;
  /** Last publish, or when the last member left. */
  touchedMs: number;
}

/** A new epoch: 16 hex characters. */
export function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

class MemoryBroker implements Broker {
  readonly kind = 'memory';
  private handlers: BrokerHandlers | undefined;
  /** Streams in order of last publish (oldest first): the eviction order. */
  private readonly streams = new Map<string, Stream>();
  private readonly rules: HistoryRules;
  private readonly maxBytes: number;
  private readonly streamTtlMs: number;
  private readonly now: () => number;
  private totalBytes = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryBrokerOptions) {
    this.rules = options.history ?? new HistoryRules(DEFAULT_HISTORY);
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.streamTtlMs = options.streamTtlMs ?? 24 * 3600 * 1000;
    this.now = options.now ?? Date.now;
  }

  usage(): { streams: number; bytes: number } {
    return { streams: this.streams.size, bytes: this.totalBytes };
  }

  async start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
    if (this.rules.any) {
      this.sweeper = setInterval(() => this.sweep(), 1000);
      this.sweeper.unref();
    }
  }

  private create(room: string, policy: HistoryPolicy): Stream {
    const s: Stream = { room, epoch: newEpoch(), policy, seq: 0, ring: new Array<Entry | undefined>(policy.size), head: 0, count: 0, bytes: STREAM_OVERHEAD, open: false, touchedMs: this.now() };
    this.streams.set(room, s);
    this.totalBytes += STREAM_OVERHEAD;
    return s;
  }

  publish(p: Publication): number {
    const handlers = this.handlers;
    if (handlers === undefined) return 0;
    let s = this.streams.get(p.room);
    if (s === undefined) {
      const policy = this.rules.policy(p.room);
      // No members and no history: nobody to deliver to and nothing to keep.
      if (policy.size === 0) return 0;
      s = this.create(p.room, policy);
    }
    const seq = s.seq + 1;
    s.seq = seq;
    // The publication is ours for this call: number it in place rather than copy it.
    const sequenced = p as SequencedPublication;
    sequenced.seq = seq;
    if (s.policy.size > 0) {
      // A copy: the encoder hands out a view into a buffer it reuses (and Buffer#slice would not copy).
      const frame = new Uint8Array(encodeEventProto(sequenced));
      sequenced.frame = frame;
      this.store(s, { seq, frame, connId: p.connId, excludeSelf: p.excludeSelf, timeMs: this.now() });
    } else {
      sequenced.frame = undefined;
    }
    if (s.open) handlers.deliver(sequenced);
    return seq;
  }

  private store(s: Stream, e: Entry): void {
    const size = s.policy.size;
    const cost = e.frame.length + ENTRY_OVERHEAD;
    if (s.count === size) {
      const old = s.ring[s.head];
      if (old !== undefined) this.release(s, old.frame.length + ENTRY_OVERHEAD);
      s.ring[s.head] = e;
      s.head = (s.head + 1) % size;
    } else {
      s.ring[(s.head + s.count) % size] = e;
      s.count += 1;
    }
    s.bytes += cost;
    this.totalBytes += cost;
    s.touchedMs = e.timeMs;
    // Most recently published last: the eviction order.
    this.streams.delete(s.room);
    this.streams.set(s.room, s);
    if (this.totalBytes > this.maxBytes) this.evict(s);
  }

  private release(s: Stream, bytes: number): void {
    s.bytes -= bytes;
    this.totalBytes -= bytes;
  }

  /** Drops a stream's events (not its position). */
  private clear(s: Stream): void {
    s.ring.fill(undefined);
    s.head = 0;
    s.count = 0;
    this.release(s, s.bytes - STREAM_OVERHEAD);
  }

  private drop(s: Stream): void {
    this.clear(s);
    this.streams.delete(s.room);
    this.totalBytes -= STREAM_OVERHEAD;
  }

  /** Frees the least recently published streams until under the cap; `keep` goes last. */
  private evict(keep: Stream): void {
    for (const s of this.streams.values()) {
      if (this.totalBytes <= this.maxBytes) return;
      if (s === keep) continue;
      if (s.open) this.clear(s);
      else this.drop(s);
    }
    // One stream alone over the cap: it loses its oldest events.
    while (this.totalBytes > this.maxBytes && keep.count > 1) this.shift(keep);
  }

  /** Drops a stream's oldest event. */
  private shift(s: Stream): void {
    const old = s.ring[s.head];
    if (old !== undefined) this.release(s, old.frame.length + ENTRY_OVERHEAD);
    s.ring[s.head] = undefined;
    s.head = (s.head + 1) % s.policy.size;
    s.count -= 1;
  }

  /** Expired events go, and streams nobody needs any more. */
  private sweep(): void {
    const now = this.now();
    for (const s of this.streams.values()) {
      if (s.policy.size === 0) continue;
      while (s.count > 0 && (s.ring[s.head]?.timeMs ?? 0) < now - s.policy.ttlMs) this.shift(s);
      if (!s.open && now - s.touchedMs > Math.max(this.streamTtlMs, s.policy.ttlMs)) this.drop(s);
    }
  }

  announce(notice: PresenceNotice): void {
    if (this.streams.get(notice.room)?.open === true) this.handlers?.presence(notice);
  }

  roomOpened(room: string): void {
    const s = this.streams.get(room) ?? this.create(room, this.rules.policy(room));
    s.open = true;
  }

  roomClosed(room: string): void {
    const s = this.streams.get(room);
    if (s === undefined) return;
    s.open = false;
    s.touchedMs = this.now();
    if (s.policy.size === 0) this.drop(s);
  }

  stream(room: string): StreamPosition {
    const s = this.streams.get(room) ?? this.create(room, this.rules.policy(room));
    return { epoch: s.epoch, seq: s.seq };
  }

  history(room: string, query: HistoryQuery): HistoryRead {
    const s = this.streams.get(room);
    if (s === undefined) {
      if (query.since !== undefined) return { epoch: '', seq: 0, events: [], complete: false, miss: 'epoch_changed' };
      return { epoch: '', seq: 0, events: [], complete: false };
    }
    // Events past their age are as gone as evicted ones.
    const cutoff = this.now() - s.policy.ttlMs;
    const live: Entry[] = [];
    for (let i = 0; i < s.count; i += 1) {
      const e = s.ring[(s.head + i) % s.policy.size];
      if (e !== undefined && e.timeMs >= cutoff) live.push(e);
    }
    const base = { epoch: s.epoch, seq: s.seq };
    const since = query.since;
    if (since === undefined) {
      const newest = live.slice(Math.max(0, live.length - query.limit));
      return { ...base, events: query.reverse ? newest.reverse() : newest, complete: false };
    }
    if (since.epoch !== s.epoch || since.seq > s.seq) return { ...base, events: [], complete: false, miss: 'epoch_changed' };
    const after = live.filter((e) => e.seq > since.seq);
    const first = after[0]?.seq ?? s.seq + 1;
    if (first !== since.seq + 1) return { ...base, events: after.slice(0, query.limit), complete: false, miss: 'too_old' };
    return { ...base, events: after, complete: true };
  }

  /** One process: every claim is its own. */
  claim(): boolean {
    return true;
  }

  async close(): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.handlers = undefined;
    this.streams.clear();
    this.totalBytes = 0;
  }
}

/** Creates the in-process broker. */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): Broker {
  return new MemoryBroker(options);
}
