/**
 * GET /healthz: liveness plus this process's plain counters. Public (it never asks for
 * credentials), so it carries counts only: no room names, user ids or addresses. The built-in
 * page polls it for its stats panel and turns successive counters into rates; monitoring should
 * scrape /metrics, which has the same counters and more.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { ServerContext } from './context.js';
import { methodNotAllowed } from './http-handler.js';

/** The body of GET /healthz. Counters grow from zero at start-up (a drop in `uptimeSec` means a restart). */
export interface HealthReport {
  status: 'ok';
  /** Open WebSocket connections on this process. */
  connections: number;
  /** Rooms with members on this process. */
  rooms: number;
  /** Seconds since the server was created, to the millisecond. */
  uptimeSec: number;
  /** Connections accepted since start. */
  connectionsOpened: number;
  /** Frames received from clients (roomcast_messages_in_total). */
  messagesIn: number;
  /** Events fanned out to members on this process (roomcast_publications_total). */
  publications: number;
  /** Event copies handed to sockets, one per member per event (roomcast_messages_out_total). */
  messagesOut: number;
  /** Bytes of frames received from clients. */
  bytesIn: number;
  /** Bytes of event copies handed to sockets. */
  bytesOut: number;
}

/** The report for one server; `startedMs` is its `performance.now()` at creation. */
export function healthReport(ctx: ServerContext, startedMs: number): HealthReport {
  const s = ctx.stats;
  return {
    status: 'ok',
    connections: ctx.conns.size,
    rooms: ctx.rooms.size,
    uptimeSec: Math.round(performance.now() - startedMs) / 1000,
    connectionsOpened: s.connectionsOpened,
    messagesIn: s.framesIn,
    publications: s.publications,
    messagesOut: s.deliveries,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
  };
}

/** Registers GET /healthz (and a 405 for other methods). Uptime counts from this call. */
export function registerHealthRoute(ctx: ServerContext, app: TemplatedApp): void {
  const startedMs = performance.now();
  app.get('/healthz', (res) => {
    const body = JSON.stringify(healthReport(ctx, startedMs));
    res.cork(() => {
      // Pollers (the page, load balancers) must see fresh numbers, never a cached copy.
      res.writeStatus('200 OK').writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(body);
    });
  });
  app.any('/healthz', methodNotAllowed(ctx, 'GET'));
}
