/**
 * The rate limit's arithmetic on a simulated clock: the flood window and the per-address memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configFrom } from '../../src/config.js';
import { AddressLimits } from '../../src/server/address-limits.js';
import { freshRateState, refuseAndCheck, takeToken } from '../../src/server/rate-limit.js';

const config = configFrom({});

/** Feeds frames at `perSec` for `ms`; returns when (ms) the flood test fired, or -1. */
function simulate(perSec: number, ms: number, pattern: (t: number) => number = () => perSec): number {
  const s = freshRateState(config, 0);
  let owed = 0;
  for (let t = 0; t < ms; t++) {
    owed += pattern(t) / 1000;
    for (; owed >= 1; owed--) {
      if (takeToken(config, s, t)) continue;
      if (refuseAndCheck(config, s, t).flooding) return t;
    }
  }
  return -1;
}

describe('the flood window', () => {
  it('5,000 frames/s against 100/s fires well within 2 s', () => {
    const at = simulate(5000, 10_000);
    assert.ok(at >= 0 && at < 2000, `fired at ${at} ms`);
  });

  it('1.1x the limit for a minute, or bursts of 1.1x the bucket, never fire', () => {
    assert.equal(simulate(110, 60_000), -1);
    // 220 frames at once (1.1x the bucket of 200) every 2 s, nothing between.
    assert.equal(
      simulate(0, 60_000, (t) => (t % 2000 === 0 ? 220_000 : 0)),
      -1,
    );
  });

  it('twice the limit, sustained, fires (half the frames refused)', () => {
    assert.ok(simulate(250, 20_000) >= 0);
  });
});

describe('AddressLimits', () => {
  it('connect-rate bucket: the burst, then the rate', () => {
    const limits = new AddressLimits(configFrom({ maxConnectsPerIpPerSec: 2, connectBurstPerIp: 3 }));
    assert.deepEqual(
      [0, 1, 2, 3].map(() => limits.allowConnect('a', 0)),
      [true, true, true, false],
    );
    assert.equal(limits.allowConnect('b', 0), true, 'per address');
    assert.equal(limits.allowConnect('a', 400), false);
    assert.equal(limits.allowConnect('a', 500), true, 'one more after 1/2 s');
    assert.equal(new AddressLimits(configFrom({ maxConnectsPerIpPerSec: 0 })).allowConnect('a', 0), true, '0 = off');
  });

  it('remembers a spent bucket until it would be full again; keeps the emptier of two', () => {
    const limits = new AddressLimits(config);
    const spent = { ...freshRateState(config, 0), tokens: 0 };
    limits.remember('a', spent, 0);
    assert.ok(limits.startState('a', 0).tokens < 1);
    assert.equal(Math.round(limits.startState('b', 0).tokens), config.rateLimitBurst, 'other addresses start full');
    limits.remember('a', freshRateState(config, 100), 100);
    assert.ok(limits.startState('a', 100).tokens < 1, 'a fresh state does not overwrite a spent one');
    // 200 tokens at 100/s: full after 2 s, then forgotten.
    assert.equal(limits.size.rates, 1);
    assert.equal(limits.startState('a', 2001).tokens, config.rateLimitBurst);
    assert.equal(limits.size.rates, 0);
  });

  it('holds at most maxEntries addresses, dropping the least recently written', () => {
    const limits = new AddressLimits(config, 3);
    for (const a of ['a', 'b', 'c', 'd']) limits.remember(a, { ...freshRateState(config, 0), tokens: 0 }, 0);
    assert.equal(limits.size.rates, 3);
    assert.equal(limits.startState('a', 0).tokens, config.rateLimitBurst, 'a was dropped');
    assert.ok(limits.startState('d', 0).tokens < 1);
  });
});
