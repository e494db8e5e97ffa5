/**
 * `npm run bench` flags: profiles give the scenarios, flags narrow or resize them, and bad
 * flags are refused with a message naming the flag.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions as parseWith, UsageError } from '../../bench/harness/options.js';
import { members } from '../../bench/harness/run-case.js';
import { SCENARIOS } from '../../bench/run.js';

const parseOptions = (argv: string[], out: string) => parseWith(argv, out, SCENARIOS);
const parse = (...argv: string[]) => {
  const plan = parseOptions(argv, '/tmp/out');
  assert.ok(plan);
  return plan;
};

describe('bench options', () => {
  it('the quick profile: every family, every peer, rates from one delivery target', () => {
    const p = parse();
    assert.deepEqual(
      p.scenarios.map((s) => s.id),
      ['fanout-1k', 'fanout-5k', 'fanout-10k', 'rooms-100x100', 'mixed-1k', 'burst-1kx20'],
    );
    assert.deepEqual(p.peers, ['roomcast', 'uws', 'ws', 'socketio', 'floor']);
    for (const s of p.scenarios.filter((x) => x.burst === 1)) assert.equal(s.rate * s.membersPerRoom, 50_000, s.id);
    assert.equal(p.micro, 'on');
    assert.deepEqual(p.timing, { warmupSec: 0.5, windowSec: 1.5, windows: 1, runs: 3, drainSec: 3 });
    assert.deepEqual(parse('--runs', '5', '--windows', '2', '--window', '0.5').timing, { warmupSec: 0.5, windowSec: 0.5, windows: 2, runs: 5, drainSec: 3 });
  });

  it('narrows and resizes with flags', () => {
    const p = parse('--scenario', 'fanout,burst', '--sockets', '200,19000', '--peer', 'uws,roomcast', '--payload', '64,4096', '--rate', '50', '--no-micro');
    assert.deepEqual(
      p.scenarios.map((s) => s.id),
      [
        'fanout-200-64B',
        'fanout-19k-64B',
        'burst-200x20-64B',
        'burst-19kx20-64B',
        'fanout-200-4096B',
        'fanout-19k-4096B',
        'burst-200x20-4096B',
        'burst-19kx20-4096B',
      ],
    );
    assert.ok(
      p.scenarios.every((s) => s.rate === (s.burst > 1 ? 60 : 50)),
      'rates round to whole bursts',
    );
    assert.deepEqual(p.peers, ['uws', 'roomcast']);
    assert.equal(p.micro, 'off');
    assert.deepEqual(
      parse('--scenario', 'fanout-5k').scenarios.map((s) => s.id),
      ['fanout-5k'],
    );
    assert.deepEqual(
      parse('--rooms', '10x3', '--scenario', 'rooms').scenarios.map((s) => [s.rooms, s.membersPerRoom]),
      [[10, 3]],
    );
  });

  it('refuses bad flags, naming them', () => {
    for (const [args, pattern] of [
      [['--profile', 'huge'], /--profile/],
      [['--peer', 'nginx'], /--peer: unknown peer nginx/],
      [['--rooms', '100'], /--rooms/],
      [['--payload', '8'], /--payload/],
      [['--scenario', 'nothing'], /--scenario: nothing matches/],
      [['--colour'], /colour/],
      [['--no-micro', '--micro-only'], /contradict/],
    ] as Array<[string[], RegExp]>) {
      assert.throws(
        () => parseOptions(args, '/tmp'),
        (e: unknown) => e instanceof UsageError && pattern.test(e.message),
        args.join(' '),
      );
    }
    assert.equal(parseOptions(['--help'], '/tmp'), undefined);
  });

  it('chooses the receiver and the capacity part', () => {
    const quick = parse();
    assert.equal(quick.receiver, 'c');
    assert.equal(quick.receiverChosen, false);
    assert.ok(quick.peers.includes('floor'));
    assert.equal(quick.capacity, undefined, 'quick has no capacity part');
    assert.equal(quick.cases, true);
    assert.equal(parse('--receiver', 'node').receiver, 'node');
    assert.equal(parse('--receiver', 'c').receiverChosen, true);

    const cap = parse('--capacity');
    assert.equal(cap.cases, false, '--capacity runs the capacity part only');
    assert.deepEqual(
      cap.capacity?.scenarios.map((s) => s.id),
      ['fanout-1k', 'fanout-10k', 'rooms-100x100'],
    );
    assert.deepEqual([cap.capacity.startDeliveries, cap.capacity.factor, cap.capacity.steps, cap.capacity.sloMs], [10_000, 1.5, 14, 250]);
    const narrowed = parse('--capacity', '--scenario', 'burst', '--sockets', '100', '--deliveries', '5000', '--steps', '3', '--slo-ms', '100');
    assert.deepEqual(
      narrowed.capacity?.scenarios.map((s) => s.id),
      ['burst-100x20'],
    );
    assert.deepEqual([narrowed.capacity.startDeliveries, narrowed.capacity.steps, narrowed.capacity.sloMs], [5000, 3, 100]);

    const full = parse('--profile', 'full');
    assert.equal(full.cases, true);
    assert.deepEqual(
      full.capacity?.scenarios.map((s) => s.id),
      ['fanout-1k-64B', 'fanout-10k-64B', 'rooms-100x100-64B', 'burst-5kx50-64B'],
    );
    assert.equal(parse('--profile', 'full', '--no-capacity').capacity, undefined);
  });

  it('refuses bad receiver and capacity flags', () => {
    for (const [args, pattern] of [
      [['--receiver', 'rust'], /--receiver: expected c or node/],
      [['--capacity', '--no-capacity'], /contradict/],
      [['--steps', '3'], /capacity flags: add --capacity/],
      [['--capacity', '--steps', '0'], /--steps/],
      [['--capacity', '--slo-ms', 'soon'], /--slo-ms/],
    ] as Array<[string[], RegExp]>) {
      assert.throws(
        () => parseOptions(args, '/tmp'),
        (e: unknown) => e instanceof UsageError && pattern.test(e.message),
        args.join(' '),
      );
    }
  });

  it('chooses the recovery storm: alone, resized, by broker, in full', () => {
    assert.equal(parse().storm, undefined, 'quick has no storm unless asked');
    const alone = parse('--scenario', 'storm', '--sockets', '2000');
    assert.deepEqual(alone.scenarios, [], 'the storm alone: no fan-out case');
    assert.equal(alone.cases, false);
    const storm = alone.storm;
    assert.ok(storm);
    assert.deepEqual([storm.sockets, storm.brokers, storm.rate], [[2000], ['memory', 'redis'], undefined], 'the rate follows from the deliveries');
    assert.deepEqual(parse('--scenario', 'storm', '--broker', 'redis', '--rate', '40').storm?.brokers, ['redis']);
    assert.equal(parse('--scenario', 'storm', '--rate', '40').storm?.rate, 40);
    const both = parse('--scenario', 'fanout,storm', '--sockets', '100');
    assert.deepEqual(
      both.scenarios.map((s) => s.id),
      ['fanout-100'],
    );
    assert.equal(both.cases, true);
    assert.deepEqual(both.storm?.sockets, [100]);
    const full = parse('--profile', 'full');
    assert.deepEqual([full.storm?.sockets, full.storm?.beforeSec], [[10_000], 7], 'a storm as long as a case: warm-up and windows');
    assert.equal(parse('--profile', 'full', '--no-storm').storm, undefined);
    assert.equal(parse('--profile', 'full', '--scenario', 'fanout').storm, undefined);
    for (const [args, pattern] of [
      [['--scenario', 'storm', '--broker', 'etcd'], /--broker: expected memory or redis, got etcd/],
      [['--broker', 'redis'], /--broker is a storm flag/],
      [['--scenario', 'storm', '--no-storm'], /contradict/],
    ] as Array<[string[], RegExp]>) {
      assert.throws(
        () => parseOptions(args, '/tmp'),
        (e: unknown) => e instanceof UsageError && pattern.test(e.message),
        args.join(' '),
      );
    }
  });

  it('spreads JSON members evenly through a mixed room', () => {
    const m = members({ id: 'm', kind: 'mixed', title: '', rooms: 2, membersPerRoom: 4, jsonShare: 0.5, rate: 1, burst: 1, payloadBytes: 64 });
    assert.deepEqual(
      m.map((x) => `${x.room}${x.encoding.charAt(0)}`),
      ['0p', '0j', '0p', '0j', '1p', '1j', '1p', '1j'],
    );
  });
});
