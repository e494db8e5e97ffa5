/**
 * Reconnect delays: exponential backoff with jitter, so that thousands of clients dropped by one
 * server restart do not all come back in the same millisecond.
 */

/** How reconnect attempts are spaced. */
export interface BackoffOptions {
  /** Delay before the first attempt after a connection is lost. Default 250 ms. */
  initialDelayMs: number;
  /** The delay never grows beyond this. Default 15 s. */
  maxDelayMs: number;
  /** Each failed attempt multiplies the delay by this. Default 2. */
  factor: number;
  /**
   * Fraction of the delay that is random, 0-1: the delay is drawn from
   * `[d * (1 - jitter), d]`. Default 0.5.
   */
  jitter: number;
}

/** The defaults of {@link BackoffOptions}. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialDelayMs: 250,
  maxDelayMs: 15_000,
  factor: 2,
  jitter: 0.5,
});

/**
 * The delay before reconnect attempt `attempt` (0 for the first after a loss). `random` returns
 * a number in [0, 1); tests pass a fixed one.
 */
export function backoffDelay(attempt: number, o: Readonly<BackoffOptions>, random: () => number = Math.random): number {
  // Capping the exponent keeps factor ** attempt finite however long the outage lasts.
  const exp = Math.min(attempt, 64);
  const capped = Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** exp);
  return Math.round(capped * (1 - o.jitter * random()));
}

/** Throws a TypeError naming the first option that is out of range. */
export function checkBackoff(o: Readonly<BackoffOptions>): void {
  if (!(o.initialDelayMs >= 0)) throw new TypeError(`reconnect.initialDelayMs must be >= 0, got ${o.initialDelayMs}`);
  if (!(o.maxDelayMs >= o.initialDelayMs)) throw new TypeError(`reconnect.maxDelayMs must be >= initialDelayMs, got ${o.maxDelayMs}`);
  if (!(o.factor >= 1)) throw new TypeError(`reconnect.factor must be >= 1, got ${o.factor}`);
  if (!(o.jitter >= 0 && o.jitter <= 1)) throw new TypeError(`reconnect.jitter must be within 0-1, got ${o.jitter}`);
}
