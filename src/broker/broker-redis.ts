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
 *
 * This file wires the parts together: the scripts as commands (redis-commands.ts), the
 * subscriptions (redis-subscriptions.ts), the reads of positions and history (redis-reads.ts),
 * the admin channel between processes (redis-admin.ts).
 */
import type { Logger } from '../log.js';
import { encodeProto } from '../protocol/codec.js';
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
  type StreamPosition,
} from './broker.js';
import { DEFAULT_HISTORY, HistoryRules } from '../config/history-rules.js';
import { connectAccess, type RedisAccess, type RedisTarget } from './redis-access.js';
import { AdminChannel } from './redis-admin.js';
import { defineScripts, type ScriptedRedis } from './redis-commands.js';
import { EpochSource } from './epochs.js';
import { isConnectionError, OutageLog, RedisUnavailableError } from './redis-outage.js';
import { RoomReads } from './redis-reads.js';
import { DeliveryOrder, type RoomEvent } from './redis-repair.js';
import { parseEventMessage, roomKeys } from './redis-scripts.js';
import { RoomSubscriptions } from './redis-subscriptions.js';

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

const EVENT = 0x65; // 'e'
const PRESENCE = 0x70; // 'p'

class RedisBroker implements Broker {
  readonly kind: string;
  private access: RedisAccess | undefined;
  private commands: ScriptedRedis | undefined;
  private readonly target: RedisTarget;
  private handlers: BrokerHandlers | undefined;
  private readonly opts: Required<Omit<RedisBrokerOptions, 'history' | 'url' | 'nodes'>>;
  private readonly rules: HistoryRules;
  private readonly order: DeliveryOrder;
  private readonly subscriptions: RoomSubscriptions;
  private readonly reads: RoomReads;
  private readonly control: AdminChannel;
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
    this.rules = history ?? new HistoryRules(DEFAULT_HISTORY);
    this.roomOffset = Buffer.byteLength(this.opts.prefix) + 1;
    this.outage = new OutageLog(this.opts.log, this.opts.outageReportMs);
    const { prefix, log } = this.opts;
    const access = (): RedisAccess | undefined => this.access;
    const failure = (err: unknown, what: string): unknown => this.failure(err, what);
    this.order = new DeliveryOrder({
      deliver: (e) => {
        this.deliver(e);
      },
      reset: (room, position) => this.handlers?.reset(room, position),
      fetch: (room, epoch, from, to) => this.reads.fetch(room, epoch, from, to),
      position: (room, delivered) => this.reads.position(room, delivered),
      failed: (err, room, what) => {
        log.warn({ err, room }, `${what} failed`);
      },
    });
    this.subscriptions = new RoomSubscriptions({ prefix, access, order: this.order, failure, log });
    this.reads = new RoomReads({
      prefix,
      rules: this.rules,
      seqTtlSec: this.opts.seqTtlSec,
      now: this.opts.now,
      epochs: this.epochs,
      commands: () => this.ready(),
      failure,
      caughtUp: (room, position) => this.order.caughtUp(room, position),
    });
    this.control = new AdminChannel({ prefix, access, apply: (action) => this.handlers?.admin?.(action) ?? 0, failure, replyMs: this.opts.adminReplyMs, log });
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
        this.subscriptions.resubscribed();
      },
      ready: () => {
        this.outage.up();
      },
    });
    const commands = defineScripts(access.commands, access.cluster);
    this.access = access;
    this.commands = commands;
    // Admin actions of other processes (see admin()).
    await this.control.listen(access);
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
      if (this.control.carries(channel)) {
        this.control.receive(message.toString('utf8'));
        return;
      }
      const room = channel.toString('latin1', this.roomOffset, channel.length - 4);
      if (message[0] === EVENT) {
        this.order.event(parseEventMessage(room, message));
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

  roomOpened(room: string): void {
    this.order.open(room);
    void this.subscriptions.subscribe(room);
  }

  roomClosed(room: string): void {
    this.order.close(room);
    this.subscriptions.unsubscribe(room);
  }

  /**
   * The room's position, once this process's subscription to it is in place (so a publish sent
   * after the join reply cannot miss this process) and it has delivered the room up to that
   * position (so no event the reply's seq covers arrives after it).
   */
  async stream(room: string): Promise<StreamPosition> {
    this.ready();
    await this.subscriptions.settled(room);
    const position = await this.reads.position(room);
    this.order.baseline(room, position);
    // The reply's seq promises that later events come live: those up to it must be out first.
    await this.order.caughtUp(room, position);
    return position;
  }

  /** Stored events (see RoomReads.history). */
  history(room: string, query: HistoryQuery): Promise<HistoryRead> {
    return this.reads.history(room, query);
  }

  /** Carries an admin action to every other process (see AdminChannel.send). */
  admin(action: AdminAction): Promise<AdminResult> {
    return this.control.send(action);
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
    this.control.close();
    await this.access?.close();
    this.access = undefined;
    this.commands = undefined;
  }
}

/** Creates the Redis broker (connects on start()). */
export function createRedisBroker(options: RedisBrokerOptions): Broker & { readonly counters: RedisBrokerCounters } {
  return new RedisBroker(options);
}
