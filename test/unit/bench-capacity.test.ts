/**
 * The capacity part's arithmetic: the steps' rates (x1.5, whole bursts, always rising), when a
 * step counts as held, how a growing latency says a server fell behind, and the C receiver's
 * answers turned into the runner's messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { notHeld, rateFor, stepRates } from '../../bench/harness/capacity.js';
import { fromNative, nativeCommand } from '../../bench/harness/native-receiver.js';
import { decodePercentiles, latencySlope } from '../../bench/harness/stats.js';
import type { RunResult, Scenario, WindowResult } from '../../bench/types.js';

const scenario = (membersPerRoom: number, burst = 1): Scenario => ({
  id: 's',
  kind: 'fanout',
  title: '',
  rooms: 1,
  membersPerRoom,
  jsonShare: 0,
  rate: 1,
  burst,
  payloadBytes: 64,
});

describe('bench capacity steps', () => {
  it('offers x1.5 a step in whole bursts, always more than the last step', () => {
    assert.equal(rateFor(scenario(1000), 10_000), 10);
    assert.deepEqual(stepRates(scenario(1000), { startDeliveries: 10_000, factor: 1.5, steps: 5 }), [10, 15, 23, 34, 51]);
    // 10k members at 10k deliveries/s: 1 publish/s; rounding alone would repeat 2 publishes/s.
    assert.deepEqual(stepRates(scenario(10_000), { startDeliveries: 10_000, factor: 1.5, steps: 5 }), [1, 2, 3, 4, 5]);
    assert.deepEqual(stepRates(scenario(100, 20), { startDeliveries: 2000, factor: 1.5, steps: 4 }), [20, 40, 60, 80]);
  });

  it('holds a step only within the SLO, at full reach, sustaining 95 % of the offered load', () => {
    const window = (over: Partial<WindowResult>): WindowResult =>
      ({
        latencyUs: { p50: 1000, p90: 0, p99: 100_000, p999: 0, max: 0, count: 1 },
        reach: 1,
        expected: 100,
        delivered: 100,
        sustainedPerSec: 10_000,
        ...over,
      }) as WindowResult;
    const run = (w: WindowResult, status: 'ok' | 'failed' = 'ok'): RunResult =>
      ({ status, note: status === 'failed' ? 'server exited\nstack' : undefined, windows: [w], median: 0 }) as RunResult;
    assert.equal(notHeld(run(window({})), 10_000, 250), undefined);
    assert.match(
      notHeld(run(window({ latencyUs: { p50: 1, p90: 1, p99: 300_000, p999: 1, max: 1, count: 1 } })), 10_000, 250) ?? '',
      /p99 300\.0 ms over the 250 ms SLO/,
    );
    assert.match(notHeld(run(window({ reach: 0.99, delivered: 99 })), 10_000, 250) ?? '', /reach 99\.00 % \(1 deliveries missing\)/);
    assert.match(notHeld(run(window({ sustainedPerSec: 9000 })), 10_000, 250) ?? '', /sustained 9000 of 10000/);
    assert.equal(notHeld(run(window({ sustainedPerSec: 9600 })), 10_000, 250), undefined);
    assert.equal(notHeld(run(window({ sustainedPerSec: 0 })), 10_000, 250), undefined, 'a window of one burst has no rate to judge');
    assert.equal(notHeld(run(window({}), 'failed'), 10_000, 250), 'failed: server exited');
  });
});

describe('bench C receiver protocol', () => {
  it('sends commands as lines, member paths and subprotocols included', () => {
    const connect = nativeCommand({
      type: 'connect',
      server: { host: '127.0.0.1', port: 9000, peer: 'roomcast' },
      members: [
        { room: 0, encoding: 'proto' },
        { room: 1, encoding: 'json' },
      ],
      localAddresses: ['127.0.0.2', '127.0.0.3'],
      concurrency: 64,
    });
    assert.equal(connect, 'connect 127.0.0.1 9000 roomcast 64 127.0.0.2,127.0.0.3 2\n/rooms/r0 roomcast.v1.proto\n/rooms/r1 roomcast.v1.json\n');
    const raw = nativeCommand({
      type: 'connect',
      server: { host: '127.0.0.1', port: 1, peer: 'floor' },
      members: [{ room: 3, encoding: 'proto' }],
      localAddresses: ['127.0.0.2'],
      concurrency: 1,
    });
    assert.equal(raw, 'connect 127.0.0.1 1 raw 1 127.0.0.2 1\n/rooms/r3 -\n');
    assert.equal(nativeCommand({ type: 'measure', from: 5, perWindow: 10, windows: 2 }), 'measure 5 10 2\n');
    assert.equal(nativeCommand({ type: 'report' }), 'report\n');
    assert.equal(nativeCommand({ type: 'publish', startNs: '0', rate: 1, total: 1, burst: 1, payloadBytes: 16 }), undefined);
  });

  it('turns its report into the Node receiver report, latencies into an HdrHistogram', () => {
    const m = fromNative(
      '{"type":"report","windows":[{"received":3,"latency":[[100,2],[5000,1]],"counts":[2,1],"lastUs":[100,5000],"lastArrivalNs":20}],"unmeasured":4,"closes":{"4000":1},"errors":0,"firstReadError":null}',
    );
    assert.equal(m.type, 'report');
    const [w] = m.windows;
    assert.ok(w);
    const p = decodePercentiles(w.histogram);
    assert.equal(p.count, 3);
    assert.equal(p.p50, 100);
    assert.ok(Math.abs(p.max - 5000) <= 5, String(p.max));
    assert.deepEqual([w.received, w.counts, w.lastUs, w.lastArrivalNs], [3, [2, 1], [100, 5000], 20]);
    assert.equal(m.firstReadError, undefined);
    assert.deepEqual(m.closes, { 4000: 1 });
    assert.deepEqual(fromNative('{"type":"count","received":7}'), { type: 'count', received: 7 });
  });
});

describe('bench latency slope', () => {
  const due = (k: number): number => 1e12 + k * 10_000_000; // every 10 ms
  it('is 0 for a server that keeps up, 1/f - 1 for one that delivers a fraction f', () => {
    assert.equal(
      latencySlope(
        due,
        Float64Array.from({ length: 50 }, () => 3000),
      ),
      0,
    );
    // Delivering at 4/5 of the offered rate: each publish waits 2.5 ms more than the last.
    const behind = Float64Array.from({ length: 50 }, (_, k) => 1000 + k * 2500);
    assert.ok(Math.abs(latencySlope(due, behind) - 0.25) < 1e-9);
  });

  it('is moved little by one late publish at the end, and skips publishes nobody got', () => {
    const late = Float64Array.from({ length: 100 }, (_, k) => (k === 99 ? 150_000 : 2000));
    assert.ok(latencySlope(due, late) < 0.01, String(latencySlope(due, late)));
    assert.ok(Math.abs(latencySlope(due, Float64Array.from([1000, 0, 3000])) - 0.1) < 1e-9);
    assert.equal(latencySlope(due, Float64Array.from([5000])), 0);
  });
});
