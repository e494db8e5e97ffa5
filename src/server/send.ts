/**
 * Outbound frames to one connection, in its encoding.
 */
import { encodeServerFrame, type ServerMessage } from '../protocol/codec.js';
import type { Conn } from './connections.js';

/** Sends one message on an open connection (inside a uWS callback, where sockets are corked). */
export function send(conn: Conn, message: ServerMessage): void {
  if (conn.closed || conn.ws === undefined) return;
  conn.ws.send(encodeServerFrame(message, conn.encoding), conn.encoding === 'proto');
}

/** Sends from outside a uWS callback (after a promise): corks so the frame goes out in one write. */
export function sendLater(conn: Conn, message: ServerMessage): void {
  const ws = conn.ws;
  if (conn.closed || ws === undefined) return;
  ws.cork(() => send(conn, message));
}
