/**
 * One run: a scenario on one peer, from an empty machine back to an empty machine.
 *
 *   1. start the server in its own process, note its RSS
 *   2. receiver processes open every member socket (spread over 127.0.0.x source addresses)
 *   3. the publisher process opens one member socket per room
 *   4. publish on schedule: warm-up (discarded), then the measured windows back to back;
 *      CPU of every process is read at each window boundary
 *   5. wait for the deliveries still on their way (bounded), collect the receivers' reports
 *   6. stop everything (SIGTERM, then SIGKILL), whatever happened
 */
import type { MemberEncoding } from '../loadgen/dialect.js';
import type { FromPublisher, FromReceiver, ServerAddress } from '../loadgen/ipc.js';
import { nowNs } from '../loadgen/payload.js';
import { LoadgenProcess } from './loadgen-process.js';
import { cpuBetween, readProc } from './procstat.js';
import { Schedule } from './schedule.js';
import { startServer, type ServerProcess } from './server-process.js';
import { decodePercentiles, medianWindow } from './stats.js';
import { nativeProgram } from '../native/build.js';
import type { PeerName, ReceiverKind, RunResult, Scenario, Timing } from '../types.js';
import { type Snapshot, snapshot, windowResults } from './windows.js';

/** Source addresses for member sockets (the publisher uses 127.0.0.1). */
const MEMBER_ADDRESSES = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);
/** Most sockets one process may hold here (open-file limit 20000, see ../shared/NOTES.md). */
export const MAX_SOCKETS_PER_PROCESS = 19_900;
const HANDSHAKES_IN_FLIGHT = 64;
/** Time between telling the publisher to start and the first publish. */
const LEAD_NS = 300_000_000n;

/** How to run one run. */
export interface RunOptions {
  scenario: Scenario;
  peer: PeerName;
  timing: Timing;
  /** Receiver processes; 0 picks one per {@link MAX_SOCKETS_PER_PROCESS} sockets. */
  receivers: number;
  /** Which receiver holds the member sockets: the C one, or the Node one. */
  receiver: ReceiverKind;
  /** Profile the server's CPU into this directory. */
  cpuProfDir?: string | undefined;
  /** Progress lines for a human. */
  progress: (line: string) => void;
}

interface Member {
  room: number;
  encoding: MemberEncoding;
}

/** Members of every room, in room order: which room and which encoding each socket takes. */
export function members(s: Scenario): Member[] {
  const out: Member[] = [];
  for (let room = 0; room < s.rooms; room++) {
    for (let m = 0; m < s.membersPerRoom; m++) {
      // JSON members spread evenly through the room: member m is JSON when the running share
      // crosses an integer at m.
      const json = Math.floor((m + 1) * s.jsonShare) > Math.floor(m * s.jsonShare);
      out.push({ room, encoding: json ? 'json' : 'proto' });
    }
  }
  return out;
}

/** Whether `peer` can run `scenario` at all (JSON members are a roomcast feature). */
export function supports(peer: PeerName, scenario: Scenario): boolean {
  return scenario.jsonShare === 0 || peer === 'roomcast';
}

function emptyResult(sockets: number, procs: number): RunResult {
  return {
    status: 'ok',
    sockets,
    receiverProcesses: procs,
    connectSeconds: 0,
    windows: [],
    median: -1,
    server: { baselineRss: 0, peakRss: 0, rssPerConnection: 0, cpu: { user: 0, system: 0 } },
    publisher: { latenessUs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, count: 0 }, errors: 0 },
    closes: {},
    memberErrors: 0,
    lost: 0,
  };
}

function addCloses(into: Record<string, number>, from: Record<string, number>): void {
  for (const [code, n] of Object.entries(from)) into[code] = (into[code] ?? 0) + n;
}

/** Step 2: every member socket, interleaved over the receivers so each holds a share of every room. */
async function connectMembers(
  o: RunOptions,
  address: ServerAddress,
  all: Member[],
  receivers: Array<LoadgenProcess<FromReceiver>>,
  procs: number,
): Promise<void> {
  const connected = new Array<number>(procs).fill(0);
  const show = throttled(() => o.progress(`connected ${sum(connected)}/${all.length} sockets`));
  const answers = [];
  let binary: string | undefined;
  if (o.receiver === 'c') {
    const build = nativeProgram('receiver');
    if (!build.ok) throw new Error(build.problem);
    binary = build.path;
  }
  for (let r = 0; r < procs; r++) {
    const proc = new LoadgenProcess<FromReceiver>('receiver', `${o.receiver === 'c' ? 'C ' : ''}receiver ${r}`, binary);
    receivers.push(proc);
    proc.onProgress = (m) => {
      connected[r] = m.connected;
      show();
    };
    const mine = all.filter((_, i) => i % procs === r);
    // Every receiver may use every address: the kernel gives each bind its own free port.
    const command = { type: 'connect', server: address, members: mine, localAddresses: MEMBER_ADDRESSES, concurrency: HANDSHAKES_IN_FLIGHT } as const;
    answers.push(proc.ask(command, 'connected', 60_000 + mine.length * 20));
  }
  const done = await Promise.all(answers);
  const failed = sum(done.map((d) => d.failed));
  if (failed > 0) throw new Error(`${failed} of ${all.length} sockets failed to connect; first error: ${String(done.find((d) => d.firstError)?.firstError)}`);
}

/** Runs once. Never throws: a failure is a result with status `failed`. */
export async function runOnce(o: RunOptions): Promise<RunResult> {
  const s = o.scenario;
  const all = members(s);
  const procs = o.receivers > 0 ? o.receivers : Math.max(1, Math.ceil(all.length / MAX_SOCKETS_PER_PROCESS));
  const result = emptyResult(all.length, procs);
  if (!supports(o.peer, s)) return { ...result, status: 'failed', note: `${o.peer} cannot run ${s.id}` };
  if (Math.ceil(all.length / procs) > MAX_SOCKETS_PER_PROCESS) {
    return { ...result, status: 'failed', note: `more than ${MAX_SOCKETS_PER_PROCESS} sockets per receiver process: use more receivers` };
  }

  let server: ServerProcess | undefined;
  const receivers: Array<LoadgenProcess<FromReceiver>> = [];
  let publisher: LoadgenProcess<FromPublisher> | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    // 1-3. Server, members, publisher.
    server = await startServer(o.peer, { cpuProfDir: o.cpuProfDir });
    const address = { host: server.host, port: server.port, peer: o.peer };
    const started = readProc(server.pid);
    result.server.baselineRss = started?.rss ?? 0;
    const t0 = performance.now();
    await connectMembers(o, address, all, receivers, procs);
    result.connectSeconds = (performance.now() - t0) / 1000;
    o.progress(`connected ${all.length} sockets in ${result.connectSeconds.toFixed(1)} s`);
    // Let the server settle (GC, deferred frees) before reading its memory with every socket open.
    await sleep(300);
    result.server.rssPerConnection = Math.max(0, ((readProc(server.pid)?.rss ?? 0) - result.server.baselineRss) / all.length);
    publisher = new LoadgenProcess<FromPublisher>('publisher', 'publisher');
    await publisher.ask({ type: 'connect', server: address, rooms: s.rooms, localAddress: '127.0.0.1' }, 'connected', 30_000);

    // 4. Publish on schedule, reading every process's CPU as each window begins.
    const schedule = new Schedule(s, o.timing, BigInt(Math.round(nowNs())) + LEAD_NS);
    for (const r of receivers) r.send({ type: 'measure', from: schedule.warmup, perWindow: schedule.perWindow, windows: schedule.windows });
    const pids = { server: server.pid, receivers: receivers.map((r) => r.pid), publisher: publisher.pid };
    const samples: Snapshot[] = [];
    for (let w = 0; w < schedule.windows; w++) {
      const at = schedule.dueNs(schedule.windowStart(w));
      timers.push(setTimeout(() => samples.push(snapshot(pids)), Math.max(0, (at - nowNs()) / 1e6)));
    }
    const showSent = throttled((sent: number) => o.progress(`published ${sent}/${schedule.total} (${s.rate}/s)`));
    publisher.onProgress = (m) => showSent(m.sent);
    const plan = {
      type: 'publish',
      startNs: schedule.startNs.toString(),
      rate: s.rate,
      total: schedule.total,
      burst: s.burst,
      payloadBytes: s.payloadBytes,
    } as const;
    const published = await publisher.ask(plan, 'done', (schedule.total / s.rate) * 1000 + 60_000);
    result.publisher.latenessUs = decodePercentiles(published.lateness);
    result.publisher.errors = published.errors;
    addCloses(result.closes, published.closes);

    // 5. Drain: until every expected delivery arrived or the deadline passed.
    const expected = schedule.expectedMeasured();
    const deadline = performance.now() + o.timing.drainSec * 1000;
    for (;;) {
      const counts = await Promise.all(receivers.map((r) => r.ask({ type: 'count' }, 'count', 10_000)));
      if (sum(counts.map((c) => c.received)) >= expected || performance.now() > deadline) break;
      await sleep(50);
    }
    for (const t of timers) clearTimeout(t);
    while (samples.length <= schedule.windows) samples.push(snapshot(pids));
    const drained = readProc(server.pid);
    result.server.peakRss = drained?.peakRss ?? 0;
    result.server.cpu = cpuBetween(started, drained);
    const reports = await Promise.all(receivers.map((r) => r.ask({ type: 'report' }, 'report', 30_000)));
    for (const rep of reports) {
      result.memberErrors += rep.errors;
      if (rep.firstReadError !== undefined) result.note ??= `a member could not read a frame: ${rep.firstReadError}`;
      addCloses(result.closes, rep.closes);
    }
    result.windows = windowResults(schedule, reports, samples);
    result.lost = sum(result.windows.map((w) => Math.max(0, w.expected - w.delivered)));
    result.median = medianWindow(result.windows);
  } catch (err) {
    result.status = 'failed';
    result.note = (err as Error).message.split('\n').slice(0, 6).join('\n');
  } finally {
    // 6. Stop everything.
    for (const t of timers) clearTimeout(t);
    await Promise.all([publisher?.stop(), ...receivers.map((r) => r.stop())]);
    await server?.stop();
  }
  return result;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Calls `f` at most once a second (the first call always). */
function throttled<A extends unknown[]>(f: (...args: A) => void): (...args: A) => void {
  let last = -Infinity;
  return (...args) => {
    const now = performance.now();
    if (now - last < 1000) return;
    last = now;
    f(...args);
  };
}
