/**
 * Every option of the server, declared once: key, kind, default, bounds and documentation. The
 * `Config` type, `DEFAULTS`, `OPTIONS`, the flag and environment names, validation, `--help` and
 * the README's table (a test checks it) all come from {@link TABLE}. A new option is one entry.
 */
import { DEFAULT_HISTORY } from './history-rules.js';
import type { Kind, KindParams, KindValues } from './kinds.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One row of the table, as written. */
interface OptionDef extends KindParams {
  kind: Kind;
  default: unknown;
  doc: string;
  /** A secret: never printed, never logged. */
  secret?: boolean;
}

/** Every option, in the order `--help` and the README list them. */
export const TABLE = {
  host: { kind: 'string', default: '127.0.0.1', doc: 'Address to listen on (0.0.0.0 for all interfaces).' },
  port: { kind: 'int', default: 9001, min: 0, max: 65535, doc: 'TCP port; 0 picks a free one.' },
  defaultEncoding: { kind: 'enum', default: 'proto', values: ['proto', 'json'], doc: 'Encoding for clients that ask for no subprotocol.' },
  maxPayloadBytes: { kind: 'int', default: 16 * 1024, min: 1, max: 16 * 1024 * 1024, doc: 'Largest publish/echo payload (text or data bytes).' },
  maxFrameBytes: { kind: 'int', default: 64 * 1024, min: 1024, max: 64 * 1024 * 1024, doc: 'Largest WebSocket message a client may send.' },
  idleTimeoutSec: {
    kind: 'int',
    default: 120,
    min: 0,
    max: 960,
    doc: 'Close connections silent this long (pings keep live ones open); 0 = never, else 8-960.',
  },
  maxBackpressure: {
    kind: 'int',
    default: 1024 * 1024,
    min: 1024,
    max: 1024 * 1024 * 1024,
    doc: 'Bytes queued for one connection before it is a slow consumer.',
  },
  slowConsumer: { kind: 'enum', default: 'close', values: ['close', 'drop'], doc: 'Slow consumers are closed (code 4000) or skipped until they catch up.' },
  slowConsumerCheckMs: {
    kind: 'int',
    default: 250,
    min: 50,
    max: 60_000,
    doc: 'How often to scan every send buffer for slow consumers (ones filling up are then re-checked every 10 ms).',
  },
  maxBadFrames: { kind: 'int', default: 10, min: 1, max: 1000, doc: 'Unreadable frames in a row before the connection is closed (4500).' },
  tickMs: { kind: 'int', default: 0, min: 0, max: 86_400_000, doc: 'Push the server time into every non-empty room this often; 0 = off.' },
  apiKey: { kind: 'string', default: '', secret: true, doc: 'Key the HTTP API requires (Authorization: Bearer <key>); empty = none.' },
  page: { kind: 'enum', default: 'auto', values: ['auto', 'on', 'off'], doc: 'Serve the built-in browser page at `/`; auto = on unless NODE_ENV=production.' },
  logLevel: { kind: 'enum', default: 'info', values: LOG_LEVELS, doc: 'Log level.' },
  logFormat: { kind: 'enum', default: 'auto', values: ['auto', 'json', 'pretty'], doc: 'Log format; auto = pretty on a terminal, JSON otherwise.' },
  allowJsFallback: { kind: 'bool', default: false, doc: "Start even if uWebSockets.js' native addon failed to load (debugging only)." },
  shutdownGraceMs: {
    kind: 'int',
    default: 5000,
    min: 0,
    max: 600_000,
    doc: 'On SIGINT/SIGTERM, exit after at most this long even if closing has not finished.',
  },
  authSecret: { kind: 'string', default: '', secret: true, doc: 'Shared secret for HS256 tokens (at least 32 bytes).' },
  authPublicKeyFile: { kind: 'string', default: '', doc: 'PEM public key (RSA: RS256, EC P-256: ES256) that verifies tokens.' },
  authJwksFile: { kind: 'string', default: '', doc: 'JWKS file (JSON) whose keys verify tokens (RS256/ES256).' },
  authIssuer: { kind: 'string', default: '', doc: 'Required `iss` of tokens; empty = any.' },
  authAudience: { kind: 'string', default: '', doc: 'Required `aud` of tokens; empty = any.' },
  anonymous: {
    kind: 'enum',
    default: 'auto',
    values: ['auto', 'allow', 'deny'],
    doc: 'Connections without a token: auto = allowed only when no token key is set.',
  },
  authTimeoutMs: { kind: 'int', default: 10_000, min: 100, max: 600_000, doc: 'Time to send `connect` when a token is required and none was in the URL.' },
  anonymousJoin: { kind: 'list', default: ['*'], doc: 'Rooms anonymous connections may join (names, `prefix*`, `*`).' },
  anonymousPublish: { kind: 'list', default: ['*'], doc: 'Rooms anonymous connections may publish to.' },
  userJoin: { kind: 'list', default: ['*'], doc: 'Rooms users may join when their token has no `rooms` claim.' },
  userPublish: { kind: 'list', default: ['*'], doc: 'Rooms users may publish to when their token has no `rooms` claim.' },
  presenceEvents: { kind: 'list', default: [], doc: 'Rooms whose members get join/leave events (names, `prefix*`, `*`).' },
  maxRoomsPerConnection: { kind: 'int', default: 100, min: 1, max: 100_000, doc: 'Rooms one connection may be in.' },
  rateLimitPerSec: { kind: 'int', default: 100, min: 0, max: 1_000_000, doc: 'Frames per second one connection may send (token bucket); 0 = no limit.' },
  rateLimitBurst: { kind: 'int', default: 200, min: 1, max: 1_000_000, doc: 'Bucket size: frames a connection may send at once.' },
  maxRateLimited: {
    kind: 'int',
    default: 100,
    min: 1,
    max: 1_000_000,
    doc: 'Rate-limited frames within floodWindowMs (and over floodRefusedPercent of its frames) that close the connection (4501).',
  },
  floodWindowMs: { kind: 'int', default: 2000, min: 100, max: 600_000, doc: 'The sliding window in which refused frames are counted for the 4501 close.' },
  floodRefusedPercent: {
    kind: 'int',
    default: 50,
    min: 1,
    max: 99,
    doc: "Share of a connection's frames in floodWindowMs that must be refused (more than this %) for the 4501 close.",
  },
  maxConnections: { kind: 'int', default: 100_000, min: 0, max: 10_000_000, doc: 'Open connections in this process; 0 = no limit.' },
  maxConnectionsPerIp: { kind: 'int', default: 1000, min: 0, max: 10_000_000, doc: 'Open connections from one address; 0 = no limit.' },
  maxConnectsPerIpPerSec: {
    kind: 'int',
    default: 20,
    min: 0,
    max: 1_000_000,
    doc: 'New connections per second from one address (token bucket; over it: close 4002); 0 = no limit.',
  },
  connectBurstPerIp: {
    kind: 'int',
    default: 100,
    min: 1,
    max: 1_000_000,
    doc: 'New connections one address may open at once before maxConnectsPerIpPerSec applies.',
  },
  trustedProxies: {
    kind: 'list',
    default: [],
    doc: 'Proxy addresses or CIDRs whose X-Forwarded-For / Forwarded header names the client for per-address limits; empty = use the TCP peer.',
  },
  allowedOrigins: { kind: 'list', default: [], doc: 'Browser Origins allowed to connect; empty = any. Clients that send no Origin are not browsers and pass.' },
  tlsCert: { kind: 'string', default: '', doc: 'PEM certificate file: serve wss:// and https:// (with tlsKey).' },
  tlsKey: { kind: 'string', default: '', doc: 'PEM private key file for tlsCert.' },
  tlsPassphrase: { kind: 'string', default: '', secret: true, doc: 'Passphrase of tlsKey, if it has one.' },
  broker: {
    kind: 'enum',
    default: 'memory',
    values: ['memory', 'redis', 'redis-cluster'],
    doc: 'memory = this process only; redis = share rooms and presence with other processes through one Redis; redis-cluster = through a Redis Cluster (7+, sharded pub/sub).',
  },
  redisUrl: { kind: 'string', default: 'redis://127.0.0.1:6379', doc: 'Redis to use with broker=redis (redis://[user:pass@]host:port[/db]).' },
  redisNodes: {
    kind: 'list',
    default: [],
    doc: 'Seed nodes of the Redis Cluster with broker=redis-cluster (`host:port,...`; the rest are discovered); `redis://user:pass@host:port` entries give the credentials.',
  },
  adminReplyMs: {
    kind: 'int',
    default: 500,
    min: 1,
    max: 60_000,
    doc: 'With a Redis broker: how long an admin disconnect/remove waits for the other processes to report what they closed (ms).',
  },
  redisPrefix: { kind: 'string', default: 'roomcast:', doc: 'Prefix of every Redis key and channel, so deployments can share a Redis.' },
  history: {
    kind: 'history',
    default: DEFAULT_HISTORY,
    doc: 'Events each room keeps for recovery, by room pattern (first match wins): `pattern/size/ttlSec,...`; size 0 = none.',
  },
  historyMaxBytes: {
    kind: 'int',
    default: 64 * 1024 * 1024,
    min: 0,
    max: 64 * 1024 * 1024 * 1024,
    doc: 'Bytes the in-process broker may hold in history, all rooms together (least recently published rooms lose theirs first).',
  },
} as const satisfies Record<string, OptionDef>;

type Table = typeof TABLE;

/** The value type of a row: an enum's values, else its kind's type. */
type ValueOf<D> = D extends { kind: 'enum'; values: ReadonlyArray<infer V> } ? V : D extends { kind: infer K extends Kind } ? KindValues[K] : never;

/** The configuration, after validation. Each field is documented in {@link TABLE}. */
export type Config = { [K in keyof Table]: ValueOf<Table[K]> };

/** One configuration option (a row of the table with its key). */
export interface OptionSpec extends KindParams {
  key: keyof Config;
  kind: Kind;
  doc: string;
  /** A secret: never printed, never logged. */
  secret?: boolean;
}

/** Every option, in table order. */
export const OPTIONS: readonly OptionSpec[] = Object.freeze(
  (Object.keys(TABLE) as Array<keyof Config>).map((key): OptionSpec => {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the binding only takes `default` out of the rest (DEFAULTS holds the defaults).
    const { default: _default, ...spec } = TABLE[key] as OptionDef;
    return { key, ...spec };
  }),
);

/** A list item as a Config holds it: objects (e.g. history rules) copied, not shared with the table. */
function copyItem(x: unknown): unknown {
  return typeof x === 'object' && x !== null ? { ...x } : x;
}

function defaults(): Config {
  const out: Partial<Record<keyof Config, unknown>> = {};
  for (const key of Object.keys(TABLE) as Array<keyof Config>) {
    const d: unknown = TABLE[key].default;
    // Lists are copied: the table's are read-only literals, a Config's are plain arrays.
    out[key] = Array.isArray(d) ? (d as unknown[]).map(copyItem) : d;
  }
  // Every key of the table was set above, each to its row's default.
  return out as Config;
}

/** Built-in defaults. */
export const DEFAULTS: Readonly<Config> = Object.freeze(defaults());

/** `maxPayloadBytes` -> `--max-payload-bytes`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `maxPayloadBytes` -> `ROOMCAST_MAX_PAYLOAD_BYTES`. */
export function envName(key: string): string {
  return `ROOMCAST_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}
