/**
 * A connection's end, whoever ends it: forget it, count the close code (and uWS's cut-offs by
 * cause), stop its timers and take it out of its rooms (uWS has already dropped its topics).
 */
import type { WebSocket } from 'uWebSockets.js';
import { forgetIdentity } from '../auth/identity.js';
import type { SocketData } from '../connections.js';
import type { ServerContext } from '../context.js';
import { leaveAll } from '../membership.js';
import { cutoffCause } from './cutoffs.js';

/** The uWS close handler (`reason` is uWS's own text when it cut the connection itself, see cutoffs.ts). */
export function onClose(ctx: ServerContext, ws: WebSocket<SocketData>, code: number, reason: ArrayBuffer): void {
  const conn = ws.getUserData().conn;
  const registered = ctx.conns.get(conn.id) === conn;
  ctx.conns.delete(conn);
  // A connection refused on open was never registered: it has nothing to undo.
  if (!registered) return;
  // The next connection from this address starts where this one left its rate limit.
  if (conn.rate !== undefined) ctx.addressLimits.remember(conn.remoteAddress, conn.rate, performance.now());
  ctx.stats.disconnects[code] = (ctx.stats.disconnects[code] ?? 0) + 1;
  if (code === 1006) ctx.stats.cutoffs[cutoffCause(reason)] += 1;
  forgetIdentity(ctx, conn);
  // A paced replay in progress gives up (and lets go of its room).
  ctx.recoveries.resume(conn.id);
  leaveAll(ctx, conn);
  if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ conn: conn.id, code }, 'closed');
}
