/**
 * The default broker: one process, no network. Each room has a stream: an epoch (random, so a
 * restarted process starts new ones), a sequence number, and a ring of its last events as
 * already-encoded frames (replayed as they are, never re-encoded), kept in an EventRing so that
 * storing an event allocates nothing.
 *
 * A stream lives while the room has members, and after that while its history policy keeps it:
 * its events for `ttlMs`, the stream itself (epoch and seq, a few dozen bytes) for a day, so a
 * client that comes back after its events expired hears "too old" rather than "epoch changed".
 * Rooms without history drop their stream with their last member, as before. Every stream and
 * ring counts against `maxBytes`; past it the least recently published streams lose their events
 * (and, without members, the stream), which readers then see as a miss, never as a silent gap.
 */
import { encodeEventProto } from '../protocol/events.js';
import type { Broker, BrokerHandlers, HistoryQuery, HistoryRead, PresenceNotice, Publication, SequencedPublication, StreamPosition } from './broker.js';
import { EpochSource } from './epochs.js';
import { EventRing } from './event-ring.js';
import { DEFAULT_HISTORY, type HistoryPolicy, HistoryRules } from '../config/history-rules.js';

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

/** What a stream costs besides its events (the record, the map entry, the epoch string). */
const STREAM_OVERHEAD = 160;

interface Stream {
  readonly room: string;
  readonly epoch: string;
  readonly policy: HistoryPolicy;
  seq: number;
  /** The last events (rooms with history only). */
  readonly ring: EventRing | undefined;
  /** Bytes of this stream (overhead + ring), as counted in the broker's total. */
  bytes: number;
  /** Local members. */
  open: boolean;
  /** Last publish, or when the last member left. */
  touchedMs: number;
}

class MemoryBroker implements Broker {
  readonly kind = 'memory';
  private handlers: BrokerHandlers | undefined;
  private readonly streams = new Map<string, Stream>();
  private readonly epochs = new EpochSource();
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

  start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
    if (this.rules.any) {
      this.sweeper = setInterval(() => this.sweep(), 1000);
      this.sweeper.unref();
    }
    return Promise.resolve();
  }

  private create(room: string, policy: HistoryPolicy): Stream {
    const ring = policy.size > 0 ? new EventRing(policy.size) : undefined;
    const s: Stream = { room, epoch: this.epochs.next(), policy, seq: 0, ring, bytes: STREAM_OVERHEAD, open: false, touchedMs: this.now() };
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
    const ring = s.ring;
    if (ring !== undefined) {
      // Encoded once, into the encoder's reused buffer; the ring copies it, the fan-out sends it.
      const frame = encodeEventProto(sequenced);
      sequenced.frame = frame;
      // The publication's own receive time: no clock read here (Date.now costs ~0.1 µs on a VM).
      const timeMs = p.timeUs / 1000;
      ring.push(seq, frame, p.connId, p.excludeSelf, timeMs);
      s.touchedMs = timeMs;
      this.account(s);
    } else {
      sequenced.frame = undefined;
    }
    if (s.open) handlers.deliver(sequenced);
    return seq;
  }

  /** Brings the total up to date with `s`'s ring; frees space when over the cap. */
  private account(s: Stream): void {
    const bytes = STREAM_OVERHEAD + (s.ring?.bytes ?? 0);
    if (bytes === s.bytes) return;
    this.totalBytes += bytes - s.bytes;
    s.bytes = bytes;
    if (this.totalBytes > this.maxBytes) this.evict(s);
  }

  /** Drops a stream's events (not its position). */
  private clear(s: Stream): void {
    s.ring?.clear();
    this.account(s);
  }

  private drop(s: Stream): void {
    s.ring?.clear();
    this.streams.delete(s.room);
    this.totalBytes -= s.bytes;
  }

  /**
   * Frees the least recently published streams until a tenth under the cap (so this runs
   * rarely); `keep` (being published to) goes last and loses only its oldest events.
   */
  private evict(keep: Stream): void {
    const target = this.maxBytes * 0.9;
    // Candidates: streams with events to give up, and closed streams that can go entirely.
    const oldest = [...this.streams.values()].filter((s) => s !== keep && (s.bytes > STREAM_OVERHEAD || !s.open)).sort((a, b) => a.touchedMs - b.touchedMs);
    for (const s of oldest) {
      if (this.totalBytes <= target) return;
      if (s.open) this.clear(s);
      else this.drop(s);
    }
    // A cap smaller than this one room's history: it keeps nothing.
    if (this.totalBytes > this.maxBytes) this.clear(keep);
  }

  /** Expired events go, and streams nobody needs any more. */
  private sweep(): void {
    const now = this.now();
    for (const s of this.streams.values()) {
      const ring = s.ring;
      if (ring === undefined) continue;
      while (ring.count > 0 && ring.oldestTimeMs() < now - s.policy.ttlMs) ring.shift();
      if (ring.count === 0 && s.bytes > STREAM_OVERHEAD) this.clear(s);
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
    const live = s.ring?.read(this.now() - s.policy.ttlMs) ?? [];
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

  close(): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.handlers = undefined;
    this.streams.clear();
    this.totalBytes = 0;
    return Promise.resolve();
  }
}

/** Creates the in-process broker. */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): Broker {
  return new MemoryBroker(options);
}
