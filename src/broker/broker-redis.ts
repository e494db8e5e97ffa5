/**
 * The Redis broker: several server processes share rooms through Redis pub/sub.
 *
 * Each room is a Redis channel. A process subscribes to a room's channel only while it has
 * local members (roomOpened/roomClosed). A publish runs one Lua script that, atomically, checks
 * that some process listens, increments the room's sequence key and publishes the event with
 * its number, so every process sees the same numbers in the same order. The publishing process
 * gets its own message back and fans it out like the others; only it knows the sender socket,
 * so exclude-self works unchanged.
 *
 * Wire format on a channel (binary-safe):
 *   e<seq>:<x><connId>:<Event protobuf without seq>   x = '1' to leave the sender out
 *   p<JSON PresenceNotice>
 * The event is encoded once, by the publishing process; the others frame its bytes for their
 * protobuf members without decoding them (and decode only for JSON members).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { encodeProto } from '../protocol/codec.js';
import type { Broker, BrokerHandlers, HistoryRead, PresenceNotice, Publication, StreamPosition } from './broker.js';
import { closeRedis, connectRedis } from './redis-connection.js';

/** How to reach Redis. */
export interface RedisBrokerOptions {
  url: string;
  /** Prefix of every key and channel, so several deployments can share one Redis. */
  prefix: string;
  log: Logger;
  /** A room's sequence key lives this long after its last publish (seconds). */
  seqTtlSec?: number;
  /** How long start() waits for Redis before failing. */
  connectTimeoutMs?: number;
}

const PUBLISH_SCRIPT = `
local listeners = redis.call('PUBSUB', 'NUMSUB', KEYS[2])[2]
if listeners == 0 then return 0 end
local seq = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], 'e' .. seq .. ':' .. ARGV[1])
return seq
`;

const COLON = 0x3a;
const EVENT = 0x65; // 'e'
const PRESENCE = 0x70; // 'p'

type ScriptedRedis = Redis & { roomcastPublish(seqKey: string, channel: string, body: Buffer, ttl: number): Promise<number> };

class RedisBroker implements Broker {
  readonly kind = 'redis';
  private commands: ScriptedRedis | undefined;
  private subscriber: Redis | undefined;
  private handlers: BrokerHandlers | undefined;
  private readonly opts: Required<RedisBrokerOptions>;
  /** Pending or done SUBSCRIBEs of open rooms: a join waits for its room's before answering. */
  private readonly subscriptions = new Map<string, Promise<unknown>>();
  /** Rooms with local members. */
  private readonly open = new Set<string>();

  /** Length of the channel name before the room name. */
  private readonly roomPrefixLength: number;

  constructor(options: RedisBrokerOptions) {
    this.opts = { seqTtlSec: 24 * 3600, connectTimeoutMs: 5000, ...options };
    this.roomPrefixLength = Buffer.byteLength(this.channel(''));
  }

  private channel(room: string): string {
    return `${this.opts.prefix}room:${room}`;
  }

  private seqKey(room: string): string {
    return `${this.opts.prefix}seq:${room}`;
  }

  async start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
    const { url, connectTimeoutMs } = this.opts;
    // Commands fail at once while Redis is away (the client gets ERROR_CODE_INTERNAL) instead of
    // queueing without bound; the subscriber queues its (re)subscriptions until it is back.
    const commands = (await connectRedis(url, 'roomcast-commands', connectTimeoutMs, { offlineQueue: false })) as ScriptedRedis;
    commands.defineCommand('roomcastPublish', { numberOfKeys: 2, lua: PUBLISH_SCRIPT });
    this.commands = commands;
    this.subscriber = await connectRedis(url, 'roomcast-subscriber', connectTimeoutMs, { offlineQueue: true });
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel, message));
  }

  private onMessage(channel: Buffer, message: Buffer): void {
    const handlers = this.handlers;
    if (handlers === undefined) return;
    try {
      if (message[0] === EVENT) {
        // e<seq>:<x><connId>:<Event without seq>
        const colon = message.indexOf(COLON);
        const second = message.indexOf(COLON, colon + 2);
        handlers.deliver({
          room: channel.toString('latin1', this.roomPrefixLength),
          seq: Number(message.toString('latin1', 1, colon)),
          excludeSelf: message[colon + 1] === 0x31,
          connId: message.toString('latin1', colon + 2, second),
          encoded: message.subarray(second + 1),
          timeUs: 0,
          userId: '',
        });
      } else if (message[0] === PRESENCE) {
        handlers.presence(JSON.parse(message.toString('utf8', 1)) as PresenceNotice);
      }
    } catch (err) {
      this.opts.log.error({ err }, 'unreadable message from Redis');
    }
  }

  /** Encodes the event once here; every process forwards these bytes without decoding them. */
  async publish(p: Publication): Promise<number> {
    const commands = this.commands;
    if (commands === undefined) throw new Error('the Redis broker is not started');
    const event = encodeProto('Event', { room: p.room, timeUs: p.timeUs, text: p.text, data: p.data, connId: p.connId, userId: p.userId, source: p.source });
    const body = Buffer.concat([Buffer.from(`${p.excludeSelf ? '1' : '0'}${p.connId}:`, 'latin1'), event]);
    return Number(await commands.roomcastPublish(this.seqKey(p.room), this.channel(p.room), body, this.opts.seqTtlSec));
  }

  announce(notice: PresenceNotice): void {
    this.commands?.publish(this.channel(notice.room), `p${JSON.stringify(notice)}`).catch((err: unknown) => {
      this.opts.log.warn({ err, room: notice.room }, 'presence notice not sent');
    });
  }

  /** Subscribes to a room's channel; a failed SUBSCRIBE is forgotten, so the next join retries it. */
  private subscribe(room: string): Promise<unknown> | undefined {
    const subscriber = this.subscriber;
    if (subscriber === undefined) return undefined;
    const done = subscriber.subscribe(this.channel(room));
    done.catch((err: unknown) => {
      this.opts.log.error({ err, room }, 'subscribe failed');
      if (this.subscriptions.get(room) === done) this.subscriptions.delete(room);
    });
    this.subscriptions.set(room, done);
    return done;
  }

  roomOpened(room: string): void {
    this.open.add(room);
    this.subscribe(room);
  }

  roomClosed(room: string): void {
    this.open.delete(room);
    this.subscriptions.delete(room);
    this.subscriber?.unsubscribe(this.channel(room)).catch((err: unknown) => this.opts.log.warn({ err, room }, 'unsubscribe failed'));
  }

  /**
   * The room's last sequence number, once this process's subscription to it is in place: the
   * join reply comes after it, so a publish sent after the reply cannot miss this process.
   */
  async stream(room: string): Promise<StreamPosition> {
    const commands = this.commands;
    if (commands === undefined) throw new Error('the Redis broker is not started');
    await (this.subscriptions.get(room) ?? (this.open.has(room) ? this.subscribe(room) : undefined));
    // TODO(issue 9): epochs and history in Redis; until then one unnamed epoch.
    return { epoch: '', seq: Number((await commands.get(this.seqKey(room))) ?? 0) };
  }

  async history(room: string): Promise<HistoryRead> {
    const { seq, epoch } = await this.stream(room);
    return { epoch, seq, events: [], complete: false, miss: 'too_old' };
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const commands = this.commands;
    if (commands === undefined) throw new Error('the Redis broker is not started');
    return (await commands.set(`${this.opts.prefix}claim:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async close(): Promise<void> {
    this.handlers = undefined;
    this.subscriptions.clear();
    this.open.clear();
    await Promise.all([closeRedis(this.subscriber), closeRedis(this.commands)]);
    this.subscriber = undefined;
    this.commands = undefined;
  }
}

/** Creates the Redis broker (connects on start()). */
export function createRedisBroker(options: RedisBrokerOptions): Broker {
  return new RedisBroker(options);
}
