/**
 * `npm run bench` flags -> what to run. A profile gives the defaults; each flag overrides one
 * part of it. Unknown flags and bad values are errors (exit code 2), never ignored. The scenario
 * families come from the runner's table (../run.ts), handed in.
 */
import { parseArgs } from 'node:util';
import { PROFILES, type ProfileName } from '../profiles.js';
import { type BenchPlan, type PeerName, PEERS, type Scenario, type ScenarioTable, type StormPlan, type Timing } from '../types.js';
import { MAX_SOCKETS_PER_PROCESS } from './run-case.js';

/** Thrown for a bad command line; the message says which flag. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Each capacity step offers this many times the last one's load. */
export const CAPACITY_FACTOR = 1.5;
/** The default latency SLO of a capacity step, ms. */
export const DEFAULT_SLO_MS = 250;

/** The help text. */
export const USAGE = `npm run bench -- [flags]

  --profile quick|full|smoke   defaults for everything below (quick: ~5 min on 2 cores)
  --scenario LIST    families or ids, comma-separated: fanout,rooms,mixed,burst,storm or e.g. fanout-10k
                     (storm: the recovery storm, roomcast only; --sockets sizes it, full runs it)
  --broker LIST      storm: memory,redis (default both; redis starts a redis-server and two roomcast processes)
  --no-storm         leave the recovery storm out of the full profile
  --peer LIST        ${PEERS.join(',')} (default: all; floor needs a C compiler)
  --sockets LIST     members of the one-room scenarios (fanout, mixed, burst), e.g. 1000,5000
  --rooms LIST       rooms x members of the many-rooms scenario, e.g. 100x100,1000x10
  --burst N          publishes per write in the burst scenario
  --deliveries N     target deliveries per second; each scenario's publish rate follows from it
  --rate N           publishes per second for every scenario (instead of --deliveries)
  --payload LIST     payload sizes in bytes (>= 16), e.g. 64,4096
  --runs N           runs per case, each with a fresh server, interleaved with the other peers'
  --windows N        measured windows per run
  --warmup S --window S --drain S   phase lengths in seconds
  --receivers N      receiver processes per case (default: one per ${MAX_SOCKETS_PER_PROCESS} sockets)
  --receiver c|node  the C receiver (default where \`cc\` builds it) or the Node one (the fallback)
  --capacity         the capacity part only: per scenario and peer, step the offered load up x${CAPACITY_FACTOR}
                     until the peer stops keeping up, and report the knee (full runs it after the comparison)
  --no-capacity      leave the capacity part out of the full profile
  --slo-ms N         capacity: a step is held only with p99 <= N ms (default ${DEFAULT_SLO_MS})
  --steps N          capacity: most steps per scenario and peer (default: the profile's, 14 in quick and full)
                     (the first step offers --deliveries; default 10000 in quick and full)
  --no-micro | --micro-only    skip the micro-benchmarks | run only them
  --cpu-prof         one extra roomcast run of the largest scenario under node --cpu-prof, summarised
  --out DIR          where results go (default bench/results)
  --help
`;

/** Parses the flags into a plan, making scenarios with `table`. Returns undefined for --help. */
export function parseOptions(argv: string[], defaultOut: string, table: ScenarioTable): BenchPlan | undefined {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help === true) return undefined;
  const profileName = (v.profile ?? 'quick') as ProfileName;
  if (!(profileName in PROFILES)) throw new UsageError(`--profile: expected ${Object.keys(PROFILES).join(', ')}, got ${profileName}`);
  const p = PROFILES[profileName];

  const peers = list(v.peer, [...p.peers], '--peer').map((x) => {
    if (!PEERS.includes(x as PeerName)) throw new UsageError(`--peer: unknown peer ${x} (known: ${PEERS.join(', ')})`);
    return x as PeerName;
  });
  const sockets = v.sockets === undefined ? undefined : numbers(v.sockets, '--sockets', 1);
  const rooms =
    v.rooms === undefined
      ? p.rooms
      : list(v.rooms, [], '--rooms').map((r) => {
          const m = /^(\d+)x(\d+)$/.exec(r);
          if (m === null) throw new UsageError(`--rooms: expected ROOMSxMEMBERS like 100x100, got ${r}`);
          return [Number(m[1]), Number(m[2])] as [number, number];
        });
  const burstSize = v.burst === undefined ? undefined : int(v.burst, '--burst', 1);
  const deliveries = v.deliveries === undefined ? p.deliveriesPerSec : int(v.deliveries, '--deliveries', 1);
  const payloads = v.payload === undefined ? p.payloads : numbers(v.payload, '--payload', 16);

  const scenarios: Scenario[] = [];
  for (const payload of payloads) {
    const tag = (s: Scenario): Scenario => (payloads.length > 1 || payload !== 64 ? { ...s, id: `${s.id}-${payload}B` } : s);
    for (const n of sockets ?? p.fanout) scenarios.push(tag(table.fanout(n, deliveries, payload)));
    for (const [r, m] of rooms) scenarios.push(tag(table.rooms(r, m, deliveries, payload)));
    for (const n of sockets ?? p.mixed) scenarios.push(tag(table.mixed(n, deliveries, payload)));
    const bursts: Array<[number, number]> = (sockets ?? p.burst.map(([n]) => n)).map((n, i) => [n, burstSize ?? p.burst[i]?.[1] ?? p.burst[0]?.[1] ?? 10]);
    for (const [n, b] of bursts) scenarios.push(tag(table.burst(n, b, deliveries, payload)));
  }
  const named = v.scenario === undefined ? undefined : list(v.scenario, [], '--scenario');
  const stormNamed = named?.includes('storm') === true;
  const wanted = named?.filter((w) => w !== 'storm');
  let chosen =
    wanted === undefined
      ? scenarios
      : scenarios.filter((s) => wanted.includes(s.kind) || wanted.includes(s.id) || wanted.some((w) => s.id.startsWith(`${w}-`) && w.includes('-')));
  if (wanted !== undefined && wanted.length > 0 && chosen.length === 0)
    throw new UsageError(`--scenario: nothing matches ${wanted.join(',')} (have: ${scenarios.map((s) => s.id).join(', ')})`);
  if (v.rate !== undefined) {
    const rate = int(v.rate, '--rate', 1);
    chosen = chosen.map((s) => ({ ...s, rate: Math.max(s.burst, Math.round(rate / s.burst) * s.burst) }));
  }

  const timing: Timing = {
    warmupSec: v.warmup === undefined ? p.timing.warmupSec : seconds(v.warmup, '--warmup', 0),
    windowSec: v.window === undefined ? p.timing.windowSec : seconds(v.window, '--window', 0.05),
    windows: v.windows === undefined ? p.timing.windows : int(v.windows, '--windows', 1),
    runs: v.runs === undefined ? p.timing.runs : int(v.runs, '--runs', 1),
    drainSec: v.drain === undefined ? p.timing.drainSec : seconds(v.drain, '--drain', 0.1),
  };
  if (v['no-micro'] === true && v['micro-only'] === true) throw new UsageError('--no-micro and --micro-only contradict each other');
  if (v.capacity === true && v['no-capacity'] === true) throw new UsageError('--capacity and --no-capacity contradict each other');
  if (v.receiver !== undefined && v.receiver !== 'c' && v.receiver !== 'node') throw new UsageError(`--receiver: expected c or node, got ${v.receiver}`);
  const capacityRuns = v.capacity === true || (p.capacity.part && v['no-capacity'] !== true);
  // The capacity part steps through the scenarios the flags chose, or the profile's set of them.
  const chosenByFlags = v.scenario !== undefined || v.sockets !== undefined || v.rooms !== undefined;
  const capacityScenarios = chosenByFlags ? chosen : chosen.filter((s) => p.capacity.scenarios.includes(s.id.replace(/-64B$/, '')));
  const capacity = capacityRuns
    ? {
        scenarios: capacityScenarios,
        startDeliveries: v.deliveries === undefined ? p.capacity.startDeliveries : deliveries,
        factor: CAPACITY_FACTOR,
        steps: v.steps === undefined ? p.capacity.steps : int(v.steps, '--steps', 1),
        sloMs: v['slo-ms'] === undefined ? DEFAULT_SLO_MS : int(v['slo-ms'], '--slo-ms', 1),
      }
    : undefined;
  if (capacity === undefined && (v.steps !== undefined || v['slo-ms'] !== undefined))
    throw new UsageError('--steps and --slo-ms are capacity flags: add --capacity');
  if (stormNamed && v['no-storm'] === true) throw new UsageError('--scenario storm and --no-storm contradict each other');
  const stormRuns = stormNamed || (named === undefined && p.storm.part && v['no-storm'] !== true && v.capacity !== true);
  const brokers = list(v.broker, [...p.storm.brokers], '--broker').map((b) => {
    if (b !== 'memory' && b !== 'redis') throw new UsageError(`--broker: expected memory or redis, got ${b}`);
    return b;
  });
  if (!stormRuns && v.broker !== undefined) throw new UsageError('--broker is a storm flag: add --scenario storm');
  const timingOf = {
    warmup: v.warmup === undefined ? p.timing.warmupSec : seconds(v.warmup, '--warmup', 0),
    window: v.window === undefined ? p.timing.windowSec : seconds(v.window, '--window', 0.05),
    windows: v.windows === undefined ? p.timing.windows : int(v.windows, '--windows', 1),
  };
  const storm: StormPlan | undefined = stormRuns
    ? {
        sockets: sockets ?? p.storm.sockets,
        brokers: [...new Set(brokers)],
        rate: v.rate === undefined ? undefined : int(v.rate, '--rate', 1),
        deliveriesPerSec: deliveries,
        payloadBytes: payloads[0] ?? 64,
        // The steady publishing before the drop: as long as a case's warm-up and windows.
        beforeSec: Math.max(1, timingOf.warmup + timingOf.window * timingOf.windows),
        receivers: v.receivers === undefined ? 0 : int(v.receivers, '--receivers', 1),
      }
    : undefined;
  return {
    profile: profileName,
    scenarios: chosen,
    peers,
    peersChosen: v.peer !== undefined,
    timing,
    receivers: v.receivers === undefined ? 0 : int(v.receivers, '--receivers', 1),
    receiver: v.receiver === 'node' ? 'node' : 'c',
    receiverChosen: v.receiver !== undefined,
    cases: v.capacity !== true && !(stormNamed && wanted?.length === 0),
    capacity,
    micro: v['micro-only'] === true ? 'only' : v['no-micro'] === true ? 'off' : 'on',
    microTimeMs: p.microTimeMs,
    outDir: v.out ?? defaultOut,
    cpuProf: v['cpu-prof'] === true,
    storm,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      profile: { type: 'string' },
      scenario: { type: 'string' },
      peer: { type: 'string' },
      sockets: { type: 'string' },
      rooms: { type: 'string' },
      burst: { type: 'string' },
      deliveries: { type: 'string' },
      rate: { type: 'string' },
      payload: { type: 'string' },
      warmup: { type: 'string' },
      window: { type: 'string' },
      windows: { type: 'string' },
      runs: { type: 'string' },
      drain: { type: 'string' },
      receivers: { type: 'string' },
      receiver: { type: 'string' },
      capacity: { type: 'boolean' },
      'no-capacity': { type: 'boolean' },
      'slo-ms': { type: 'string' },
      steps: { type: 'string' },
      'no-micro': { type: 'boolean' },
      'micro-only': { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      broker: { type: 'string' },
      'no-storm': { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
}

function list(value: string | undefined, fallback: string[], flag: string): string[] {
  if (value === undefined) return fallback;
  const items = value
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  if (items.length === 0) throw new UsageError(`${flag}: empty list`);
  return items;
}

function int(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag}: expected an integer >= ${min}, got ${value}`);
  return n;
}

function numbers(value: string, flag: string, min: number): number[] {
  return list(value, [], flag).map((x) => int(x, flag, min));
}

function seconds(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag}: expected seconds >= ${min}, got ${value}`);
  return n;
}
