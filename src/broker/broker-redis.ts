/**
 * The Redis broker: several server processes share rooms through Redis.
 *
 * A process subscribes to a room's channel only while it has local members
 * (roomOpened/roomClosed). A publish runs one Lua script (see redis-scripts.ts) that,
 * atomically, gives the event the room's next seq (starting a new epoch when the room's keys are
 * missing), appends it to the room's stream (its history) and publishes it with its epoch and
 * seq, so every process sees the same numbers in the same order. The publishing process gets its
 * own message back and fans it out like the others; only it knows the sender socket, so
 * exclude-self works unchanged.
 *
 * The event is encoded once, by the publishing process; the others frame its bytes for their
 * protobuf members without decoding them (and decode only for JSON members). Pub/sub may lose
 * messages (a subscriber reconnecting, Redis restarting): each process repairs what it missed
 * from the stream, or tells its members that it cannot (redis-repair.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import { encodeProto } from '../protocol/codec.js';
import { spliceEventFrame } from '../protocol/events.js';
import {
  type AdminAction,
  type AdminResult,
  alreadyReported,
  type Broker,
  type BrokerCounters,
  type BrokerHandlers,
  type HistoryQuery,
  type HistoryRead,
  type PresenceNotice,
  type Publication,
  type StoredEvent,
  type StreamPosition,
} from './broker.js';
import { DEFAULT_HISTORY, HistoryRules } from '../config/history-rules.js';
import { type Commands, connectAccess, type RedisAccess, type RedisTarget } from './redis-access.js';
import { isConnectionError, OutageLog, RedisUnavailableError } from './redis-outage.js';
import { DeliveryOrder, type RoomEvent } from './redis-repair.js';
import { controlChannel, parseEntries, publishScript, READ_SCRIPT, type RawEntries, roomKeys, streamScript, type StreamEntry } from './redis-scripts.js';

/** How to reach Redis. */
export interface RedisBrokerOptions {
  /** One Redis (broker=redis). */
  url?: string;
  /** Seed nodes of a Redis Cluster (broker=redis-cluster), `host:port`; used instead of `url`. */
  nodes?: string[];
  /** Prefix of every key and channel, so several deployments can share one Redis. */
  prefix: string;
  log: Logger;
  /** Which rooms keep history (default: every room, 100 events, 5 minutes). */
  history?: HistoryRules;
  /** A room's seq and epoch keys live this long after its last publish or join (seconds). */
  seqTtlSec?: number;
  /** How long start() waits for Redis before failing. */
  connectTimeoutMs?: number;
  /** How often an outage logs how many operations failed (ms). */
  outageReportMs?: number;
  /** The clock (ms) that judges the age of stored events, for tests. */
  now?: () => number;
  /** How long an admin action waits for the other processes' answers (ms). */
  adminReplyMs?: number;
}

/** Counters of the Redis broker, for /metrics. */
export type RedisBrokerCounters = BrokerCounters;

const COLON = 0x3a;
const EVENT = 0x65; // 'e'
const PRESENCE = 0x70; // 'p'

type Reply = Buffer | null;
type ScriptedRedis = Commands & ScriptedCommands;
interface ScriptedCommands {
  roomcastPublish(
    seq: string,
    epoch: string,
    stream: string,
    channel: string,
    node: string,
    header: string,
    event: Buffer,
    epochArg: string,
    size: number,
    ttlSec: number,
    seqTtlSec: number,
    timeMs: number,
  ): Promise<number>;
  roomcastStream(
    seq: string,
    epoch: string,
    stream: string,
    node: string,
    epochArg: string,
    seqTtlSec: number,
    ...delivered: Array<string | number>
  ): Promise<[string, string]>;
  roomcastReadBuffer(
    seq: string,
    epoch: string,
    stream: string,
    dir: 'fwd' | 'rev',
    first: string,
    last: string,
    count: number,
    expect: string,
  ): Promise<[Reply, Reply, RawEntries | null]>;
}

/**
 * Fresh epochs (16 hex characters) from a pool of random bytes: every publish passes one, in
 * case it has to start the room's stream, so they must be cheap.
 */
class EpochSource {
  private pool = Buffer.alloc(0);
  private at = 0;

  next(): string {
    if (this.at + 8 > this.pool.length) {
      this.pool = randomBytes(4096);
      this.at = 0;
    }
    const epoch = this.pool.toString('hex', this.at, this.at + 8);
    this.at += 8;
    return epoch;
  }
}

class RedisBroker implements Broker {
  readonly kind: string;
  private access: RedisAccess | undefined;
  private commands: ScriptedRedis | undefined;
  private readonly target: RedisTarget;
  /** The admin channel, and this process's name on it. */
  private readonly control: string;
  private readonly controlBytes: Buffer;
  private readonly processId = randomBytes(8).toString('hex');
  private readonly adminWaits = new Map<string, { sum: number; answered: number; expected: number; done: () => void }>();
  private adminSeq = 0;
  private handlers: BrokerHandlers | undefined;
  private readonly opts: Required<Omit<RedisBrokerOptions, 'history' | 'url' | 'nodes'>>;
  private readonly rules: HistoryRules;
  /** Pending or done SUBSCRIBEs of open rooms: a join waits for its room's before answering. */
  private readonly subscriptions = new Map<string, Promise<unknown>>();
  private readonly order: DeliveryOrder;
  private readonly outage: OutageLog;
  private readonly epochs = new EpochSource();
  private unavailable = 0;
  /** Length of a channel name before the room name. */
  private readonly roomOffset: number;

  constructor(options: RedisBrokerOptions) {
    const { history, url, nodes, ...rest } = options;
    this.opts = { seqTtlSec: 24 * 3600, connectTimeoutMs: 5000, outageReportMs: 10_000, now: Date.now, adminReplyMs: 500, ...rest };
    this.target = nodes !== undefined ? { nodes } : { url: url ?? 'redis://127.0.0.1:6379' };
    this.kind = nodes !== undefined ? 'redis-cluster' : 'redis';
    this.control = controlChannel(this.opts.prefix);
    this.controlBytes = Buffer.from(this.control);
    this.rules = history ?? new HistoryRules(DEFAULT_HISTORY);
    this.roomOffset = Buffer.byteLength(this.opts.prefix) + 1;
    this.outage = new OutageLog(this.opts.log, this.opts.outageReportMs);
    this.order = new DeliveryOrder({
      deliver: (e) => {
        this.deliver(e);
      },
      reset: (room, position) => this.handlers?.reset(room, position),
      fetch: (room, epoch, from, to) => this.fetch(room, epoch, from, to),
      position: (room, delivered) => this.position(room, delivered),
      failed: (err, room, what) => {
        this.opts.log.warn({ err, room }, `${what} failed`);
      },
    });
  }

  /** Counters for /metrics (a snapshot). */
  get counters(): RedisBrokerCounters {
    return { ...this.order.counters, unavailable: this.unavailable };
  }

  async start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
    const { connectTimeoutMs } = this.opts;
    // Commands fail at once while Redis is away (the client gets ERROR_CODE_INTERNAL) instead of
    // queueing without bound; the subscriber queues its (re)subscriptions until it is back.
    const access = await connectAccess(this.target, 'roomcast', connectTimeoutMs, {
      message: (channel, message) => {
        this.onMessage(channel, message);
      },
      resubscribed: () => {
        this.resubscribed();
      },
      ready: () => {
        this.outage.up();
      },
    });
    const commands = access.commands as ScriptedRedis;
    // Both get the room's node key; only the cluster variants use it.
    commands.defineCommand('roomcastPublish', { numberOfKeys: 5, lua: publishScript(access.cluster) });
    commands.defineCommand('roomcastStream', { numberOfKeys: 4, lua: streamScript(access.cluster) });
    commands.defineCommand('roomcastRead', { numberOfKeys: 3, lua: READ_SCRIPT });
    this.access = access;
    this.commands = commands;
    // Admin actions of other processes (see admin()).
    await access.subscribe(this.control).catch((err: unknown) => {
      this.opts.log.warn({ err }, 'cannot subscribe to the admin channel: admin actions of other processes will not reach this one');
    });
  }

  private ready(): ScriptedRedis {
    if (this.commands === undefined) throw new Error('the Redis broker is not started');
    return this.commands;
  }

  /** What a failed command becomes: an outage is logged here (once), anything else is rethrown. */
  private failure(err: unknown, what: string): unknown {
    if (!isConnectionError(err, this.access?.status ?? 'end')) return err;
    this.unavailable += 1;
    this.outage.fail(err, what);
    return new RedisUnavailableError(err);
  }

  private onMessage(channel: Buffer, message: Buffer): void {
    const handlers = this.handlers;
    if (handlers === undefined) return;
    try {
      if (channel.equals(this.controlBytes)) {
        this.onControl(message.toString('utf8'));
        return;
      }
      const room = channel.toString('latin1', this.roomOffset, channel.length - 4);
      if (message[0] === EVENT) {
        // e<epoch>:<seq>:<x><connId>:<Event without seq>
        const c1 = message.indexOf(COLON, 1);
        const c2 = message.indexOf(COLON, c1 + 1);
        const c3 = message.indexOf(COLON, c2 + 2);
        if (c1 < 0 || c2 < 0 || c3 < 0) throw new Error('malformed event message');
        this.order.event({
          room,
          epoch: message.toString('latin1', 1, c1),
          seq: Number(message.toString('latin1', c1 + 1, c2)),
          excludeSelf: message[c2 + 1] === 0x31,
          connId: message.toString('latin1', c2 + 2, c3),
          encoded: message.subarray(c3 + 1),
        });
      } else if (message[0] === PRESENCE) {
        handlers.presence(JSON.parse(message.toString('utf8', 1)) as PresenceNotice);
      }
    } catch (err) {
      this.opts.log.error({ err }, 'unreadable message from Redis');
    }
  }

  private deliver(e: RoomEvent): void {
    this.handlers?.deliver({ room: e.room, seq: e.seq, excludeSelf: e.excludeSelf, connId: e.connId, encoded: e.encoded, timeUs: 0, userId: '' });
  }

  /**
   * Encodes the event once here; every process forwards these bytes without decoding them.
   * Costs one EVALSHA; inside it GETEX, EXISTS, INCR, EXPIRE, PUBLISH, and for rooms with history
   * XADD and EXPIRE (PUBSUB NUMSUB instead, for rooms without).
   */
  async publish(p: Publication): Promise<number> {
    const commands = this.ready();
    const policy = this.rules.policy(p.room);
    const keys = roomKeys(this.opts.prefix, p.room);
    const encoded = encodeProto('Event', { room: p.room, timeUs: p.timeUs, text: p.text, data: p.data, connId: p.connId, userId: p.userId, source: p.source });
    const event = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    const header = `${p.excludeSelf ? '1' : '0'}${p.connId}:`;
    let seq: number;
    try {
      seq = await commands.roomcastPublish(
        keys.seq,
        keys.epoch,
        keys.stream,
        keys.channel,
        keys.node,
        header,
        event,
        this.epochs.next(),
        policy.size,
        Math.ceil(policy.ttlMs / 1000),
        this.opts.seqTtlSec,
        Math.floor(p.timeUs / 1000),
      );
    } catch (err) {
      throw this.failure(err, 'publish');
    }
    if (this.outage.down) this.outage.up();
    return seq;
  }

  announce(notice: PresenceNotice): void {
    this.access?.publish(roomKeys(this.opts.prefix, notice.room).channel, `p${JSON.stringify(notice)}`).catch((err: unknown) => {
      // During an outage this is one more failed operation, counted in the outage's report.
      if (!alreadyReported(this.failure(err, 'presence'))) this.opts.log.warn({ err, room: notice.room }, 'presence notice not sent');
    });
  }

  /** Subscribes to a room's channel; a failed SUBSCRIBE is forgotten, so the next join retries it. */
  private subscribe(room: string): Promise<unknown> | undefined {
    const access = this.access;
    if (access === undefined) return undefined;
    const done = access.subscribe(roomKeys(this.opts.prefix, room).channel);
    done.catch((err: unknown) => {
      const reported = !access.subscriberReady && alreadyReported(this.failure(err, 'subscribe'));
      if (!reported) this.opts.log.error({ err, room }, 'subscribe failed');
      if (this.subscriptions.get(room) === done) this.subscriptions.delete(room);
    });
    this.subscriptions.set(room, done);
    return done;
  }

  /**
   * The subscriber reconnected: messages published meanwhile were lost to this process. Once the
   * subscriptions are back in place, each room compares its position in Redis with the one it
   * delivered (and repairs, or resets).
   */
  private resubscribed(): void {
    const access = this.access;
    const rooms = [...this.order.names()];
    if (access === undefined || rooms.length === 0) return;
    if (access.cluster) {
      // ioredis re-subscribes every channel itself after a node change (one SSUBSCRIBE per slot,
      // sent without waiting): check once those have had time to land.
      setTimeout(() => {
        for (const room of rooms) if (this.order.has(room)) this.order.check(room);
      }, 250).unref();
      return;
    }
    access.subscribe(...rooms.map((room) => roomKeys(this.opts.prefix, room).channel)).then(
      () => {
        for (const room of rooms) this.order.check(room);
      },
      (err: unknown) => {
        this.opts.log.warn({ err }, 'resubscribe failed');
      },
    );
  }

  roomOpened(room: string): void {
    this.order.open(room);
    void this.subscribe(room);
  }

  roomClosed(room: string): void {
    this.order.close(room);
    this.subscriptions.delete(room);
    this.access?.unsubscribe(roomKeys(this.opts.prefix, room).channel).catch((err: unknown) => {
      this.opts.log.warn({ err, room }, 'unsubscribe failed');
    });
  }

  /** The room's position from Redis, created (new epoch, seq 0) when it has none (see STREAM_SCRIPT). */
  private async position(room: string, delivered?: StreamPosition): Promise<StreamPosition> {
    const commands = this.ready();
    const keys = roomKeys(this.opts.prefix, room);
    let reply: [string, string];
    try {
      const args = delivered === undefined ? [] : [delivered.epoch, delivered.seq];
      reply = await commands.roomcastStream(keys.seq, keys.epoch, keys.stream, keys.node, this.epochs.next(), this.opts.seqTtlSec, ...args);
    } catch (err) {
      throw this.failure(err, 'stream');
    }
    return { epoch: reply[0], seq: Number(reply[1]) };
  }

  /**
   * The room's position, once this process's subscription to it is in place (so a publish sent
   * after the join reply cannot miss this process) and it has delivered the room up to that
   * position (so no event the reply's seq covers arrives after it).
   */
  async stream(room: string): Promise<StreamPosition> {
    this.ready();
    await (this.subscriptions.get(room) ?? (this.order.has(room) ? this.subscribe(room) : undefined));
    const position = await this.position(room);
    this.order.baseline(room, position);
    // The reply's seq promises that later events come live: those up to it must be out first.
    await this.order.caughtUp(room, position);
    return position;
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
    const commands = this.ready();
    const keys = roomKeys(this.opts.prefix, room);
    let reply: [Reply, Reply, RawEntries | null];
    try {
      reply = await commands.roomcastReadBuffer(keys.seq, keys.epoch, keys.stream, dir, first, last, count, expect);
    } catch (err) {
      throw this.failure(err, 'history');
    }
    const [epoch, seq, raw] = reply;
    return { epoch: epoch?.toString('latin1') ?? '', seq: Number(seq?.toString('latin1') ?? 0), entries: raw === null ? undefined : parseEntries(raw) };
  }

  /** The missing events `from..to` of `epoch`, for a gap repair. */
  private async fetch(room: string, epoch: string, from: number, to: number): Promise<RoomEvent[]> {
    if (this.rules.policy(room).size === 0) return [];
    const { entries } = await this.read(room, 'fwd', `${String(from)}-0`, `${String(to)}-0`, 0, epoch);
    return (entries ?? []).map((e) => ({ room, epoch, seq: e.seq, excludeSelf: e.excludeSelf, connId: e.connId, encoded: e.event }));
  }

  /** Drops the entries older than the room's TTL (and any before them: publish clocks differ). */
  private fresh(room: string, entries: StreamEntry[]): StreamEntry[] {
    const cutoff = this.opts.now() - this.rules.policy(room).ttlMs;
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
      await this.order.caughtUp(room, { epoch, seq });
      // At most `limit` newest, read newest first; oldest first from here on.
      const newest = limit === 0 ? [] : this.fresh(room, (entries ?? []).reverse());
      const events = newest.map(stored);
      return { epoch, seq, events: query.reverse ? events.reverse() : events, complete: false };
    }
    const { epoch, seq, entries } = await this.read(room, 'fwd', `${String(since.seq + 1)}-0`, '+', 0, since.epoch);
    // A replay of these events must not be followed by their live delivery here.
    await this.order.caughtUp(room, { epoch, seq });
    if (epoch === '') return { epoch, seq, events: [], complete: false, miss: 'epoch_changed' };
    if (entries === undefined || since.seq > seq) return { epoch, seq, events: [], complete: false, miss: 'epoch_changed' };
    const after = this.fresh(room, entries);
    const first = after[0]?.seq ?? seq + 1;
    if (first !== since.seq + 1) return { epoch, seq, events: after.slice(0, Math.max(0, query.limit)).map(stored), complete: false, miss: 'too_old' };
    return { epoch, seq, events: after.map(stored), complete: true };
  }

  /**
   * Carries an admin action to every other process through the admin channel and sums the
   * connections they report. PUBLISH (SPUBLISH on the fixed admin shard of a cluster) answers
   * how many processes are subscribed, so the wait ends as soon as all of them have answered,
   * or after `adminReplyMs`: a process that answers later is not counted (its action still
   * happens).
   */
  async admin(action: AdminAction): Promise<AdminResult> {
    const access = this.access;
    if (access === undefined) throw new Error('the Redis broker is not started');
    this.adminSeq += 1;
    const id = `${this.processId}:${String(this.adminSeq)}`;
    let finish = (): void => undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const wait = { sum: 0, answered: 0, expected: Number.POSITIVE_INFINITY, done: finish };
    this.adminWaits.set(id, wait);
    const timer = setTimeout(finish, this.opts.adminReplyMs);
    try {
      let receivers: number;
      try {
        receivers = await access.publish(this.control, JSON.stringify({ t: 'a', id, from: this.processId, action }));
      } catch (err) {
        throw this.failure(err, 'admin');
      }
      wait.expected = Math.max(0, receivers - 1);
      if (wait.answered >= wait.expected) finish();
      await finished;
      return { connections: wait.sum, processes: wait.answered, expected: wait.expected };
    } finally {
      clearTimeout(timer);
      this.adminWaits.delete(id);
    }
  }

  /** A message on the admin channel: another process's action (apply, answer) or an answer. */
  private onControl(text: string): void {
    const m = JSON.parse(text) as { t: string; id: string; from?: string; to?: string; action?: AdminAction; n?: number };
    if (m.t === 'a') {
      if (m.from === this.processId || m.action === undefined || m.from === undefined) return;
      const n = this.handlers?.admin?.(m.action) ?? 0;
      this.access?.publish(this.control, JSON.stringify({ t: 'r', id: m.id, to: m.from, n })).catch((err: unknown) => {
        this.opts.log.warn({ err }, 'admin answer not sent');
      });
    } else if (m.t === 'r' && m.to === this.processId) {
      const wait = this.adminWaits.get(m.id);
      if (wait === undefined) return;
      wait.sum += typeof m.n === 'number' ? m.n : 0;
      wait.answered += 1;
      if (wait.answered >= wait.expected) wait.done();
    }
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const commands = this.ready();
    try {
      return (await commands.set(`${this.opts.prefix}claim:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
    } catch (err) {
      throw this.failure(err, 'claim');
    }
  }

  async close(): Promise<void> {
    this.handlers = undefined;
    this.outage.close();
    this.subscriptions.clear();
    this.order.clear();
    for (const w of this.adminWaits.values()) w.done();
    this.adminWaits.clear();
    await this.access?.close();
    this.access = undefined;
    this.commands = undefined;
  }
}

/** A stream entry as the broker interface hands it out: the complete frame, copied. */
function stored(e: StreamEntry): StoredEvent {
  return { seq: e.seq, frame: new Uint8Array(spliceEventFrame(e.event, e.seq)), connId: e.connId, excludeSelf: e.excludeSelf };
}

/** Creates the Redis broker (connects on start()). */
export function createRedisBroker(options: RedisBrokerOptions): Broker & { readonly counters: RedisBrokerCounters } {
  return new RedisBroker(options);
}
