/**
 * Closing a connection on the server's initiative. Below everything that decides to close one
 * (commands, auth, admin, slow consumers), so none of them imports another to do it.
 */
import type { Conn } from './connections.js';
import type { ServerContext } from './context.js';
import type { CloseReason } from './stats.js';

/** Closes an open connection on the server's initiative, counting why. */
export function closeConn(ctx: ServerContext, conn: Conn, code: number, reason: string, why: CloseReason): void {
  if (conn.closed || conn.ws === undefined) return;
  ctx.stats.closed[why] += 1;
  // Close reasons travel in the close frame, which allows 123 bytes.
  conn.ws.end(code, Buffer.byteLength(reason) > 123 ? `${reason.slice(0, 100)}…` : reason);
}
