/**
 * The shapes the whole bench shares, and nothing else: the servers it measures, what a scenario
 * is and how a run plan looks, how long its phases last, and what one measured case (a scenario
 * on one peer) produced. The JSON results file is an array of {@link CaseResult} under
 * {@link BenchResults}. Imports nothing, so every part of the bench can stand on it.
 */

/** The servers the bench knows; each has a launcher (../servers/) and a dialect (../loadgen/). */
export type PeerName = 'roomcast' | 'uws' | 'ws' | 'socketio' | 'floor';

/** Every peer, in the order the bench runs and reports them. */
export const PEERS: readonly PeerName[] = ['roomcast', 'uws', 'ws', 'socketio', 'floor'];

/** Which receiver processes hold the member sockets: the C one (../native/receiver.c) or Node's. */
export type ReceiverKind = 'c' | 'node';

/** The scenario families, one file each in bench/scenarios/. */
export type ScenarioKind = 'fanout' | 'rooms' | 'mixed' | 'burst';

/**
 * How each family makes a scenario from its sizes and the target deliveries per second. The
 * runner (../run.ts) holds the one table of them; the flag parser is handed it.
 */
export interface ScenarioTable {
  /** One room of `sockets` members. */
  fanout(sockets: number, deliveriesPerSec: number, payloadBytes: number): Scenario;
  /** `rooms` rooms of `members` members each. */
  rooms(rooms: number, members: number, deliveriesPerSec: number, payloadBytes: number): Scenario;
  /** One room of `sockets` members, half of them taking JSON. */
  mixed(sockets: number, deliveriesPerSec: number, payloadBytes: number): Scenario;
  /** One room of `sockets` members, publishes `burst` to a write. */
  burst(sockets: number, burst: number, deliveriesPerSec: number, payloadBytes: number): Scenario;
}

/** One fan-out scenario, independent of the peer it runs on. */
export interface Scenario {
  /** Short id, e.g. `fanout-10k`, used in flags, tables and file names. */
  id: string;
  /** Which family it belongs to (one file each in bench/scenarios/). */
  kind: ScenarioKind;
  /** One line for the report. */
  title: string;
  rooms: number;
  membersPerRoom: number;
  /** Share of members that take JSON frames (roomcast only); 0 for all protobuf. */
  jsonShare: number;
  /** Publishes per second, over all rooms. */
  rate: number;
  /** Publishes per write (one loop iteration on the server); 1 for none. */
  burst: number;
  payloadBytes: number;
}

/** How long the phases of a run last, and how many runs a case has. */
export interface Timing {
  /** Publishing before measuring, discarded. */
  warmupSec: number;
  /** One measured window. */
  windowSec: number;
  /** Measured windows per run, back to back on the same connections. */
  windows: number;
  /**
   * Runs per case, each with a fresh server and fresh connections, interleaved with the other
   * peers' runs so that a noisy moment on the machine does not land on one peer only.
   */
  runs: number;
  /** After the last publish, how long to wait for deliveries still on their way. */
  drainSec: number;
}

/** Everything a bench run needs to know (../harness/options.ts makes it from the flags). */
export interface BenchPlan {
  /** The profile that gave the defaults (../profiles.ts). */
  profile: string;
  scenarios: Scenario[];
  peers: PeerName[];
  /** Whether --peer chose them (then a floor that does not build is an error, not left out). */
  peersChosen: boolean;
  timing: Timing;
  /** Receiver processes per case; 0 = one per 19,900 sockets. */
  receivers: number;
  /** Which receivers hold the member sockets (the runner falls back from C to Node without a compiler). */
  receiver: ReceiverKind;
  /** Whether --receiver chose it (then no fallback: a C receiver that does not build is an error). */
  receiverChosen: boolean;
  /** Whether to run the scenarios at their fixed rate, on every peer (the comparison). */
  cases: boolean;
  /** The capacity part, when it runs. */
  capacity: CapacityPlan | undefined;
  micro: 'on' | 'off' | 'only';
  microTimeMs: number;
  outDir: string;
  /** Profile roomcast's CPU during its largest scenario. */
  cpuProf: boolean;
  /** The recovery storm, when it runs (roomcast only). */
  storm: StormPlan | undefined;
}

/** Where the storm's roomcast keeps its rooms: one process in memory, or two sharing a Redis. */
export type StormBroker = 'memory' | 'redis';

/** The recovery storm (../harness/storm.ts): members dropped at once, rejoining with `since`. */
export interface StormPlan {
  /** Members of the one room, one storm per size and broker. */
  sockets: number[];
  brokers: StormBroker[];
  /** Publishes per second of the steady publisher; undefined derives it from deliveriesPerSec. */
  rate: number | undefined;
  deliveriesPerSec: number;
  payloadBytes: number;
  /** Steady publishing before the storm, s. */
  beforeSec: number;
  /** Receiver processes; 0 = one per 19,900 sockets. */
  receivers: number;
}

/** Request-to-reply latency of the storm's publisher in one phase, µs. */
export interface PhaseLatency {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

/** What the storm's member sockets counted (each member process reports these; the storm sums them). */
export interface StormCounts {
  /** Seqs some socket never got (both must be 0). */
  missing: number;
  duplicates: number;
  /** Rejoins that replayed what they missed; those that did not, by reason (e.g. too_old). */
  recovered: number;
  resync: Record<string, number>;
  /** Events replayed in all (JoinReply.missed summed). */
  replayed: number;
  /** StreamReset notices received. */
  resets: number;
  /** Error replies and unreadable frames on member sockets. */
  errors: number;
  /** Member sockets the server closed, by code (a drop is not counted). */
  closes: Record<string, number>;
}

/** One recovery storm. */
export interface StormResult extends StormCounts {
  /** e.g. `storm-10k-memory`. */
  id: string;
  sockets: number;
  broker: StormBroker;
  /** roomcast processes (2 on Redis: members spread over both, each rejoining on the other). */
  servers: number;
  receiverProcesses: number;
  /** Publishes per second. */
  rate: number;
  status: 'ok' | 'failed';
  note?: string | undefined;
  connectSeconds: number;
  /** From the drop to the last JoinReply. */
  rejoinSeconds: number;
  /** From the drop until every socket had the publisher's latest seq as of the storm's end (the last JoinReply). */
  caughtUpSeconds: number;
  /** That seq, and the last one published. */
  stormEndSeq: number;
  finalSeq: number;
  publish: { sent: number; errors: number; unanswered: number; before: PhaseLatency; during: PhaseLatency; after: PhaseLatency };
  /** Server processes' CPU from the drop to caught up (summed), s; their peak RSS (summed), bytes. */
  serverCpu: { user: number; system: number };
  serverPeakRss: number;
}

/** The capacity part: per scenario and peer, step the offered load up until the peer stops keeping up. */
export interface CapacityPlan {
  /** Scenarios to step through; their own rate is replaced by each step's. */
  scenarios: Scenario[];
  /** Offered deliveries per second of the first step. */
  startDeliveries: number;
  /** Each step offers this many times the last one's load. */
  factor: number;
  /** Most steps per scenario and peer. */
  steps: number;
  /** A step is held only with its p99 latency at or under this, ms. */
  sloMs: number;
}

/** One step of a capacity run: one run at one offered load. */
export interface CapacityStep {
  /** Publishes per second. */
  rate: number;
  /** Offered deliveries per second: publishes per second times the room's members. */
  offeredPerSec: number;
  /** Whether the peer kept up: p99 within the SLO, reach 100 %, delivered >= 95 % of offered. */
  held: boolean;
  /** Why it was not held. */
  why?: string | undefined;
  run: RunResult;
}

/** One scenario on one peer, stepped up. */
export interface CapacityResult {
  /** The scenario at its first step's rate. */
  scenario: Scenario;
  peer: PeerName;
  status: 'ok' | 'skipped';
  note?: string | undefined;
  steps: CapacityStep[];
  /** Index into `steps` of the knee, the highest offered load held; -1 if not even the first was. */
  knee: number;
}

/** Everything the capacity part produced. */
export interface CapacityResults {
  startDeliveries: number;
  factor: number;
  maxSteps: number;
  sloMs: number;
  results: CapacityResult[];
}

/** Percentiles of a latency distribution, µs. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  count: number;
}

/** One measured window of a case. */
export interface WindowResult {
  publishes: number;
  /** Deliveries there should have been: each publish times its room's members. */
  expected: number;
  delivered: number;
  /** delivered / expected. */
  reach: number;
  /** Delivery latency, from the intended send time to the arrival of the chunk holding it. */
  latencyUs: Percentiles;
  /** Per publish, the latency of its last delivery (publishes that reached every member). */
  completionUs: Percentiles;
  /** Publishes that did not reach every member. */
  incompletePublishes: number;
  /** Deliveries over the time from the window's first intended send to its last arrival. */
  deliveriesPerSec: number;
  /**
   * Deliveries per second the server sustained: deliveries over the time the window's publishes
   * were offered in, stretched by how fast their latency grew across the window (the
   * least-squares slope, ./harness/stats.ts `latencySlope`). Unlike `deliveriesPerSec` it
   * leaves out the latency of the window's last publish: a server that keeps up shows the
   * offered rate, whatever the window's length; one that falls behind, what it managed.
   */
  sustainedPerSec: number;
  seconds: number;
  serverCpu: { user: number; system: number };
  /** Server CPU seconds (user + system) per million deliveries. */
  serverCpuPerMillion: number;
  /** Load-generator CPU seconds in the window: receivers together, and the publisher. */
  loadgenCpu: { receivers: number; publisher: number };
}

/** One run: a scenario on one peer, with a fresh server and fresh connections. */
export interface RunResult {
  status: 'ok' | 'failed';
  /** Why it failed, or something a reader should know about it. */
  note?: string | undefined;
  sockets: number;
  receiverProcesses: number;
  connectSeconds: number;
  windows: WindowResult[];
  /** Index into `windows` of the median window (by p99 latency). */
  median: number;
  server: {
    /** RSS before any connection, bytes. */
    baselineRss: number;
    /** Peak RSS over the case, bytes. */
    peakRss: number;
    /** (RSS with every socket open - baseline) / sockets, bytes. */
    rssPerConnection: number;
    /** CPU seconds from listening to the end of the drain (connecting and publishing). */
    cpu: { user: number; system: number };
  };
  publisher: {
    /** How late publishes left against their schedule, µs (the load generator's own error). */
    latenessUs: Percentiles;
    /** Error replies to publishes (a server limit refusing the load, for instance). */
    errors: number;
  };
  /** Sockets the server closed before the end, by close code (4000 = slow consumer). */
  closes: Record<string, number>;
  /** Error frames received by members. */
  memberErrors: number;
  /** Deliveries missing after the drain: expected minus delivered over all measured windows. */
  lost: number;
}

/** A scenario on one peer: its runs, and which one is reported. */
export interface CaseResult {
  scenario: Scenario;
  peer: PeerName;
  timing: Timing;
  /** `failed` when any run failed; `skipped` when the peer cannot run the scenario. */
  status: 'ok' | 'failed' | 'skipped';
  note?: string | undefined;
  runs: RunResult[];
  /** Index into `runs` of the median run (by the p99 of its median window), the one reported. */
  median: number;
}

/** One codec or publish-path micro-benchmark. */
export interface MicroResult {
  name: string;
  opsPerSec: number;
  /** Relative margin of error of the mean, percent. */
  rme: number;
  samples: number;
  /** Bytes of the encoded message, where there is one. */
  bytes?: number | undefined;
}

/** The server CPU profile taken with --cpu-prof, from an extra run kept out of the comparison. */
export interface CpuProfileResult {
  scenario: string;
  /** The `.cpuprofile` file (open it in Chrome DevTools or speedscope). */
  file: string;
  /** The run the profile was taken in (its numbers carry the profiler's overhead). */
  run: RunResult;
  /** The text summary (./report/cpuprofile.ts). */
  summary: string;
}

/** Everything one `npm run bench` produced. */
export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  profile: string;
  machine: { node: string; cpus: string; cores: number; totalMemGiB: number; loadAverage: number[] };
  argv: string[];
  /** Which receivers held the member sockets. */
  receiver: ReceiverKind;
  /** Things a reader should know about the whole run (a fallback, a peer left out). */
  notes: string[];
  micro: MicroResult[];
  cases: CaseResult[];
  capacity?: CapacityResults | undefined;
  cpuProfile?: CpuProfileResult | undefined;
  /** Recovery storms (roomcast only), when they ran. */
  storm?: StormResult[] | undefined;
}
