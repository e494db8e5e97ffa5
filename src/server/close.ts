/**
 * Closing a connection on the server's initiative. Below everything that decides to close one
 * (commands, auth, admin, slow consumers), so none of them imports another to do it.
 */
import type { CloseCode } from '../protocol/errors.js';
import { CLOSE_REASONS, type CloseReason } from './close-reasons.js';
import type { Conn } from './connections.js';
import type { ServerContext } from './context.js';

/**
 * Closes an open connection on the server's initiative, counting why; the close code is the
 * reason's own unless `code` says otherwise.
 */
export function closeConn(ctx: ServerContext, conn: Conn, why: CloseReason, reason: string, code: CloseCode = CLOSE_REASONS[why].code): void {
  if (conn.closed || conn.ws === undefined) return;
  ctx.stats.closed[why] += 1;
  // Close reasons travel in the close frame, which allows 123 bytes.
  conn.ws.end(code, Buffer.byteLength(reason) > 123 ? `${reason.slice(0, 100)}…` : reason);
}
