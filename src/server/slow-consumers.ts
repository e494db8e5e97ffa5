/**
 * The slow-consumer policy, applied by a periodic check (uWS.js v20.30 has no per-message
 * drop callback, so the server looks at send buffers instead).
 */
import { closeConn } from './close.js';
import type { ServerContext } from './context.js';

/**
 * Looks for connections that fall behind. Under `close`, one over half of maxBackpressure is
 * closed with 4000 (uWS itself cuts one that reaches the full limit between checks); under
 * `drop`, one at the limit is missing messages (uWS skips it), which is counted and logged once
 * per episode. One native call per connection per check, off the publish path.
 */
export function checkSlowConsumers(ctx: ServerContext): void {
  const { maxBackpressure, slowConsumer, maxFrameBytes } = ctx.config;
  const closeAt = maxBackpressure / 2;
  for (const conn of ctx.conns.values()) {
    const ws = conn.ws;
    if (ws === undefined) continue;
    const buffered = ws.getBufferedAmount();
    if (slowConsumer === 'close') {
      if (buffered > closeAt) {
        ctx.log.info({ conn: conn.id, buffered }, 'closing slow consumer');
        closeConn(ctx, conn, 'slow_consumer', 'slow consumer: send buffer over limit');
      }
    } else if (buffered >= maxBackpressure - maxFrameBytes) {
      if (!conn.slow) {
        conn.slow = true;
        ctx.stats.slowConsumerEpisodes += 1;
        ctx.log.info({ conn: conn.id, buffered }, 'slow consumer: messages are being dropped');
      }
    } else {
      conn.slow = false;
    }
  }
}
