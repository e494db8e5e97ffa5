/**
 * How the Redis broker and presence store reach Redis: one server (`broker=redis`) or a Redis
 * Cluster (`broker=redis-cluster`). Both give the same small surface, so the broker logic
 * (broker-redis.ts) and presence (presence-redis.ts) are written once:
 *
 * - `commands`: the client that runs scripts and commands. A Cluster routes each by its key's
 *   hash slot; every key of a room shares the `{<room>}` hash tag, so a room's script runs on
 *   the master that owns the room.
 * - pub/sub: on one server plain SUBSCRIBE/PUBLISH on a second connection; on a cluster sharded
 *   pub/sub (SSUBSCRIBE/SPUBLISH, Redis 7): a channel lives on the shard that owns its slot, a
 *   message is not broadcast over the cluster bus, and ioredis keeps one subscriber connection
 *   per master (its `shardedSubscribers` mode), re-subscribing after slot moves and failovers.
 *
 * Start-up checks give clear errors: a seed list that is not a cluster, a Redis older than 7 on a
 * cluster (no sharded pub/sub), a node that refuses the credentials.
 */
import { Cluster, Redis } from 'ioredis';
import { closeRedis, connectRedis, redactUrl } from './redis-connection.js';

/** Where Redis is: one server by URL, or the seed nodes of a cluster. */
export type RedisTarget = { url: string } | { nodes: string[] };

/** The commands the broker and presence store run (both clients have them). */
export type Commands = Redis | Cluster;

/** What the Redis code needs from its connection(s). */
export interface RedisAccess {
  /** A Redis Cluster: the scripts use SPUBLISH and PUBSUB SHARDNUMSUB (see redis-scripts.ts). */
  readonly cluster: boolean;
  readonly commands: Commands;
  /** Publishes; resolves with the number of subscribers that got it (on a cluster: of the channel's shard). */
  publish(channel: string, message: string | Buffer): Promise<number>;
  /** Subscribes (all channels of one call must share a slot on a cluster). */
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  /** Whether subscriptions can be made now (false while the subscriber reconnects). */
  readonly subscriberReady: boolean;
  /** Status of the command connection ('ready' when up). */
  readonly status: string;
  close(): Promise<void>;
}

/** What to do on messages and reconnects. */
export interface AccessEvents {
  message(channel: Buffer, message: Buffer): void;
  /** The subscriptions were lost and have been (or are being) made again. */
  resubscribed(): void;
  /** Commands work again. */
  ready(): void;
}

interface Host {
  host: string;
  port: number;
}

/** Parses `host:port` or `redis://[user:pass@]host:port` seed entries. */
export function parseNodes(nodes: string[]): { hosts: Host[]; username?: string; password?: string } {
  const hosts: Host[] = [];
  let username: string | undefined;
  let password: string | undefined;
  for (const raw of nodes) {
    const entry = raw.trim();
    if (entry === '') continue;
    // Only URL entries can carry a password to hide.
    const shown = entry.includes('://') ? redactUrl(entry) : entry;
    let url: URL;
    try {
      url = new URL(entry.includes('://') ? entry : `redis://${entry}`);
    } catch {
      throw new Error(`bad Redis node "${shown}": expected host:port`);
    }
    const port = url.port === '' ? 6379 : Number(url.port);
    if (url.hostname === '' || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad Redis node "${shown}": expected host:port`);
    hosts.push({ host: url.hostname.replace(/^\[|\]$/g, ''), port });
    if (url.password !== '' && password === undefined) {
      password = decodeURIComponent(url.password);
      if (url.username !== '') username = decodeURIComponent(url.username);
    }
  }
  if (hosts.length === 0) throw new Error('redisNodes is empty: give the cluster seed nodes as host:port,host:port,...');
  return { hosts, ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) };
}

/** What a refused AUTH looks like from ioredis. */
function authMessage(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : String(err);
  return /NOAUTH|WRONGPASS|invalid password|invalid username-password|AUTH/i.test(message) ? message : undefined;
}

/** Checks one seed node directly: reachable, credentials, cluster mode, version >= 7. */
async function checkSeed(host: string, port: number, username: string | undefined, password: string | undefined, timeoutMs: number): Promise<void> {
  const where = `${host}:${String(port)}`;
  const probe = new Redis({
    host,
    port,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    connectionName: 'roomcast-probe',
  });
  let lastError: unknown;
  probe.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    try {
      await probe.connect();
    } catch (err) {
      // A refused AUTH reaches the error event; connect() only sees the connection close.
      const auth = authMessage(err) ?? (lastError === undefined ? undefined : authMessage(lastError));
      if (auth !== undefined) throw new Error(`Redis node ${where} refused authentication: ${auth}`);
      throw new Error(`cannot connect to Redis node ${where}: ${(err as Error).message}`);
    }
    let info: string;
    try {
      info = await probe.info('server');
    } catch (err) {
      const auth = authMessage(err);
      if (auth !== undefined) throw new Error(`Redis node ${where} refused authentication: ${auth}`);
      throw err;
    }
    const version = /redis_version:(\d+)/.exec(info)?.[1];
    if (version !== undefined && Number(version) < 7) {
      throw new Error(
        `Redis node ${where} runs Redis ${/redis_version:([^\r\n]+)/.exec(info)?.[1] ?? version}: broker=redis-cluster needs Redis 7 or newer (sharded pub/sub)`,
      );
    }
    if (!info.includes('redis_mode:cluster')) {
      throw new Error(`Redis node ${where} is not part of a Redis Cluster (redis_mode is not cluster): use broker=redis with redisUrl for a single Redis`);
    }
    const state = /cluster_state:(\w+)/.exec(await probe.cluster('INFO'))?.[1];
    if (state !== 'ok') throw new Error(`the Redis Cluster at ${where} is not usable (cluster_state:${state ?? '?'})`);
  } finally {
    probe.disconnect();
  }
}

class SingleAccess implements RedisAccess {
  readonly cluster = false;
  constructor(
    readonly commands: Redis,
    private readonly subscriber: Redis | undefined,
  ) {}

  publish(channel: string, message: string | Buffer): Promise<number> {
    return this.commands.publish(channel, message);
  }
  subscribe(...channels: string[]): Promise<unknown> {
    if (this.subscriber === undefined) throw new Error('this Redis connection has no subscriber');
    return this.subscriber.subscribe(...channels);
  }
  unsubscribe(...channels: string[]): Promise<unknown> {
    if (this.subscriber === undefined) throw new Error('this Redis connection has no subscriber');
    return this.subscriber.unsubscribe(...channels);
  }
  get subscriberReady(): boolean {
    return this.subscriber?.status === 'ready';
  }
  get status(): string {
    return this.commands.status;
  }
  async close(): Promise<void> {
    await Promise.all([closeRedis(this.subscriber), closeRedis(this.commands)]);
  }
}

class ClusterAccess implements RedisAccess {
  readonly cluster = true;
  constructor(readonly commands: Cluster) {}

  publish(channel: string, message: string | Buffer): Promise<number> {
    return this.commands.spublish(channel, message) as Promise<number>;
  }
  subscribe(...channels: string[]): Promise<unknown> {
    return this.commands.ssubscribe(...channels);
  }
  unsubscribe(...channels: string[]): Promise<unknown> {
    return this.commands.sunsubscribe(...channels);
  }
  get subscriberReady(): boolean {
    return this.commands.status === 'ready';
  }
  get status(): string {
    return this.commands.status;
  }
  async close(): Promise<void> {
    const c = this.commands;
    if (c.status === 'ready') {
      const quit = c.quit().catch(() => undefined);
      await Promise.race([quit, new Promise<void>((resolve) => setTimeout(resolve, 1000).unref())]);
    }
    c.disconnect();
  }
}

/**
 * Connects. With `events`, also subscribes for messages (the broker); without, commands only
 * (presence).
 */
export async function connectAccess(target: RedisTarget, name: string, timeoutMs: number, events?: AccessEvents): Promise<RedisAccess> {
  if ('url' in target) {
    const commands = await connectRedis(target.url, `${name}-commands`, timeoutMs, { offlineQueue: false });
    if (events === undefined) return new SingleAccess(commands, undefined);
    commands.on('ready', () => events.ready());
    let subscriber: Redis;
    try {
      subscriber = await connectRedis(target.url, `${name}-subscriber`, timeoutMs, { offlineQueue: true });
    } catch (err) {
      commands.disconnect();
      throw err;
    }
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => events.message(channel, message));
    subscriber.on('ready', () => events.resubscribed());
    return new SingleAccess(commands, subscriber);
  }
  const { hosts, username, password } = parseNodes(target.nodes);
  // The first seed that answers is checked; the others may be down.
  let firstError: unknown;
  let checked = false;
  for (const h of hosts) {
    try {
      await checkSeed(h.host, h.port, username, password, timeoutMs);
      checked = true;
      break;
    } catch (err) {
      const message = (err as Error).message;
      // A definite answer (not a cluster, too old, refused credentials) stops at once.
      if (!message.startsWith('cannot connect')) throw err;
      firstError ??= err;
    }
  }
  if (!checked)
    throw new Error(`no Redis Cluster seed node answers (${hosts.map((h) => `${h.host}:${String(h.port)}`).join(',')}): ${(firstError as Error).message}`);
  const cluster = new Cluster(hosts, {
    lazyConnect: true,
    shardedSubscribers: events !== undefined,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    maxRedirections: 16,
    slotsRefreshTimeout: Math.min(timeoutMs, 2000),
    // Failovers show up as closed connections and MOVED replies; the slot map is refreshed then
    // and at least every 5 s.
    slotsRefreshInterval: 5000,
    clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
    redisOptions: {
      connectionName: name,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
    },
  });
  cluster.on('error', () => {
    // Reported through failed commands (see the broker's outage log).
  });
  cluster.on('node error', () => undefined);
  if (events !== undefined) {
    cluster.on('smessageBuffer', (channel: Buffer, message: Buffer) => events.message(channel, message));
    cluster.on('subscribersReady', () => events.resubscribed());
    cluster.on('ready', () => events.ready());
  }
  const timer = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`the Redis Cluster did not become ready within ${String(timeoutMs)} ms`)), timeoutMs).unref(),
  );
  try {
    await Promise.race([cluster.connect(), timer]);
  } catch (err) {
    cluster.disconnect();
    throw new Error(`cannot connect to the Redis Cluster (${hosts.map((h) => `${h.host}:${String(h.port)}`).join(',')}): ${(err as Error).message}`);
  }
  return new ClusterAccess(cluster);
}
