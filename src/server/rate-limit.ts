/**
 * The per-connection frame rate limit: a token bucket (rateLimitPerSec, rateLimitBurst), and the
 * flooding test that closes a connection with 4501 when, over the last floodWindowMs, at least
 * maxRateLimited frames were refused and they were more than floodRefusedPercent of its frames.
 *
 * The window is the usual two-counter approximation of a sliding window: counts for the current
 * period and the one before, the older one weighted by how much of it still lies in the window.
 * Five numbers per connection, no arrays, no timers.
 */
import type { Config } from '../config.js';

/** A connection's rate state (kept in its Conn). Times are performance.now() milliseconds. */
export interface RateState {
  /** Tokens left, and when they were last refilled. */
  tokens: number;
  refilledAt: number;
  /** Start of the current window period, and its accepted and refused frames. */
  periodStart: number;
  accepted: number;
  refused: number;
  /** Accepted and refused frames of the period before. */
  prevAccepted: number;
  prevRefused: number;
}

type Limits = Pick<Config, 'rateLimitPerSec' | 'rateLimitBurst' | 'maxRateLimited' | 'floodWindowMs' | 'floodRefusedPercent'>;

/** A fresh rate state with a full bucket. */
export function freshRateState(config: Limits, now: number): RateState {
  return { tokens: config.rateLimitBurst, refilledAt: now, periodStart: now, accepted: 0, refused: 0, prevAccepted: 0, prevRefused: 0 };
}

/** Tokens in the bucket at `now` (refilled, not taken). */
export function tokensAt(config: Limits, s: RateState, now: number): number {
  return Math.min(config.rateLimitBurst, s.tokens + ((now - s.refilledAt) * config.rateLimitPerSec) / 1000);
}

/** Moves the window's periods forward to `now`; returns the weight of the previous period. */
function roll(config: Limits, s: RateState, now: number): number {
  const w = config.floodWindowMs;
  const elapsed = now - s.periodStart;
  if (elapsed >= w) {
    const stale = elapsed >= 2 * w;
    s.prevAccepted = stale ? 0 : s.accepted;
    s.prevRefused = stale ? 0 : s.refused;
    s.accepted = 0;
    s.refused = 0;
    s.periodStart = now - (elapsed % w);
  }
  return 1 - (now - s.periodStart) / w;
}

/** Takes one token for a frame; false when the bucket is empty (the frame is refused). */
export function takeToken(config: Limits, s: RateState, now: number): boolean {
  s.tokens = tokensAt(config, s, now);
  s.refilledAt = now;
  roll(config, s, now);
  if (s.tokens < 1) return false;
  s.tokens -= 1;
  s.accepted += 1;
  return true;
}

/**
 * Counts a refused frame; true when the connection is flooding: at least maxRateLimited refused
 * frames in the window, and more than floodRefusedPercent of its frames there.
 */
export function refuseAndCheck(config: Limits, s: RateState, now: number): { flooding: boolean; refused: number; total: number } {
  const weight = roll(config, s, now);
  s.refused += 1;
  const refused = s.refused + s.prevRefused * weight;
  const total = refused + s.accepted + s.prevAccepted * weight;
  const flooding = refused >= config.maxRateLimited && refused * 100 > config.floodRefusedPercent * total;
  return { flooding, refused: Math.round(refused), total: Math.round(total) };
}
