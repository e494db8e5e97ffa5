/**
 * The token-expiry watch: one timer for every connection, filed by the second its token expires.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Expiries } from '../../src/server/auth/expiries.js';

interface Item {
  name: string;
  expiresAtSec: number;
}

function setUp(startMs: number): { clock: { ms: number }; expired: string[]; watch: Expiries<Item> } {
  const clock = { ms: startMs };
  const expired: string[] = [];
  const watch = new Expiries<Item>(
    (item) => expired.push(item.name),
    () => clock.ms,
    60_000,
  );
  return { clock, expired, watch };
}

const item = (name: string): Item => ({ name, expiresAtSec: 0 });

describe('Expiries', () => {
  it('hands out items once their second has begun, several per second, none twice', () => {
    const { clock, expired, watch } = setUp(100_000);
    const [a, b, c] = [item('a'), item('b'), item('c')];
    watch.set(a, 102);
    watch.set(b, 102);
    watch.set(c, 105);
    assert.equal(watch.size, 3);
    clock.ms = 101_999;
    watch.tick();
    assert.deepEqual(expired, []);
    clock.ms = 102_000;
    watch.tick();
    assert.deepEqual(expired.sort(), ['a', 'b']);
    assert.equal(a.expiresAtSec, 0);
    clock.ms = 110_000;
    watch.tick();
    watch.tick();
    assert.deepEqual(expired.sort(), ['a', 'b', 'c']);
    assert.equal(watch.size, 0);
    watch.stop();
  });

  it('forgets removed items and moves re-filed ones (a refresh)', () => {
    const { clock, expired, watch } = setUp(100_000);
    const [a, b, c] = [item('a'), item('b'), item('c')];
    watch.set(a, 101);
    watch.set(b, 101);
    watch.set(c, 101);
    watch.remove(b);
    watch.set(c, 200);
    assert.equal(c.expiresAtSec, 200);
    clock.ms = 150_000;
    watch.tick();
    assert.deepEqual(expired, ['a']);
    assert.equal(watch.size, 1);
    watch.remove(c);
    assert.equal(watch.size, 0);
    clock.ms = 300_000;
    watch.tick();
    assert.deepEqual(expired, ['a']);
    watch.stop();
  });

  it('an expiry already past goes out with the next tick; 0 files nothing', () => {
    const { clock, expired, watch } = setUp(100_500);
    const [a, b] = [item('a'), item('b')];
    watch.set(a, 50);
    watch.set(b, 0);
    assert.equal(watch.size, 1);
    clock.ms = 101_000;
    watch.tick();
    assert.deepEqual(expired, ['a']);
    watch.stop();
  });
});
