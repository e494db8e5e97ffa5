/**
 * The bench profiles: which scenarios at which sizes, and how long each phase lasts.
 *
 * quick (the default) fits in about five minutes on a 2-core machine; full goes up to the most
 * sockets one server process can hold here (about 19k, open-file limit 20000) and adds 4 KB
 * payloads; smoke is the test suite's: a few sockets, well under a second of publishing.
 * Rates derive from one target of deliveries per second, so sizes are comparable. 50k/s keeps
 * bare uWS about a third of a core busy here (loopback TCP costs ~5 µs of kernel time per send)
 * and the receivers about half of one: enough headroom on 2 cores that the tail latency is the
 * server's, not a starved machine's. The `ws` and Socket.IO peers saturate well before that in
 * some scenarios, which is the point.
 *
 * The capacity part (`--capacity`; full runs it after the comparison) climbs instead: from 10k
 * deliveries/s, x1.5 a step, at most 14 steps (up to ~1.9M deliveries/s), until a peer stops
 * keeping up.
 *
 * The recovery storm (`--scenario storm`; full runs it) drops every member of one room at once
 * and has them rejoin with `since`: 10k sockets in full, on the memory broker and on Redis.
 */
import { type PeerName, PEERS, type StormBroker, type Timing } from './types.js';

/** A profile's defaults; every one can be overridden by a flag. */
export interface Profile {
  /** Member counts of the one-room fan-out. */
  fanout: number[];
  /** [rooms, members per room] of the many-rooms scenario. */
  rooms: Array<[number, number]>;
  /** Member counts of the half-JSON room. */
  mixed: number[];
  /** [members, publishes per write] of the burst scenario. */
  burst: Array<[number, number]>;
  /** Target deliveries per second, from which each scenario's publish rate follows. */
  deliveriesPerSec: number;
  payloads: number[];
  timing: Timing;
  /** tinybench time budget per micro-benchmark task, ms. */
  microTimeMs: number;
  peers: PeerName[];
  /** The capacity part (`--capacity`, and in full): which scenarios, from what load, how far. */
  capacity: {
    /** Whether the profile runs it next to the fixed-rate comparison. */
    part: boolean;
    /** Scenario ids it steps through, unless --scenario or --sockets choose. */
    scenarios: string[];
    startDeliveries: number;
    steps: number;
  };
  /** The recovery storm (roomcast only): whether the profile runs it, its sizes and brokers. */
  storm: { part: boolean; sockets: number[]; brokers: StormBroker[] };
}

const ALL_PEERS: PeerName[] = [...PEERS];

/** The profiles by name. */
export const PROFILES = {
  quick: {
    fanout: [1000, 5000, 10_000],
    rooms: [[100, 100]],
    mixed: [1000],
    burst: [[1000, 20]],
    deliveriesPerSec: 50_000,
    payloads: [64],
    timing: { warmupSec: 0.5, windowSec: 1.5, windows: 1, runs: 3, drainSec: 3 },
    microTimeMs: 250,
    peers: ALL_PEERS,
    capacity: { part: false, scenarios: ['fanout-1k', 'fanout-10k', 'rooms-100x100'], startDeliveries: 10_000, steps: 14 },
    storm: { part: false, sockets: [2000], brokers: ['memory', 'redis'] },
  },
  full: {
    fanout: [1000, 5000, 10_000, 19_000],
    rooms: [
      [100, 100],
      [1000, 10],
    ],
    mixed: [5000],
    burst: [[5000, 50]],
    deliveriesPerSec: 50_000,
    payloads: [64, 4096],
    timing: { warmupSec: 2, windowSec: 5, windows: 1, runs: 3, drainSec: 10 },
    microTimeMs: 1000,
    peers: ALL_PEERS,
    capacity: { part: true, scenarios: ['fanout-1k', 'fanout-10k', 'rooms-100x100', 'burst-5kx50'], startDeliveries: 10_000, steps: 14 },
    storm: { part: true, sockets: [10_000], brokers: ['memory', 'redis'] },
  },
  smoke: {
    fanout: [4],
    rooms: [[2, 3]],
    mixed: [4],
    burst: [[4, 5]],
    deliveriesPerSec: 200,
    payloads: [64],
    timing: { warmupSec: 0.2, windowSec: 0.5, windows: 1, runs: 1, drainSec: 3 },
    microTimeMs: 20,
    peers: ALL_PEERS,
    capacity: { part: false, scenarios: ['fanout-4'], startDeliveries: 200, steps: 2 },
    storm: { part: false, sockets: [6], brokers: ['memory', 'redis'] },
  },
} satisfies Record<string, Profile>;

/** A profile name. */
export type ProfileName = keyof typeof PROFILES;
