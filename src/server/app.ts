/**
 * Builds a roomcast server: the uWS app (TLS when configured), its WebSocket routes and HTTP
 * API, the broker and presence store, the ticker and the slow-consumer check, and an orderly
 * shutdown.
 */
import type { TemplatedApp, us_listen_socket, WebSocketBehavior } from 'uWebSockets.js';
import type { Broker, BrokerHandlers } from '../broker/broker.js';
import { createMemoryBroker } from '../broker/broker-memory.js';
import { createRedisBroker } from '../broker/broker-redis.js';
import { HistoryRules } from '../config/history-rules.js';
import type { PresenceStore } from '../broker/presence.js';
import { createMemoryPresence } from '../broker/presence-memory.js';
import { createRedisPresence } from '../broker/presence-redis.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { CloseCode } from '../protocol/errors.js';
import { AddressLimits } from './address-limits.js';
import { applyAdmin, registerAdminRoutes } from './admin.js';
import { RoomPatterns } from './auth/permissions.js';
import { Expiries } from './auth/expiries.js';
import { expireConn } from './auth/identity.js';
import { createAuthenticator } from './auth/tokens.js';
import { onMessage } from './commands.js';
import { onClose } from './connection/close.js';
import { onOpen } from './connection/open.js';
import { upgrade } from './connection/upgrade.js';
import { ClientAddresses } from './client-address.js';
import { type Conn, Connections, type SocketData } from './connections.js';
import type { ServerContext } from './context.js';
import { createFanout } from './fanout.js';
import { registerHealthRoute } from './health.js';
import { registerHttpRoutes } from './http.js';
import { createMetrics, registerMetricsRoute } from './metrics.js';
import { defaultPageDir, registerPageRoutes } from './page.js';
import { Recoveries } from './recoveries.js';
import { Rooms } from './rooms.js';
import { type SlowConsumerCheck, startSlowConsumerCheck } from './slow-consumers.js';
import { createStats, type Stats } from './stats.js';
import { tick } from './ticker.js';
import { fallbackMessage, isNativeUws, uWS } from './uws.js';

/** A roomcast server. */
export interface RoomcastServer {
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number>;
  /** Closes every connection with 1001, stops listening, closes the broker. */
  close(): Promise<void>;
  /** The bound port (after listen). */
  readonly port: number;
  /** Whether it serves wss:// and https://. */
  readonly tls: boolean;
  /** Live counters. */
  readonly stats: Readonly<Stats>;
  /** Open connections on this process. */
  readonly connectionCount: number;
}

/** Optional parts to plug in. */
export interface ServerDeps {
  log: Logger;
  /** Defaults to the one `config.broker` names. */
  broker?: Broker;
  /** Defaults to the in-process store, or the Redis one with broker=redis. */
  presence?: PresenceStore;
  /** Where the built-in page's files are; defaults to this package's dist/web (see page.ts). */
  pageDir?: string;
}

/** Thrown when the native uWebSockets.js addon is missing and the config does not allow that. */
export class NativeAddonError extends Error {
  constructor() {
    super(fallbackMessage());
    this.name = 'NativeAddonError';
  }
}

function createApp(config: Readonly<Config>): TemplatedApp {
  if (config.tlsCert === '') return uWS.App();
  return uWS.SSLApp({ cert_file_name: config.tlsCert, key_file_name: config.tlsKey, passphrase: config.tlsPassphrase });
}

/**
 * The shared state of a server around an app (real, or a fake in the publish-path bench), and
 * the handlers its broker delivers to.
 */
export function createContext(config: Readonly<Config>, app: TemplatedApp, deps: ServerDeps): { ctx: ServerContext; handlers: BrokerHandlers } {
  const log = deps.log;
  const shared =
    config.broker === 'redis'
      ? { url: config.redisUrl, prefix: config.redisPrefix, log }
      : config.broker === 'redis-cluster'
        ? { nodes: config.redisNodes, prefix: config.redisPrefix, log }
        : undefined;
  const history = new HistoryRules(config.history);
  const broker =
    deps.broker ??
    (shared ? createRedisBroker({ ...shared, history, adminReplyMs: config.adminReplyMs }) : createMemoryBroker({ history, maxBytes: config.historyMaxBytes }));
  const presence = deps.presence ?? (shared ? createRedisPresence(shared) : createMemoryPresence());
  const conns = new Connections(undefined, config.maxConnectionsPerIp > 0);
  const stats = createStats();
  const rooms = new Rooms({
    opened: (room) => broker.roomOpened(room),
    closed: (room) => broker.roomClosed(room),
  });
  const auth = createAuthenticator(config);
  const recoveries = new Recoveries();
  // The watch needs ctx to close a connection; ctx holds the watch.
  const expiries = new Expiries<Conn>((conn) => expireConn(ctx, conn));
  const ctx: ServerContext = {
    config,
    log,
    app,
    broker,
    presence,
    auth,
    expiries,
    rooms,
    conns,
    stats,
    presenceRooms: new RoomPatterns(config.presenceEvents),
    recoveries,
    addressLimits: new AddressLimits(config),
    clientAddresses: new ClientAddresses(config.trustedProxies),
  };
  const handlers: BrokerHandlers = { ...createFanout(app, rooms, conns, stats, recoveries), admin: (action) => applyAdmin(ctx, action) };
  return { ctx, handlers };
}

/**
 * Creates a server from a validated config. Reads key and certificate files now (so a bad path
 * fails here); nothing listens until `listen()`.
 */
export function createServer(config: Readonly<Config>, deps: ServerDeps): RoomcastServer {
  if (!isNativeUws()) {
    if (!config.allowJsFallback) throw new NativeAddonError();
    deps.log.warn(fallbackMessage());
  }
  const log = deps.log;
  const app = createApp(config);
  const { ctx, handlers } = createContext(config, app, deps);
  const { broker, presence, rooms, conns, stats, auth } = ctx;

  const behavior = (withRoom: boolean): WebSocketBehavior<SocketData> => ({
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
    // A replay waiting for room in the send buffer goes on (recovery.ts).
    drain: (ws) => ctx.recoveries.resume(ws.getUserData().conn.id),
    close: (ws, code, message) => onClose(ctx, ws, code, message),
  });
  app.ws('/ws', behavior(false));
  app.ws('/rooms/:room', behavior(true));
  // `/rooms/` and `/rooms/a/b` match no parameter route: answer them 400 (bad room name), not 404.
  app.ws('/rooms/*', behavior(true));
  const registry = createMetrics(ctx);
  registerMetricsRoute(ctx, app, registry);
  registerAdminRoutes(ctx, app);
  registerHealthRoute(ctx, app);
  const page = registerPageRoutes(ctx, app, deps.pageDir ?? defaultPageDir(), process.env.NODE_ENV);
  registerHttpRoutes(ctx, app);

  let listenSocket: us_listen_socket | undefined;
  let port = 0;
  const timers: NodeJS.Timeout[] = [];
  let slowCheck: SlowConsumerCheck | undefined;

  return {
    get port() {
      return port;
    },
    get tls() {
      return config.tlsCert !== '';
    },
    get stats() {
      return stats;
    },
    get connectionCount() {
      return conns.size;
    },
    async listen() {
      await broker.start(handlers);
      await presence.start();
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
      if (config.tickMs > 0) timers.push(setInterval(() => tick(ctx), config.tickMs));
      slowCheck = startSlowConsumerCheck(ctx);
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      const pageUrl = page ? `${config.tlsCert !== '' ? 'https' : 'http'}://${host}:${port}/` : 'off';
      log.info(
        {
          host: config.host,
          port,
          tls: config.tlsCert !== '',
          broker: broker.kind,
          auth: auth.enabled ? (auth.required ? 'required' : 'optional') : 'off',
          page: pageUrl,
        },
        'listening',
      );
      if (config.apiKey === '' && !auth.enabled)
        log.warn('no apiKey and no token key set: the HTTP API is open to anyone who can reach it (fine for local use only)');
      return port;
    },
    async close() {
      for (const t of timers) clearInterval(t);
      timers.length = 0;
      slowCheck?.stop();
      slowCheck = undefined;
      ctx.expiries.stop();
      if (listenSocket !== undefined) uWS.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
      for (const conn of conns.values()) conn.ws?.end(CloseCode.CLOSE_CODE_GOING_AWAY, 'server shutting down');
      // Let the close frames leave before the app drops every remaining socket (HTTP keep-alive).
      await new Promise((r) => setTimeout(r, 100));
      // Present in uWS.js v20.30 but missing from its type definitions.
      (app as typeof app & { close(): void }).close();
      await broker.close();
      await presence.close();
      log.info('closed');
    },
  };
}
