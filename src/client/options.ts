/**
 * The client's options: what an application may set, the defaults, and one check at creation
 * so that a bad value fails at once instead of at the first reconnect.
 */
import type { Encoding } from '../protocol/types.js';
import { type BackoffOptions, checkBackoff, DEFAULT_BACKOFF } from './backoff.js';
import type { WebSocketConstructor } from './socket.js';

/** A token, or a function that returns a fresh one (called before every connection). */
export type TokenSource = string | (() => string | Promise<string>);

/** Reconnect settings: backoff plus a bound on consecutive failed attempts. */
export interface ReconnectOptions extends BackoffOptions {
  /** Give up after this many attempts in a row that never reached "open". Default Infinity. */
  maxAttempts: number;
}

/** Options of {@link createClient}. Only `url` is required. */
export interface ClientOptions {
  /** `ws(s)://host:port/ws` (no room) or `ws(s)://host:port/rooms/<room>` (joins it on connect). */
  url: string;
  /** Frame encoding: `proto` (binary protobuf, the default) or `json` (proto3 JSON text). */
  encoding?: Encoding;
  /** Rooms to be in: joined on connect and again after every reconnect. */
  rooms?: readonly string[];
  /** A JWT, or a function giving a fresh one before each connection. */
  token?: TokenSource;
  /**
   * How the token reaches the server: `url` (the `?token=` query parameter, the default) or
   * `command` (a `connect` command, first thing after the Welcome; keeps it out of URLs and
   * server logs).
   */
  tokenTransport?: 'url' | 'command';
  /** How long a command waits for its reply, including any wait for a reconnect. Default 10 s. */
  requestTimeoutMs?: number;
  /** How long one connection attempt may take until it is ready. Default 10 s. */
  connectTimeoutMs?: number;
  /** How long `close()` waits for the server's goodbye before dropping the socket. Default 2 s. */
  closeTimeoutMs?: number;
  /** Reconnect settings, or `false` for none. */
  reconnect?: Partial<ReconnectOptions> | false;
  /**
   * The WebSocket implementation. Default: the global `WebSocket` (browsers, Deno, Node 22+),
   * else the `ws` package (Node 20).
   */
  WebSocket?: WebSocketConstructor;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  url: string;
  encoding: Encoding;
  rooms: readonly string[];
  token: TokenSource | undefined;
  tokenTransport: 'url' | 'command';
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  reconnect: Readonly<ReconnectOptions> | false;
  WebSocket: WebSocketConstructor | undefined;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(v > 0) || !Number.isFinite(v)) throw new TypeError(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  return v;
}

/** Whether `value` is one of `allowed` (options may come unchecked from JavaScript callers). */
function isOneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return allowed.some((a) => a === value);
}

/** Fills in defaults and checks every value; throws a TypeError naming the bad option. */
export function resolveOptions(o: ClientOptions): ResolvedOptions {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw new TypeError(`url must be an absolute ws:// or wss:// URL, got ${JSON.stringify(o.url)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`url must use ws: or wss:, got ${url.protocol}`);
  const encoding: unknown = o.encoding ?? 'proto';
  if (!isOneOf(encoding, ['proto', 'json'])) throw new TypeError(`encoding must be "proto" or "json", got ${JSON.stringify(encoding)}`);
  const tokenTransport: unknown = o.tokenTransport ?? 'url';
  if (!isOneOf(tokenTransport, ['url', 'command'])) {
    throw new TypeError(`tokenTransport must be "url" or "command", got ${JSON.stringify(tokenTransport)}`);
  }
  let reconnect: ReconnectOptions | false = false;
  if (o.reconnect !== false) {
    reconnect = { ...DEFAULT_BACKOFF, maxAttempts: Infinity, ...o.reconnect };
    checkBackoff(reconnect);
    if (!(reconnect.maxAttempts >= 1)) throw new TypeError(`reconnect.maxAttempts must be >= 1, got ${reconnect.maxAttempts}`);
  }
  return {
    url: o.url,
    encoding,
    rooms: [...(o.rooms ?? [])],
    token: o.token,
    tokenTransport,
    requestTimeoutMs: positive('requestTimeoutMs', o.requestTimeoutMs, 10_000),
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs, 10_000),
    closeTimeoutMs: positive('closeTimeoutMs', o.closeTimeoutMs, 2_000),
    reconnect,
    WebSocket: o.WebSocket,
  };
}
