/**
 * How the bench counts: a receiver's recorder sorts deliveries into warm-up and measured
 * windows, and the runner's merge turns several receivers' reports into reach, latency
 * percentiles and fan-out completion times; the median window is the middle one by p99.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { medianRun, medianWindow, mergeWindow } from '../../bench/harness/stats.js';
import type { RunResult, WindowResult } from '../../bench/types.js';
import { DeliveryRecorder } from '../../bench/loadgen/recorder.js';

const MS = 1_000_000;

describe('bench delivery recorder', () => {
  it('records measured windows, skips the rest, and merges across receivers', () => {
    // Publishes 0-1 are warm-up; windows are [2, 5) and [5, 8); each publish goes to 2 members,
    // one per receiver.
    const plan = { from: 2, perWindow: 3, windows: 2 };
    const a = new DeliveryRecorder(plan);
    const b = new DeliveryRecorder(plan);
    const at = (index: number, latencyMs: number): [{ timeNs: number; index: number; room: number }, number] => [
      { timeNs: 1e12, index, room: 0 },
      1e12 + latencyMs * MS,
    ];
    for (let i = 0; i < 9; i++) a.record(...at(i, 1 + i));
    // Receiver b misses publish 4 and is slow on publish 6.
    for (let i = 0; i < 9; i++) if (i !== 4) b.record(...at(i, i === 6 ? 50 : 1));
    assert.equal(a.measured, 6);
    assert.equal(a.unmeasured, 3);

    const [a0, a1] = a.report();
    const [b0, b1] = b.report();
    assert.ok(a0 && a1 && b0 && b1);
    assert.deepEqual(a0.counts, [1, 1, 1]);
    assert.deepEqual(b0.counts, [1, 1, 0]);

    const w0 = mergeWindow([a0, b0], 3, () => 2);
    assert.equal(w0.delivered, 5);
    assert.equal(w0.incompletePublishes, 1);
    assert.equal(w0.completionUs.count, 2);
    assert.equal(w0.lastArrivalNs, 1e12 + 5 * MS); // receiver a, publish 4, 5 ms

    const w1 = mergeWindow([a1, b1], 3, () => 2);
    assert.equal(w1.delivered, 6);
    assert.equal(w1.incompletePublishes, 0);
    // Completion of publish 6 is the slow member's 50 ms; the worst delivery is the same one.
    assert.ok(Math.abs(w1.completionUs.max - 50_000) <= 50, String(w1.completionUs.max));
    assert.ok(Math.abs(w1.latencyUs.max - 50_000) <= 50);
    assert.ok(Math.abs(w1.latencyUs.p50 - 6000) <= 10, String(w1.latencyUs.p50));
  });
});

describe('bench median window', () => {
  const w = (p99: number): WindowResult => ({ latencyUs: { p50: 0, p90: 0, p99, p999: 0, max: 0, count: 1 } }) as WindowResult;
  it('is the middle window by p99, the lower middle for an even count', () => {
    assert.equal(medianWindow([w(30), w(10), w(20)]), 2);
    assert.equal(medianWindow([w(30), w(10), w(20), w(40)]), 2);
    assert.equal(medianWindow([w(5)]), 0);
    assert.equal(medianWindow([]), -1);
  });
});

describe('bench median run', () => {
  const run = (status: 'ok' | 'failed', ...p99s: number[]): RunResult => {
    const windows = p99s.map((p99) => ({ latencyUs: { p50: 0, p90: 0, p99, p999: 0, max: 0, count: 1 } }) as WindowResult);
    return { status, windows, median: medianWindow(windows) } as RunResult;
  };
  it("is the middle successful run by its median window's p99", () => {
    assert.equal(medianRun([run('ok', 50, 10, 30), run('ok', 5), run('ok', 80, 90, 100)]), 0);
    assert.equal(medianRun([run('failed'), run('ok', 7), run('ok', 3)]), 2);
    assert.equal(medianRun([run('failed')]), -1);
  });
});
