/**
 * The slow-consumer policy, applied by a periodic check (uWS.js v20.30 has no per-message
 * drop callback, so the server looks at send buffers instead).
 *
 * Under `close` the check must see a stalled reader between half of maxBackpressure (where it
 * closes with 4000, and the close frame still fits) and the full limit (where uWS cuts the socket
 * itself, 1006). At 2 MB/s into one socket that window is about a quarter of a second, so there
 * are two tiers: a full scan every `slowConsumerCheckMs` (250 ms by default; one native call per
 * connection, 2.5-4 ms per scan at 19,800 idle sockets here, 1.0-1.7 % of a core) and, for the few
 * connections a scan finds over an eighth of the limit, a re-check every WATCH_MS until they
 * drain or are closed. A reader escapes to 1006 only by growing its buffer from under an eighth
 * to the full limit between two full scans (3.5 MB/s with the defaults). Nothing of this runs on
 * the publish path.
 */
import { closeConn } from './close.js';
import type { Conn } from './connections.js';
import type { ServerContext } from './context.js';

/** How often connections on the watch list are looked at again. */
export const WATCH_MS = 10;
/**
 * At most this many connections are watched: under a heavy fan-out many healthy readers hold
 * some backlog for a moment, and re-checking all of them every WATCH_MS would cost more than it
 * saves; past the cap, connections wait for the next full scan.
 */
export const MAX_WATCHED = 1024;

/** The running check; `stop` clears its timers. */
export interface SlowConsumerCheck {
  /** One full scan (what the timer runs). */
  scan(): void;
  stop(): void;
}

/** Starts the check for a server (see the module comment). */
export function startSlowConsumerCheck(ctx: ServerContext): SlowConsumerCheck {
  const { maxBackpressure, slowConsumer, maxFrameBytes, slowConsumerCheckMs } = ctx.config;
  const closeAt = maxBackpressure / 2;
  const watchAt = maxBackpressure / 8;
  const watched = new Set<Conn>();
  let watchTimer: NodeJS.Timeout | undefined;

  /** Applies the policy to one connection; true while it should stay watched. */
  const check = (conn: Conn): boolean => {
    const ws = conn.ws;
    if (ws === undefined || conn.closed) return false;
    const buffered = ws.getBufferedAmount();
    if (slowConsumer === 'close') {
      if (buffered > closeAt) {
        ctx.log.info({ conn: conn.id, buffered }, 'closing slow consumer');
        closeConn(ctx, conn, 'slow_consumer', 'slow consumer: send buffer over limit');
        return false;
      }
      return buffered > watchAt;
    }
    if (buffered >= maxBackpressure - maxFrameBytes) {
      if (!conn.slow) {
        conn.slow = true;
        ctx.stats.slowConsumerEpisodes += 1;
        ctx.log.info({ conn: conn.id, buffered }, 'slow consumer: messages are being dropped');
      }
    } else {
      conn.slow = false;
    }
    return false;
  };

  const watch = (): void => {
    watchTimer = undefined;
    for (const conn of watched) if (!check(conn)) watched.delete(conn);
    if (watched.size > 0) watchTimer = setTimeout(watch, WATCH_MS);
  };

  const scan = (): void => {
    for (const conn of ctx.conns.values()) if (check(conn) && watched.size < MAX_WATCHED) watched.add(conn);
    if (watched.size > 0 && watchTimer === undefined) watchTimer = setTimeout(watch, WATCH_MS);
  };

  const timer = setInterval(scan, slowConsumerCheckMs);
  return {
    scan,
    stop() {
      clearInterval(timer);
      if (watchTimer !== undefined) clearTimeout(watchTimer);
      watchTimer = undefined;
      watched.clear();
    },
  };
}
