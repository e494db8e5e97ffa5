/**
 * The Redis broker's delivery order (src/broker/redis-repair.ts) with fake reads: every seq once,
 * in order; gaps filled from the stream; what cannot be filled announced with a reset.
 */
import assert from 'node:assert/strict';
import { ErrorCode, ProtocolError } from '../../src/protocol/errors.js';
import { describe, it } from 'node:test';
import type { StreamPosition } from '../../src/broker/broker.js';
import { DeliveryOrder, type RoomEvent } from '../../src/broker/redis-repair.js';

const ev = (seq: number, epoch = 'E1', room = 'r'): RoomEvent => ({ room, epoch, seq, excludeSelf: false, connId: 'c', encoded: new Uint8Array([seq]) });

/** A fake whose reads resolve when the test says so. */
function harness(stored = new Map<string, RoomEvent[]>()) {
  const log: string[] = [];
  const reads: Array<() => void> = [];
  let position: StreamPosition = { epoch: 'E1', seq: 0 };
  let failReads = false;
  const order = new DeliveryOrder({
    deliver: (e) => log.push(`${e.epoch}:${e.seq}`),
    reset: (room, p) => log.push(`reset ${room} ${p.epoch}:${p.seq}`),
    fetch: (room, epoch, from, to) =>
      new Promise((resolve, reject) => {
        log.push(`fetch ${epoch} ${from}..${to}`);
        reads.push(() =>
          failReads ? reject(new Error('down')) : resolve((stored.get(epoch) ?? []).filter((e) => e.room === room && e.seq >= from && e.seq <= to)),
        );
      }),
    position: (_room, delivered) =>
      new Promise((resolve) => {
        if (delivered !== undefined) log.push(`position behind ${delivered.epoch}:${delivered.seq}`);
        reads.push(() => resolve(position.epoch === delivered?.epoch && position.seq < delivered.seq ? (position = { epoch: 'E7', seq: 0 }) : position));
      }),
    failed: (_err, room, what) => log.push(`failed ${room} ${what}`),
  });
  const settle = async (): Promise<void> => {
    while (reads.length > 0) {
      (reads.shift() as () => void)();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
  };
  return {
    order,
    log,
    settle,
    setPosition: (p: StreamPosition) => (position = p),
    setFail: (f: boolean) => (failReads = f),
  };
}

describe('DeliveryOrder', () => {
  it('delivers in order and drops duplicates', () => {
    const { order, log } = harness();
    order.open('r');
    order.baseline('r', { epoch: 'E1', seq: 4 });
    for (const s of [5, 6, 6, 4, 7]) order.event(ev(s));
    assert.deepEqual(log, ['E1:5', 'E1:6', 'E1:7']);
    assert.equal(order.counters.duplicates, 2);
  });

  it('fills a gap from the stream before the event, and holds later events meanwhile', async () => {
    const { order, log, settle } = harness(new Map([['E1', [ev(2), ev(3), ev(4)]]]));
    order.open('r');
    order.event(ev(1));
    order.event(ev(5));
    order.event(ev(6));
    order.event(ev(4));
    assert.deepEqual(log, ['E1:1', 'fetch E1 2..4']);
    await settle();
    assert.deepEqual(log, ['E1:1', 'fetch E1 2..4', 'E1:2', 'E1:3', 'E1:4', 'E1:5', 'E1:6']);
    assert.deepEqual(order.counters, { gaps: 1, repairedEvents: 3, resets: 0, duplicates: 1, lateReads: 0 });
  });

  it('announces what the stream no longer has, then delivers the rest', async () => {
    const { order, log, settle } = harness(new Map([['E1', [ev(4), ev(5)]]]));
    order.open('r');
    order.baseline('r', { epoch: 'E1', seq: 1 });
    order.event(ev(6));
    await settle();
    assert.deepEqual(log, ['fetch E1 2..5', 'reset r E1:3', 'E1:4', 'E1:5', 'E1:6']);
  });

  it('a failed read is announced as a reset, never skipped silently', async () => {
    const h = harness();
    h.setFail(true);
    h.order.open('r');
    h.order.event(ev(1));
    h.order.event(ev(9));
    await h.settle();
    assert.deepEqual(h.log, ['E1:1', 'fetch E1 2..8', 'failed r gap repair', 'reset r E1:8', 'E1:9']);
  });

  it('a new epoch: reset, then what the new stream has, then the event', async () => {
    const { order, log, settle } = harness(new Map([['E2', [ev(1, 'E2'), ev(2, 'E2')]]]));
    order.open('r');
    order.event(ev(7));
    order.event(ev(3, 'E2'));
    await settle();
    order.event(ev(1, 'E3'));
    assert.deepEqual(log, ['E1:7', 'fetch E2 1..2', 'reset r E2:0', 'E2:1', 'E2:2', 'E2:3', 'reset r E3:0', 'E3:1']);
    assert.equal(order.counters.resets, 2);
  });

  it('check after a resubscribe: catches up a quiet room, or announces its reset', async () => {
    const h = harness(new Map([['E1', [ev(3), ev(4)]]]));
    h.order.open('r');
    h.order.event(ev(2));
    h.setPosition({ epoch: 'E1', seq: 4 });
    h.order.check('r');
    h.order.event(ev(5));
    await h.settle();
    assert.deepEqual(h.log, ['E1:2', 'fetch E1 3..4', 'E1:3', 'E1:4', 'E1:5']);
    h.log.length = 0;
    h.setPosition({ epoch: 'E9', seq: 0 });
    h.order.check('r');
    await h.settle();
    h.order.event(ev(1, 'E9'));
    assert.deepEqual(h.log, ['reset r E9:0', 'E9:1']);
    h.log.length = 0;
    h.setPosition({ epoch: 'E9', seq: 1 });
    h.order.check('r');
    await h.settle();
    assert.deepEqual(h.log, [], 'nothing new: nothing happens');
  });

  it('check: Redis went back in time under the same epoch -> a new epoch, announced', async () => {
    const h = harness();
    h.order.open('r');
    h.order.baseline('r', { epoch: 'E1', seq: 5 });
    h.setPosition({ epoch: 'E1', seq: 2 });
    h.order.check('r');
    h.order.event(ev(3));
    await h.settle();
    h.order.event(ev(1, 'E7'));
    assert.deepEqual(h.log, ['position behind E1:5', 'reset r E7:0', 'E7:1'], 'the reused seq 3 is not delivered as new; the new epoch is');
  });

  it('caughtUp waits until delivery reaches a position read elsewhere', async () => {
    const { order } = harness();
    order.open('r');
    order.event(ev(1));
    await order.caughtUp('r', { epoch: 'E1', seq: 1 });
    await order.caughtUp('r', { epoch: 'E2', seq: 0 });
    let done = false;
    const waiting = order.caughtUp('r', { epoch: 'E1', seq: 3 }).then(() => (done = true));
    order.event(ev(2));
    await Promise.resolve();
    assert.equal(done, false);
    order.event(ev(3));
    await waiting;
    const closed = order.caughtUp('r', { epoch: 'E1', seq: 9 });
    order.close('r');
    await closed;
    assert.equal(order.counters.lateReads, 0);
  });

  it('caughtUp fails (ERROR_CODE_INTERNAL) rather than answer when delivery does not catch up in time', async () => {
    const order = new DeliveryOrder({
      deliver: () => {},
      reset: () => {},
      fetch: () => new Promise(() => {}),
      position: () => new Promise(() => {}),
      failed: () => {},
      catchUpMaxMs: 50,
    });
    order.open('r');
    order.event(ev(1));
    await assert.rejects(
      order.caughtUp('r', { epoch: 'E1', seq: 5 }),
      (err: Error) => err instanceof ProtocolError && err.code === ErrorCode.ERROR_CODE_INTERNAL,
    );
    assert.equal(order.counters.lateReads, 1);
    order.close('r');
  });

  it('a room closed during a read delivers nothing more', async () => {
    const { order, log, settle } = harness(new Map([['E1', [ev(2)]]]));
    order.open('r');
    order.event(ev(1));
    order.event(ev(3));
    order.close('r');
    await settle();
    order.event(ev(4));
    assert.deepEqual(log, ['E1:1', 'fetch E1 2..2']);
  });
});
