/**
 * Logs a Redis outage as an outage: once when it starts (with the first error), then a count of
 * the operations that failed every `everyMs`, then once when Redis is back. During an outage
 * every publish fails; logging each with its stack buried the logs (114 lines in 5 s).
 */
import type { Logger } from '../log.js';

/** Thrown by the Redis broker while Redis is unreachable; already logged by the broker. */
export class RedisUnavailableError extends Error {
  /** Tells callers not to log it again. */
  readonly reported = true;
  constructor(cause: unknown) {
    super('Redis is unavailable', { cause });
    this.name = 'RedisUnavailableError';
  }
}

/** Whether an error from ioredis means the connection is down (not a bad command). */
export function isConnectionError(err: unknown, status: string): boolean {
  if (status !== 'ready') return true;
  const message = err instanceof Error ? err.message : String(err);
  return /connection|stream isn't writeable|ECONN|EPIPE|socket|CLUSTERDOWN|TRYAGAIN|Cluster isn't ready|Too many Cluster redirections|refresh slots cache|startup nodes/i.test(
    message,
  );
}

/** One outage at a time. */
export class OutageLog {
  private since = 0;
  private failed = 0;
  private total = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly everyMs = 10_000,
  ) {}

  /** Whether an outage is going on. */
  get down(): boolean {
    return this.since !== 0;
  }

  /** Counts a failed operation; the first of an outage is logged with its error. */
  fail(err: unknown, what: string): void {
    this.failed += 1;
    this.total += 1;
    if (this.since !== 0) return;
    this.since = Date.now();
    this.log.error({ err, what }, 'Redis is unavailable: publishes and joins fail until it is back');
    this.timer = setInterval(() => {
      this.report();
    }, this.everyMs);
    this.timer.unref();
  }

  private report(): void {
    if (this.failed === 0) return;
    this.log.warn(
      { failed: this.failed, downSec: Math.round((Date.now() - this.since) / 1000) },
      `${String(this.failed)} operations failed while Redis is unavailable`,
    );
    this.failed = 0;
  }

  /** Redis answers again. */
  up(): void {
    if (this.since === 0) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.log.warn(
      { failed: this.total, downSec: Math.round((Date.now() - this.since) / 1000) },
      `Redis is back; ${String(this.total)} operations failed while it was unavailable`,
    );
    this.since = 0;
    this.failed = 0;
    this.total = 0;
  }

  /** Stops the periodic report. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
