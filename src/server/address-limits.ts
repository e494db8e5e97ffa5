/**
 * Limits kept per client address, across connections: how fast one address may open new
 * connections (a token bucket: connectBurstPerIp at once, maxConnectsPerIpPerSec after that), and
 * the frame-rate state of its closed connections, which its next connection starts from. Without
 * the second, a flooder closed with 4501 could reconnect and start over with a full bucket.
 *
 * Memory is bounded: an entry lives only until it no longer changes anything (the bucket would be
 * full again, the flood window has passed), and each map holds at most `maxEntries` addresses,
 * dropping the least recently written first.
 */
import type { Config } from '../config.js';
import { freshRateState, type RateState, tokensAt } from './rate-limit.js';

/** A map whose entries expire, holding at most `max` of them (least recently written go first). */
class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  constructor(private readonly max: number) {}

  get(key: string, now: number): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.max) {
      // Maps iterate in insertion order: the first key is the least recently written.
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt });
  }

  get size(): number {
    return this.entries.size;
  }
}

type Limits = Pick<
  Config,
  'rateLimitPerSec' | 'rateLimitBurst' | 'maxRateLimited' | 'floodWindowMs' | 'floodRefusedPercent' | 'maxConnectsPerIpPerSec' | 'connectBurstPerIp'
>;

/** Per-address connect-rate buckets and remembered frame-rate state. */
export class AddressLimits {
  private readonly connects: ExpiringMap<{ tokens: number; at: number }>;
  private readonly rates: ExpiringMap<RateState>;

  constructor(
    private readonly config: Limits,
    maxEntries = 50_000,
  ) {
    this.connects = new ExpiringMap(maxEntries);
    this.rates = new ExpiringMap(maxEntries);
  }

  /** Takes a connect token for `address`; false when it opens connections too fast. */
  allowConnect(address: string, now: number): boolean {
    const { maxConnectsPerIpPerSec: perSec, connectBurstPerIp: burst } = this.config;
    if (perSec === 0) return true;
    const b = this.connects.get(address, now);
    const tokens = b === undefined ? burst : Math.min(burst, b.tokens + ((now - b.at) * perSec) / 1000);
    if (tokens < 1) return false;
    const left = tokens - 1;
    // Forget the bucket once it would be full again: a fresh one is the same.
    this.connects.set(address, { tokens: left, at: now }, now + ((burst - left) * 1000) / perSec);
    return true;
  }

  /** The frame-rate state a new connection from `address` starts with (a copy; fresh if none). */
  startState(address: string, now: number): RateState {
    return this.keptState(address, now) ?? freshRateState(this.config, now);
  }

  /** A copy of the frame-rate state kept for `address`, or undefined (a fresh one would do). */
  keptState(address: string, now: number): RateState | undefined {
    const kept = this.config.rateLimitPerSec === 0 ? undefined : this.rates.get(address, now);
    return kept === undefined ? undefined : { ...kept };
  }

  /**
   * Keeps a closed connection's frame-rate state for its address, unless the address already has
   * a state with fewer tokens (several connections: the most used one counts).
   */
  remember(address: string, state: RateState, now: number): void {
    const { rateLimitPerSec: perSec, rateLimitBurst: burst, floodWindowMs } = this.config;
    if (perSec === 0) return;
    const tokens = tokensAt(this.config, state, now);
    const kept = this.rates.get(address, now);
    if (kept !== undefined && tokensAt(this.config, kept, now) <= tokens) return;
    const windowBusy = state.refused + state.prevRefused > 0;
    if (tokens >= burst && !windowBusy) return;
    const refillMs = ((burst - tokens) * 1000) / perSec;
    this.rates.set(address, { ...state, tokens, refilledAt: now }, now + Math.max(refillMs, windowBusy ? 2 * floodWindowMs : 0));
  }

  /** Addresses with state kept (for tests and metrics). */
  get size(): { connects: number; rates: number } {
    return { connects: this.connects.size, rates: this.rates.size };
  }
}
