/**
 * The admin side of the HTTP API: a user's connections, disconnecting a user, removing a user
 * from a room, and presence. Same credentials as the rest of /api (API key or admin token).
 *
 * Disconnect and remove act on every process: on this one at once, and, with a broker shared
 * between processes (Redis, Redis Cluster), on the others through the broker's admin channel.
 * The reply counts the connections affected here plus those the other processes report within
 * `adminReplyMs`; a process that answers later still acts but is not counted. Listing a user's
 * connections and presence stay as they were (connections: this process; presence: shared).
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { AdminAction } from '../broker/broker.js';
import { alreadyReported } from '../broker/broker.js';
import { CloseCode, ErrorCode, ProtocolError } from '../protocol/errors.js';
import { checkRoomName } from '../protocol/limits.js';
import { closeConn } from './close.js';
import { roomsOf } from './connections.js';
import type { ServerContext } from './context.js';
import { handler, methodNotAllowed } from './http-handler.js';
import { leaveRoom } from './membership.js';
import { send } from './send.js';

function userParam(raw: string | undefined): string {
  if (raw === undefined || raw === '' || raw.length > 256) throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'user id is missing or too long');
  return raw;
}

/** Applies an admin action to this process's connections; returns how many it affected. */
export function applyAdmin(ctx: ServerContext, action: AdminAction): number {
  const conns = ctx.conns.ofUser(action.userId);
  if (action.kind === 'disconnect') {
    const code = action.reconnect ? CloseCode.CLOSE_CODE_RECONNECT : CloseCode.CLOSE_CODE_DISCONNECTED;
    for (const c of conns) c.ws?.cork(() => closeConn(ctx, c, 'admin', action.reason, code));
    if (conns.length > 0) ctx.log.info({ userId: action.userId, connections: conns.length, code }, 'admin disconnected a user');
    return conns.length;
  }
  let affected = 0;
  for (const c of conns) {
    if (c.ws === undefined) continue;
    c.ws.cork(() => {
      if (leaveRoom(ctx, c, action.room)) {
        affected += 1;
        send(c, { removed: { room: action.room, reason: action.reason } });
      }
    });
  }
  if (affected > 0) ctx.log.info({ userId: action.userId, room: action.room, connections: affected }, 'admin removed a user from a room');
  return affected;
}

/** Applies an action here and on the other processes; the connections affected in all. */
async function everywhere(ctx: ServerContext, action: AdminAction): Promise<number> {
  const here = applyAdmin(ctx, action);
  if (ctx.broker.admin === undefined) return here;
  try {
    const there = await ctx.broker.admin(action);
    if (there.processes < there.expected) {
      ctx.log.warn({ ...action, answered: there.processes, expected: there.expected }, 'admin action: some processes did not answer in time (not counted)');
    }
    return here + there.connections;
  } catch (err) {
    if (!alreadyReported(err)) ctx.log.warn({ err }, 'admin action not carried to the other processes');
    throw new ProtocolError(ErrorCode.ERROR_CODE_INTERNAL, `applied on this process (${String(here)} connections) but could not reach the other processes`);
  }
}

/** Registers the admin routes. */
export function registerAdminRoutes(ctx: ServerContext, app: TemplatedApp): void {
  app.get(
    '/api/users/:user/connections',
    handler(ctx, { params: 1 }, (call) => {
      const userId = userParam(call.params[0]);
      const connections = ctx.conns.ofUser(userId).map((c) => ({
        connId: c.id,
        userId,
        rooms: roomsOf(c),
        remoteAddress: c.remoteAddress,
        encoding: c.encoding,
        connectedAtUs: c.connectedAtUs,
      }));
      return { type: 'ConnectionList', body: { connections } };
    }),
  );

  app.post(
    '/api/users/:user/disconnect',
    handler(ctx, { params: 1, body: true }, async (call) => {
      const userId = userParam(call.params[0]);
      const req = await call.message('DisconnectRequest');
      const reason = req.reason !== undefined && req.reason !== null && req.reason !== '' ? req.reason : 'disconnected by an admin';
      const connections = await everywhere(ctx, { kind: 'disconnect', userId, reason, reconnect: req.reconnect === true });
      return { type: 'AffectedReply', body: { connections } };
    }),
  );

  app.post(
    '/api/rooms/:room/remove',
    handler(ctx, { params: 1, body: true }, async (call) => {
      const room = checkRoomName(call.params[0]);
      const req = await call.message('RemoveRequest');
      const userId = userParam(req.userId ?? '');
      const reason = req.reason !== undefined && req.reason !== null && req.reason !== '' ? req.reason : 'removed by an admin';
      const connections = await everywhere(ctx, { kind: 'remove', userId, room, reason });
      return { type: 'AffectedReply', body: { connections } };
    }),
  );

  app.get(
    '/api/rooms/:room/presence',
    handler(ctx, { params: 1 }, async (call) => {
      const room = checkRoomName(call.params[0]);
      return { type: 'PresenceReply', body: { room, members: await ctx.presence.members(room) } };
    }),
  );

  app.get(
    '/api/rooms/:room/presence-stats',
    handler(ctx, { params: 1 }, async (call) => {
      const room = checkRoomName(call.params[0]);
      const c = await ctx.presence.counts(room);
      return { type: 'PresenceStatsReply', body: { room, connections: c.connections, users: c.users } };
    }),
  );

  app.any('/api/users/:user/connections', methodNotAllowed(ctx, 'GET'));
  app.any('/api/users/:user/disconnect', methodNotAllowed(ctx, 'POST'));
  app.any('/api/rooms/:room/remove', methodNotAllowed(ctx, 'POST'));
  app.any('/api/rooms/:room/presence', methodNotAllowed(ctx, 'GET'));
  app.any('/api/rooms/:room/presence-stats', methodNotAllowed(ctx, 'GET'));
}
