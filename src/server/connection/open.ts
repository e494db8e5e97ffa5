/**
 * A connection's first moments: refusals decided at the handshake, limits, the URL token (verified
 * here rather than in the upgrade, see upgrade.ts), the URL room and the Welcome.
 */
import type { WebSocket } from 'uWebSockets.js';
import { alreadyReported } from '../../broker/broker.js';
import type { ServerMessage } from '../../protocol/types.js';
import type { Conn, SocketData } from '../connections.js';
import { applyIdentity, armAuthDeadline, refusalFor } from '../auth/identity.js';
import { canJoin, type Identity } from '../auth/permissions.js';
import { closeConn } from '../close.js';
import type { ServerContext } from '../context.js';
import { joinRoom } from '../membership.js';
import { send, sendLater } from '../send.js';
import { countAuthFailure } from '../stats.js';
import { checkLimits } from './upgrade.js';

/** The uWS open handler. */
export function onOpen(ctx: ServerContext, ws: WebSocket<SocketData>): void {
  const conn = ws.getUserData().conn;
  conn.ws = ws;
  const refusal = conn.refusal ?? checkLimits(ctx, conn.remoteAddress);
  if (refusal !== undefined) {
    closeConn(ctx, conn, refusal.why, refusal.reason, refusal.code);
    return;
  }
  ctx.conns.add(conn);
  ctx.stats.connectionsOpened += 1;
  const token = conn.urlToken;
  if (token === undefined) {
    welcome(ctx, conn);
    return;
  }
  conn.urlToken = undefined;
  conn.authPending = true;
  ctx.auth.verify(token).then(
    (identity) => {
      conn.authPending = false;
      if (!conn.closed) ws.cork(() => welcome(ctx, conn, identity));
    },
    (err: unknown) => {
      conn.authPending = false;
      countAuthFailure(ctx.stats, err);
      const r = refusalFor(err);
      if (!conn.closed) ws.cork(() => closeConn(ctx, conn, r.why, r.reason, r.code));
    },
  );
}

/**
 * Finishes opening a connection: its identity (if any), the URL room, the Welcome. A connection
 * without an identity must send `connect` before the deadline.
 */
function welcome(ctx: ServerContext, conn: Conn, verified?: Identity): void {
  const identity = verified ?? conn.identity;
  if (identity === undefined) armAuthDeadline(ctx, conn);
  else applyIdentity(ctx, conn, identity);
  const message = (rooms: Array<{ room: string; seq: number; epoch: string }>): ServerMessage => ({
    welcome: { connId: conn.id, rooms, maxPayloadBytes: ctx.config.maxPayloadBytes, userId: identity?.userId ?? '', authRequired: identity === undefined },
  });
  const room = conn.urlRoom;
  conn.urlRoom = undefined;
  if (room === undefined || identity === undefined) {
    send(conn, message([]));
    return;
  }
  if (!canJoin(identity, room)) {
    closeConn(ctx, conn, 'policy', `may not join room "${room}"`);
    return;
  }
  const pos = joinRoom(ctx, conn, room);
  if (!(pos instanceof Promise)) send(conn, message([{ room, seq: pos.seq, epoch: pos.epoch }]));
  else {
    pos.then(
      (p) => sendLater(conn, message([{ room, seq: p.seq, epoch: p.epoch }])),
      (err: unknown) => {
        if (!alreadyReported(err)) ctx.log.error({ err, conn: conn.id }, 'broker failed on join');
        if (!conn.closed) conn.ws?.cork(() => closeConn(ctx, conn, 'internal', 'broker unavailable'));
      },
    );
  }
  if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ conn: conn.id, encoding: conn.encoding, room, user: identity.userId }, 'open');
}
