/**
 * What the Redis broker reads from a room's keys: its position (epoch, seq), the events a gap
 * repair needs, and stored events for history and recovery, trimmed to the room's TTL.
 */
import { spliceEventFrame } from '../protocol/events.js';
import type { HistoryQuery, HistoryRead, StoredEvent, StreamPosition } from './broker.js';
import type { HistoryRules } from '../config/history-rules.js';
import type { Reply, ScriptedRedis } from './redis-commands.js';
import type { EpochSource } from './epochs.js';
import type { RoomEvent } from './redis-repair.js';
import { parseEntries, type RawEntries, roomKeys, type StreamEntry } from './redis-scripts.js';

/** What the reads need from the broker. */
export interface ReadDeps {
  /** Prefix of every key. */
  prefix: string;
  /** Which rooms keep how much history. */
  rules: HistoryRules;
  /** Lifetime of a room's seq and epoch keys (seconds), renewed by a position read. */
  seqTtlSec: number;
  /** The clock (ms) that judges the age of stored events. */
  now: () => number;
  /** The epoch a position read starts a room with when it has none. */
  epochs: EpochSource;
  /** The scripted client; throws when the broker is not started. */
  commands: () => ScriptedRedis;
  /** What a failed command becomes (an outage is logged there). */
  failure: (err: unknown, what: string) => unknown;
  /** Resolves once this process has delivered the room up to `position`. */
  caughtUp: (room: string, position: StreamPosition) => Promise<void>;
}

/** Reads of rooms' positions and streams. */
export class RoomReads {
  constructor(private readonly deps: ReadDeps) {}

  /** The room's position from Redis, created (new epoch, seq 0) when it has none (see STREAM_SCRIPT). */
  async position(room: string, delivered?: StreamPosition): Promise<StreamPosition> {
    const commands = this.deps.commands();
    const keys = roomKeys(this.deps.prefix, room);
    let reply: [string, string];
    try {
      const args = delivered === undefined ? [] : [delivered.epoch, delivered.seq];
      reply = await commands.roomcastStream(keys.seq, keys.epoch, keys.stream, keys.node, this.deps.epochs.next(), this.deps.seqTtlSec, ...args);
    } catch (err) {
      throw this.deps.failure(err, 'stream');
    }
    return { epoch: reply[0], seq: Number(reply[1]) };
  }

  /** Reads the room's position and a range of its stream. */
  private async read(
    room: string,
    dir: 'fwd' | 'rev',
    first: string,
    last: string,
    count: number,
    expect: string,
  ): Promise<{ epoch: string; seq: number; entries: StreamEntry[] | undefined }> {
    const commands = this.deps.commands();
    const keys = roomKeys(this.deps.prefix, room);
    let reply: [Reply, Reply, RawEntries | null];
    try {
      reply = await commands.roomcastReadBuffer(keys.seq, keys.epoch, keys.stream, dir, first, last, count, expect);
    } catch (err) {
      throw this.deps.failure(err, 'history');
    }
    const [epoch, seq, raw] = reply;
    return { epoch: epoch?.toString('latin1') ?? '', seq: Number(seq?.toString('latin1') ?? 0), entries: raw === null ? undefined : parseEntries(raw) };
  }

  /** The missing events `from..to` of `epoch`, for a gap repair. */
  async fetch(room: string, epoch: string, from: number, to: number): Promise<RoomEvent[]> {
    if (this.deps.rules.policy(room).size === 0) return [];
    const { entries } = await this.read(room, 'fwd', `${String(from)}-0`, `${String(to)}-0`, 0, epoch);
    return (entries ?? []).map((e) => ({ room, epoch, seq: e.seq, excludeSelf: e.excludeSelf, connId: e.connId, encoded: e.event }));
  }

  /** Drops the entries older than the room's TTL (and any before them: publish clocks differ). */
  private fresh(room: string, entries: StreamEntry[]): StreamEntry[] {
    const cutoff = this.deps.now() - this.deps.rules.policy(room).ttlMs;
    let start = 0;
    for (let i = 0; i < entries.length; i += 1) if ((entries[i]?.timeMs ?? 0) < cutoff) start = i + 1;
    return start === 0 ? entries : entries.slice(start);
  }

  /**
   * Stored events. For a room with local members it resolves once this process has delivered
   * the room up to the position it returns, so the caller can replay and then go live with no
   * duplicate (the read can be ahead of the subscriber connection).
   */
  async history(room: string, query: HistoryQuery): Promise<HistoryRead> {
    const since = query.since;
    if (since === undefined) {
      const limit = Math.max(0, Math.floor(query.limit));
      const { epoch, seq, entries } = await this.read(room, 'rev', '-', '+', Math.max(1, limit), '');
      await this.deps.caughtUp(room, { epoch, seq });
      // At most `limit` newest, read newest first; oldest first from here on.
      const newest = limit === 0 ? [] : this.fresh(room, (entries ?? []).reverse());
      const events = newest.map(stored);
      return { epoch, seq, events: query.reverse ? events.reverse() : events, complete: false };
    }
    const { epoch, seq, entries } = await this.read(room, 'fwd', `${String(since.seq + 1)}-0`, '+', 0, since.epoch);
    // A replay of these events must not be followed by their live delivery here.
    await this.deps.caughtUp(room, { epoch, seq });
    if (epoch === '') return { epoch, seq, events: [], complete: false, miss: 'epoch_changed' };
    if (entries === undefined || since.seq > seq) return { epoch, seq, events: [], complete: false, miss: 'epoch_changed' };
    const after = this.fresh(room, entries);
    const first = after[0]?.seq ?? seq + 1;
    if (first !== since.seq + 1) return { epoch, seq, events: after.slice(0, Math.max(0, query.limit)).map(stored), complete: false, miss: 'too_old' };
    return { epoch, seq, events: after.map(stored), complete: true };
  }
}

/** A stream entry as the broker interface hands it out: the complete frame, copied. */
function stored(e: StreamEntry): StoredEvent {
  return { seq: e.seq, frame: new Uint8Array(spliceEventFrame(e.event, e.seq)), connId: e.connId, excludeSelf: e.excludeSelf };
}
