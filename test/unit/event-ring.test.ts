/**
 * The per-room event ring of the in-process broker: bounded by slots, frames kept intact across
 * wrap-around and growth, oldest first, copies on read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventRing } from '../../src/broker/event-ring.js';

function frame(seq: number, len: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (seq * 31 + i) & 0xff);
}

describe('EventRing', () => {
  it('keeps the last `size` events, oldest first, frames intact, through wrap-around and growth', () => {
    const ring = new EventRing(50);
    // Sizes vary so frames wrap around the byte storage at different points and force growth.
    const lens = (seq: number): number => 1 + ((seq * 97) % 700);
    for (let seq = 1; seq <= 1000; seq += 1) {
      ring.push(seq, frame(seq, lens(seq)), `c${seq % 3}`, seq % 5 === 0, seq * 10);
      const kept = ring.read(0);
      const first = Math.max(1, seq - 49);
      assert.deepEqual(
        kept.map((e) => e.seq),
        Array.from({ length: seq - first + 1 }, (_, i) => first + i),
        `after ${seq}`,
      );
      if (seq % 97 === 0) {
        for (const e of kept) {
          assert.deepEqual(e.frame, frame(e.seq, lens(e.seq)), `frame ${e.seq} intact`);
          assert.equal(e.connId, `c${e.seq % 3}`);
          assert.equal(e.excludeSelf, e.seq % 5 === 0);
        }
      }
    }
    assert.equal(ring.count, 50);
    assert.equal(ring.oldestTimeMs(), 951 * 10);
  });

  it('reads by age, shifts the oldest, and gives copies that later pushes do not change', () => {
    const ring = new EventRing(4);
    for (let seq = 1; seq <= 4; seq += 1) ring.push(seq, frame(seq, 10), '', false, seq * 100);
    assert.deepEqual(
      ring.read(250).map((e) => e.seq),
      [3, 4],
    );
    const copy = ring.read(0)[0];
    ring.shift();
    assert.deepEqual(
      ring.read(0).map((e) => e.seq),
      [2, 3, 4],
    );
    for (let seq = 5; seq <= 12; seq += 1) ring.push(seq, frame(seq, 10), '', false, seq * 100);
    assert.deepEqual(copy?.frame, frame(1, 10));
    assert.deepEqual(
      ring.read(0).map((e) => e.seq),
      [9, 10, 11, 12],
    );
  });

  it('starts empty and small, and clear gives the storage back', () => {
    const ring = new EventRing(100_000);
    assert.equal(ring.bytes, 0, 'a quiet room costs nothing');
    ring.push(1, frame(1, 100), '', false, 1);
    const bytes: number = ring.bytes; // typed: the assert above keeps ring.bytes at 0 for TypeScript
    assert.ok(bytes > 0 && bytes < 2048, `one event: ${bytes} bytes`);
    assert.equal(ring.oldestTimeMs(), 1);
    ring.clear();
    assert.equal(ring.bytes, 0);
    assert.equal(ring.count, 0);
    assert.equal(ring.oldestTimeMs(), Infinity);
    ring.push(2, frame(2, 5000), 'x', true, 2);
    assert.deepEqual(
      ring.read(0).map((e) => [e.seq, e.frame.length, e.connId, e.excludeSelf]),
      [[2, 5000, 'x', true]],
    );
  });
});
