/**
 * Builds a roomcast server: the uWS app, its WebSocket routes and HTTP API, the broker, the
 * ticker and the slow-consumer check, and an orderly shutdown.
 */
import type { us_listen_socket, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { Broker } from '../broker/broker.js';
import { createMemoryBroker } from '../broker/memory.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { CloseCode } from '../protocol/errors.js';
import { type Conn, Connections } from './connections.js';
import { nowUs, type ServerContext } from './context.js';
import { createFanout, type FanoutStats } from './fanout.js';
import { registerHttpRoutes } from './http.js';
import { Rooms } from './rooms.js';
import { joinRoom, onMessage, send } from './session.js';
import { upgrade } from './upgrade.js';
import { fallbackMessage, isNativeUws, uWS } from './uws.js';

/** Counters a running server keeps. */
export interface ServerStats extends FanoutStats {
  /** Connections closed for falling behind (code 4000). */
  slowConsumerCloses: number;
  /** Times a connection was found over maxBackpressure under the `drop` policy. */
  slowConsumerEpisodes: number;
}

/** A roomcast server. */
export interface RoomcastServer {
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number>;
  /** Closes every connection with 1001, stops listening, closes the broker. */
  close(): Promise<void>;
  /** The bound port (after listen). */
  readonly port: number;
  /** Live counters. */
  readonly stats: Readonly<ServerStats>;
  /** Open connections on this process. */
  readonly connectionCount: number;
}

/** Optional parts to plug in. */
export interface ServerDeps {
  log: Logger;
  /** Defaults to the in-process broker. */
  broker?: Broker;
}

/** Thrown when the native uWebSockets.js addon is missing and the config does not allow that. */
export class NativeAddonError extends Error {
  constructor() {
    super(fallbackMessage());
    this.name = 'NativeAddonError';
  }
}

/** Creates a server from a validated config. Nothing listens until `listen()`. */
export function createServer(config: Readonly<Config>, deps: ServerDeps): RoomcastServer {
  if (!isNativeUws()) {
    if (!config.allowJsFallback) throw new NativeAddonError();
    deps.log.warn(fallbackMessage());
  }
  const log = deps.log;
  const broker = deps.broker ?? createMemoryBroker();
  const app = uWS.App();
  const conns = new Connections();
  const rooms = new Rooms({
    opened: (room) => broker.roomOpened(room),
    closed: (room) => broker.roomClosed(room),
  });
  const fanout = createFanout(app, rooms, conns);
  const stats: ServerStats = Object.assign(fanout.stats, { slowConsumerCloses: 0, slowConsumerEpisodes: 0 });
  const ctx: ServerContext = { config, log, app, broker, rooms, conns, fanout: stats };

  const behavior = (withRoom: boolean): WebSocketBehavior<Conn> => ({
    // Frames up to twice the limit reach us and get a 1009 with a reason; beyond that uWS drops
    // the connection itself (the client sees 1006).
    maxPayloadLength: config.maxFrameBytes * 2,
    idleTimeout: config.idleTimeoutSec,
    sendPingsAutomatically: true,
    maxBackpressure: config.maxBackpressure,
    closeOnBackpressureLimit: config.slowConsumer === 'close' ? 1 : 0,
    compression: uWS.DISABLED,
    upgrade: (res, req, context) => upgrade(ctx, res, req, context, withRoom),
    open: (ws) => onOpen(ctx, ws),
    message: (ws, message, isBinary) => onMessage(ctx, ws, message, isBinary),
    subscription: (_ws, topic, newCount) => rooms.topicCount(Buffer.from(topic).toString('latin1'), newCount),
    close: (ws, code) => {
      const conn = ws.getUserData();
      conns.delete(conn);
      conn.rooms.clear();
      if (log.isLevelEnabled('debug')) log.debug({ conn: conn.id, code }, 'closed');
    },
  });
  app.ws('/ws', behavior(false));
  app.ws('/rooms/:room', behavior(true));
  registerHttpRoutes(ctx, app);

  let listenSocket: us_listen_socket | undefined;
  let port = 0;
  const timers: NodeJS.Timeout[] = [];

  const startTimers = (): void => {
    if (config.tickMs > 0) timers.push(setInterval(() => tick(ctx), config.tickMs));
    timers.push(setInterval(() => checkSlowConsumers(ctx, stats), config.slowConsumerCheckMs));
  };

  return {
    get port() {
      return port;
    },
    get stats() {
      return stats;
    },
    get connectionCount() {
      return conns.size;
    },
    async listen() {
      await broker.start(fanout.deliver);
      await new Promise<void>((resolve, reject) => {
        app.listen(config.host, config.port, (socket) => {
          if (socket === false) {
            reject(new Error(`cannot listen on ${config.host}:${config.port} (address in use, or not an address of this host)`));
            return;
          }
          listenSocket = socket;
          port = uWS.us_socket_local_port(socket);
          resolve();
        });
      });
      startTimers();
      log.info({ host: config.host, port, broker: broker.kind }, 'listening');
      return port;
    },
    async close() {
      for (const t of timers) clearInterval(t);
      timers.length = 0;
      if (listenSocket !== undefined) uWS.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
      for (const conn of conns.values()) conn.ws?.end(CloseCode.CLOSE_CODE_GOING_AWAY, 'server shutting down');
      // Let the close frames leave before the app drops every remaining socket (HTTP keep-alive).
      await new Promise((r) => setTimeout(r, 100));
      // Present in uWS.js v20.30 but missing from its type definitions.
      (app as typeof app & { close(): void }).close();
      await broker.close();
      log.info('closed');
    },
  };
}

function onOpen(ctx: ServerContext, ws: WebSocket<Conn>): void {
  const conn = ws.getUserData();
  conn.ws = ws;
  ctx.conns.add(conn);
  const welcome = (rooms: Array<{ room: string; seq: number }>): void => {
    send(conn, { welcome: { connId: conn.id, rooms, maxPayloadBytes: ctx.config.maxPayloadBytes } });
  };
  if (conn.urlRoom === undefined) {
    welcome([]);
    return;
  }
  const room = conn.urlRoom;
  const seq = joinRoom(ctx, conn, ws, room);
  if (typeof seq === 'number') welcome([{ room, seq }]);
  else {
    seq.then(
      (s) => {
        if (!conn.closed) ws.cork(() => welcome([{ room, seq: s }]));
      },
      (err: unknown) => {
        ctx.log.error({ err, conn: conn.id }, 'broker failed on join');
        if (!conn.closed) ws.end(1011, 'broker unavailable');
      },
    );
  }
  if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ conn: conn.id, encoding: conn.encoding, room }, 'open');
}

/** Pushes the server time into every room with members (the tutorial's ticker). */
function tick(ctx: ServerContext): void {
  const timeUs = nowUs();
  const text = new Date(Math.floor(timeUs / 1000)).toISOString();
  for (const room of ctx.rooms.names()) {
    const r = ctx.broker.publish({ room, timeUs, text, connId: '', excludeSelf: false });
    if (typeof r !== 'number') r.catch((err: unknown) => ctx.log.warn({ err, room }, 'tick publish failed'));
  }
}

/**
 * Looks for connections that fall behind. Under `close`, one over half of maxBackpressure is
 * closed with 4000 (uWS itself cuts one that reaches the full limit between checks); under
 * `drop`, one at the limit is missing messages (uWS skips it), which is counted and logged once
 * per episode. One native call per connection per check, off the publish path.
 */
function checkSlowConsumers(ctx: ServerContext, stats: ServerStats): void {
  const { maxBackpressure, slowConsumer } = ctx.config;
  const closeAt = maxBackpressure / 2;
  for (const conn of ctx.conns.values()) {
    const ws = conn.ws;
    if (ws === undefined) continue;
    const buffered = ws.getBufferedAmount();
    if (slowConsumer === 'close') {
      if (buffered > closeAt) {
        stats.slowConsumerCloses += 1;
        ctx.log.info({ conn: conn.id, buffered }, 'closing slow consumer');
        ws.end(CloseCode.CLOSE_CODE_SLOW_CONSUMER, 'slow consumer: send buffer over limit');
      }
    } else if (buffered >= maxBackpressure - ctx.config.maxFrameBytes) {
      if (!conn.slow) {
        conn.slow = true;
        stats.slowConsumerEpisodes += 1;
        ctx.log.info({ conn: conn.id, buffered }, 'slow consumer: messages are being dropped');
      }
    } else {
      conn.slow = false;
    }
  }
}
