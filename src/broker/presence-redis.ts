/**
 * Presence shared through Redis, so every process can answer for a room.
 *
 * Per room: a hash connId -> userId and a sorted set connId -> expiry time. Each process
 * refreshes the expiry of its own connections every third of the TTL, so the entries of a
 * process that dies vanish within the TTL; reads drop expired entries first (one Lua script,
 * atomic). Counting distinct users reads the room's hash: O(members), fine for the sizes a
 * presence query is for.
 */
import type { Logger } from '../log.js';
import type { PresenceCounts, PresenceMember, PresenceStore } from './presence.js';
import { type Commands, connectAccess, type RedisAccess } from './redis-access.js';

/** How to reach Redis, and how long an entry outlives its process. */
export interface RedisPresenceOptions {
  /** One Redis. */
  url?: string;
  /** Seed nodes of a Redis Cluster, used instead of `url`. */
  nodes?: string[];
  prefix: string;
  log: Logger;
  ttlMs?: number;
}

const READ_SCRIPT = `
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
-- In chunks: unpack() of a whole list hits Lua's stack limit near 8000 values.
for i = 1, #dead, 1000 do
  redis.call('HDEL', KEYS[1], unpack(dead, i, math.min(i + 999, #dead)))
end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1]) end
return redis.call('HGETALL', KEYS[1])
`;

type ScriptedRedis = Commands & { roomcastPresence(hash: string, expiries: string, now: number): Promise<string[]> };

class RedisPresence implements PresenceStore {
  private readonly local = new Map<string, Map<string, string>>();
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | undefined;
  private connection: ScriptedRedis | undefined;
  private access: RedisAccess | undefined;

  constructor(private readonly options: RedisPresenceOptions) {
    this.ttlMs = options.ttlMs ?? 30_000;
  }

  async start(): Promise<void> {
    const { url, nodes } = this.options;
    const target = nodes !== undefined ? { nodes } : { url: url ?? 'redis://127.0.0.1:6379' };
    this.access = await connectAccess(target, 'roomcast-presence', 5000);
    const redis = this.access.commands as ScriptedRedis;
    redis.defineCommand('roomcastPresence', { numberOfKeys: 2, lua: READ_SCRIPT });
    this.connection = redis;
    this.timer = setInterval(() => this.refresh(), Math.max(100, this.ttlMs / 3));
    this.timer.unref();
  }

  private get redis(): ScriptedRedis {
    if (this.connection === undefined) throw new Error('the Redis presence store is not started');
    return this.connection;
  }

  /** Both keys of a room share its hash tag, so a script or MULTI on them works on a cluster. */
  private keys(room: string): [string, string] {
    return [`${this.options.prefix}presence:{${room}}`, `${this.options.prefix}presence-exp:{${room}}`];
  }

  private warn(err: unknown, room: string): void {
    this.options.log.warn({ err, room }, 'presence update failed');
  }

  add(room: string, connId: string, userId: string): void {
    let conns = this.local.get(room);
    if (conns === undefined) {
      conns = new Map();
      this.local.set(room, conns);
    }
    conns.set(connId, userId);
    const [hash, exp] = this.keys(room);
    this.redis
      .multi()
      .hset(hash, connId, userId)
      .zadd(exp, Date.now() + this.ttlMs, connId)
      .pexpire(hash, this.ttlMs * 2)
      .pexpire(exp, this.ttlMs * 2)
      .exec()
      .catch((err: unknown) => this.warn(err, room));
  }

  remove(room: string, connId: string): void {
    const conns = this.local.get(room);
    conns?.delete(connId);
    if (conns?.size === 0) this.local.delete(room);
    const [hash, exp] = this.keys(room);
    this.redis
      .multi()
      .hdel(hash, connId)
      .zrem(exp, connId)
      .exec()
      .catch((err: unknown) => this.warn(err, room));
  }

  /**
   * Pushes the expiry of this process's entries forward (and restores any Redis lost). One
   * MULTI per room: a room's keys share a slot, different rooms' need not (cluster).
   */
  private refresh(): void {
    if (this.local.size === 0) return;
    const expires = Date.now() + this.ttlMs;
    let failed = 0;
    const all: Array<Promise<unknown>> = [];
    for (const [room, conns] of this.local) {
      const [hash, exp] = this.keys(room);
      const m = this.redis.multi();
      for (const [connId, userId] of conns) {
        m.hset(hash, connId, userId);
        m.zadd(exp, expires, connId);
      }
      m.pexpire(hash, this.ttlMs * 2).pexpire(exp, this.ttlMs * 2);
      all.push(
        m.exec().catch((err: unknown) => {
          failed += 1;
          if (failed === 1) this.options.log.warn({ err, room }, 'presence refresh failed');
        }),
      );
    }
    void Promise.all(all);
  }

  private async read(room: string): Promise<Map<string, string>> {
    const [hash, exp] = this.keys(room);
    const flat = await this.redis.roomcastPresence(hash, exp, Date.now());
    const out = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] as string, flat[i + 1] as string);
    return out;
  }

  async members(room: string): Promise<PresenceMember[]> {
    const byUser = new Map<string, string[]>();
    for (const [connId, userId] of await this.read(room)) {
      const list = byUser.get(userId);
      if (list === undefined) byUser.set(userId, [connId]);
      else list.push(connId);
    }
    return [...byUser].map(([userId, connIds]) => ({ userId, connIds }));
  }

  async counts(room: string): Promise<PresenceCounts> {
    const entries = await this.read(room);
    return { connections: entries.size, users: new Set(entries.values()).size };
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.connection === undefined) return;
    // This process's entries go now rather than at their expiry.
    const all: Array<Promise<unknown>> = [];
    if (this.connection.status === 'ready') {
      for (const [room, conns] of this.local) {
        const [hash, exp] = this.keys(room);
        const m = this.redis.multi();
        for (const connId of conns.keys()) m.hdel(hash, connId).zrem(exp, connId);
        all.push(m.exec().catch(() => undefined));
      }
    }
    this.local.clear();
    await Promise.all(all);
    await this.access?.close();
    this.access = undefined;
    this.connection = undefined;
  }
}

/** Creates the shared presence store (connects on start()). */
export function createRedisPresence(options: RedisPresenceOptions): PresenceStore {
  return new RedisPresence(options);
}
