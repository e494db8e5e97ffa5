/**
 * Joining and leaving rooms, with everything that goes along: the uWS topic, the presence
 * store, and join/leave events in rooms that have them. Used by commands, by the URL room on
 * open, by the admin API, and on close.
 */
import type { StreamPosition } from '../broker/broker.js';
import { addRoom, type Conn, inRoom, removeRoom, roomsOf } from './connections.js';
import type { ServerContext } from './context.js';
import { topicFor } from './rooms.js';

/**
 * Puts `conn` in `room` (already validated and allowed). Returns the room's stream position. If
 * the broker cannot give it (Redis away), the join is undone: the caller reports an error, and a
 * client told "failed" must not be left in the room receiving events.
 */
export function joinRoom(ctx: ServerContext, conn: Conn, room: string): StreamPosition | Promise<StreamPosition> {
  const added = enterRoom(ctx, conn, room);
  const seq = ctx.broker.stream(room);
  if (added && seq instanceof Promise) {
    seq.catch(() => {
      if (!conn.closed) leaveRoom(ctx, conn, room);
    });
  }
  return seq;
}

/**
 * The local half of a join: the uWS topic, presence, the join event. Returns false if the
 * connection was already in the room (or is not open).
 */
export function enterRoom(ctx: ServerContext, conn: Conn, room: string): boolean {
  const ws = conn.ws;
  if (ws === undefined || conn.closed || inRoom(conn, room)) return false;
  ws.subscribe(topicFor(room, conn.encoding));
  // The room table's copy of the name (uWS has just reported the subscription): the members of a
  // room then share one string instead of holding one each, here and in presence.
  room = ctx.rooms.get(room)?.name ?? room;
  addRoom(conn, room);
  const userId = conn.identity?.userId ?? '';
  ctx.presence.add(room, conn.id, userId);
  if (ctx.presenceRooms.matches(room)) ctx.broker.announce({ room, action: 'join', userId, connId: conn.id });
  return true;
}

/**
 * Takes `conn` out of `room`. Returns false if it was not in it. On close uWS has already
 * dropped the topics, so `unsubscribe` is false there.
 */
export function leaveRoom(ctx: ServerContext, conn: Conn, room: string, unsubscribe = true): boolean {
  if (!removeRoom(conn, room)) return false;
  if (unsubscribe && conn.ws !== undefined && !conn.closed) conn.ws.unsubscribe(topicFor(room, conn.encoding));
  ctx.presence.remove(room, conn.id);
  if (ctx.presenceRooms.matches(room)) ctx.broker.announce({ room, action: 'leave', userId: conn.identity?.userId ?? '', connId: conn.id });
  return true;
}

/** Takes a closing connection out of all its rooms. */
export function leaveAll(ctx: ServerContext, conn: Conn): void {
  for (const room of roomsOf(conn)) leaveRoom(ctx, conn, room, false);
}
