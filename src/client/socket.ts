/**
 * The WebSocket the client drives: the WHATWG interface, which browsers implement natively and
 * the `ws` package implements for Node. Only that interface is used, so one code path serves
 * both; `ws` is loaded lazily, and only when there is no global WebSocket, so browser bundles
 * never need it (its package maps itself to a stub for browsers).
 */

/** A message event: `data` is a string for text frames, an ArrayBuffer for binary ones. */
export interface SocketMessageEvent {
  readonly data: unknown;
}

/** A close event. */
export interface SocketCloseEvent {
  readonly code: number;
  readonly reason: string;
}

/**
 * The part of the WHATWG WebSocket the client uses. The handler properties take `never`: the
 * client only assigns them (with handlers for the event shapes above), and `never` lets every
 * implementation's own event types fit.
 */
export interface WebSocketLike {
  /** The subprotocol the server chose. */
  readonly protocol: string;
  binaryType: string;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket class: `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The WebSocket class to use: the one given, the global one, or `ws`'s. */
export async function resolveWebSocket(given: WebSocketConstructor | undefined): Promise<WebSocketConstructor> {
  if (given !== undefined) return given;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof global === 'function') return global;
  const ws = await import('ws');
  const ctor: WebSocketConstructor | undefined = ws.WebSocket;
  if (typeof ctor !== 'function') throw new TypeError('no WebSocket implementation here: pass options.WebSocket');
  return ctor;
}

/** `url` with `token` in its `token` query parameter (replacing any there). */
export function urlWithToken(url: string, token: string | undefined): string {
  if (token === undefined || token === '') return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}

/**
 * `url` with a `/rooms/<room>` path replaced by `/ws` (anything before it, and the query, kept):
 * the plain endpoint, where the client joins every room itself.
 */
export function urlWithoutRoom(url: string): string {
  const u = new URL(url);
  const path = u.pathname.replace(/\/rooms\/[^/]+\/?$/, '/ws');
  if (path === u.pathname) return url;
  u.pathname = path;
  return u.toString();
}
