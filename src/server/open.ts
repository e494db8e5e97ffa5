/**
 * A connection's first moments: refusals decided at the handshake, limits, the URL token (verified
 * here rather than in the upgrade, see upgrade.ts), the URL room and the Welcome.
 */
import type { WebSocket } from 'uWebSockets.js';
import type { ServerMessage } from '../protocol/codec.js';
import { CloseCode } from '../protocol/errors.js';
import type { Conn } from './connections.js';
import { closeConn, type ServerContext } from './context.js';
import { applyIdentity, armAuthDeadline, countAuthFailure } from './identity.js';
import { joinRoom } from './membership.js';
import { canJoin, type Identity } from './permissions.js';
import { send, sendLater } from './send.js';
import { checkLimits, refusalFor } from './upgrade.js';

/** The uWS open handler. */
export function onOpen(ctx: ServerContext, ws: WebSocket<Conn>): void {
  const conn = ws.getUserData();
  conn.ws = ws;
  const refusal = conn.refusal ?? checkLimits(ctx, conn.remoteAddress);
  if (refusal !== undefined) {
    closeConn(ctx, conn, refusal.code, refusal.reason, refusal.why);
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
      countAuthFailure(ctx, err);
      const r = refusalFor(err);
      if (!conn.closed) ws.cork(() => closeConn(ctx, conn, r.code, r.reason, r.why));
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
  if (room === undefined || identity === undefined) {
    send(conn, message([]));
    return;
  }
  if (!canJoin(identity, room)) {
    closeConn(ctx, conn, CloseCode.CLOSE_CODE_POLICY, `may not join room "${room}"`, 'policy');
    return;
  }
  const pos = joinRoom(ctx, conn, room);
  if (!(pos instanceof Promise)) send(conn, message([{ room, seq: pos.seq, epoch: pos.epoch }]));
  else {
    pos.then(
      (p) => sendLater(conn, message([{ room, seq: p.seq, epoch: p.epoch }])),
      (err: unknown) => {
        ctx.log.error({ err, conn: conn.id }, 'broker failed on join');
        if (!conn.closed) conn.ws?.cork(() => closeConn(ctx, conn, CloseCode.CLOSE_CODE_INTERNAL_ERROR, 'broker unavailable', 'internal'));
      },
    );
  }
  if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ conn: conn.id, encoding: conn.encoding, room, user: identity.userId }, 'open');
}
