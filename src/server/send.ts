/**
 * Outbound frames to one connection, in its encoding. Used by commands, the open handshake and
 * the admin API; fan-out to rooms goes through uWS topics instead (see fanout.ts).
 */
import { encodeJson, encodeServerFrameProto } from '../protocol/codec.js';
import type { ServerMessage } from '../protocol/types.js';
import type { Conn } from './connections.js';

/** Sends one message on an open connection (inside a uWS callback, where sockets are corked). */
export function send(conn: Conn, message: ServerMessage): void {
  if (conn.closed || conn.ws === undefined) return;
  if (conn.encoding === 'proto') conn.ws.send(encodeServerFrameProto(message), true);
  else conn.ws.send(encodeJson('ServerMessage', message), false);
}

/** Sends from outside a uWS callback (after a promise): corks so the frame goes out in one write. */
export function sendLater(conn: Conn, message: ServerMessage): void {
  const ws = conn.ws;
  if (conn.closed || ws === undefined) return;
  ws.cork(() => send(conn, message));
}
