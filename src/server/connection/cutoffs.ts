/**
 * Connections uWS ends by itself, before (or instead of) any handler of ours: it sends no close
 * frame, so the client sees 1006, and the server only learns of it in the close handler, as code
 * 1006 with uWS's reason text. uWS.js v20.30 has no option to hand these cases to the server
 * (e.g. its UTF-8 check of text frames runs before the message handler), so the server cannot
 * answer them with an error or choose the close code; it can tell them apart and count them.
 */

/** Why uWS cut a connection (a label of roomcast_cutoffs_total). */
export type CutoffCause = 'invalid_utf8' | 'frame_too_big' | 'idle_timeout' | 'bad_frame' | 'lost';

/** uWS's reason texts (v20.30, WebSocketProtocol.h), by cause. */
const REASONS: ReadonlyMap<string, CutoffCause> = new Map([
  ['Received invalid UTF-8', 'invalid_utf8'],
  ['Received too big message', 'frame_too_big'],
  ['WebSocket timed out from inactivity', 'idle_timeout'],
  ['Received invalid WebSocket frame', 'bad_frame'],
  ['Received invalid close payload', 'bad_frame'],
  ['Received too big message, or other inflation error', 'frame_too_big'],
]);

/**
 * The cause of a 1006 close from its reason text. No reason (`lost`) means the peer went away
 * without a close frame (reset, FIN) or uWS dropped the socket at the full maxBackpressure.
 */
export function cutoffCause(reason: ArrayBuffer): CutoffCause {
  if (reason.byteLength === 0) return 'lost';
  return REASONS.get(Buffer.from(reason).toString('latin1')) ?? 'bad_frame';
}
