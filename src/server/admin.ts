/**
 * The admin side of the HTTP API: a user's connections, disconnecting a user, removing a user
 * from a room, and presence. Same credentials as the rest of /api (API key or admin token).
 *
 * These act on this process's connections. With several processes behind a shared broker each
 * process must be asked (see README, "Several processes").
 */
import type { TemplatedApp } from 'uWebSockets.js';
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
      const code = req.reconnect === true ? CloseCode.CLOSE_CODE_RECONNECT : CloseCode.CLOSE_CODE_DISCONNECTED;
      const conns = ctx.conns.ofUser(userId);
      for (const c of conns) c.ws?.cork(() => closeConn(ctx, c, 'admin', reason, code));
      ctx.log.info({ userId, connections: conns.length, code }, 'admin disconnected a user');
      return { type: 'AffectedReply', body: { connections: conns.length } };
    }),
  );

  app.post(
    '/api/rooms/:room/remove',
    handler(ctx, { params: 1, body: true }, async (call) => {
      const room = checkRoomName(call.params[0]);
      const req = await call.message('RemoveRequest');
      const userId = userParam(req.userId ?? '');
      const reason = req.reason !== undefined && req.reason !== null && req.reason !== '' ? req.reason : 'removed by an admin';
      let affected = 0;
      for (const c of ctx.conns.ofUser(userId)) {
        if (c.ws === undefined) continue;
        c.ws.cork(() => {
          if (leaveRoom(ctx, c, room)) {
            affected += 1;
            send(c, { removed: { room, reason } });
          }
        });
      }
      ctx.log.info({ userId, room, connections: affected }, 'admin removed a user from a room');
      return { type: 'AffectedReply', body: { connections: affected } };
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
