/**
 * The recovery storm: N member sockets in one room with a steady publisher; every socket is
 * dropped at once (the load generator destroys them: no close frame, as after a network cut),
 * then each reconnects and rejoins with `since` (its last (epoch, seq)) and `previous_conn_id`.
 *
 *   1. roomcast: one process on the memory broker, or (Redis) a redis-server on a free port and
 *      two roomcast processes sharing it, members spread over both; history sized for ten
 *      minutes of the publisher's rate, so a storm never outruns it
 *   2. member processes (../loadgen/storm.ts) open every socket; the publisher opens one
 *   3. steady publishing (open loop, request-to-reply latency timed) for `beforeSec`
 *   4. the drop; every socket reconnects (on Redis to the other process: recovery across
 *      processes) and rejoins; the storm ends with the last JoinReply
 *   5. the publisher's latest acknowledged seq then is the target: the time until every socket
 *      had it is "caught up"
 *   6. a second more of publishing, stop, and every socket must end on the last seq: missing and
 *      duplicates are counted per socket against its own sequence
 *
 * Roomcast only: the peers have no recovery. Node member processes only: the C receiver does not
 * speak this scenario.
 */
import { randomBytes } from 'node:crypto';
import { startRedis, type TestRedis } from '../../test/redis-servers.js';
import type { FromStorm, ServerAddress } from '../loadgen/ipc.js';
import { nowNs } from '../loadgen/payload.js';
import type { StormBroker, StormPlan, StormResult } from '../types.js';
import { LoadgenProcess } from './loadgen-process.js';
import { cpuBetween, readProc } from './procstat.js';
import { MAX_SOCKETS_PER_PROCESS } from './run-case.js';
import { startServer, type ServerProcess } from './server-process.js';

const ROOM = 'storm';
const MEMBER_ADDRESSES = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);
/** Handshakes (and rejoins) in flight per member process. */
export const STORM_CONCURRENCY = 256;
/** Slowest and fastest steady publisher the storm derives from the target deliveries. */
const MIN_RATE = 10;
const MAX_RATE = 1000;
/** Publishing after the storm (the "after" latencies). */
const AFTER_MS = 1000;
/** Minutes of the publisher's rate each room's history holds. */
const HISTORY_SEC = 600;

/** The publisher's rate for `sockets` members. */
export function stormRate(plan: StormPlan, sockets: number): number {
  if (plan.rate !== undefined) return plan.rate;
  return Math.min(MAX_RATE, Math.max(MIN_RATE, Math.round(plan.deliveriesPerSec / sockets)));
}

/** The storm's id, e.g. `storm-10k-redis`. */
export function stormId(sockets: number, broker: StormBroker): string {
  const size = sockets >= 1000 && sockets % 1000 === 0 ? `${sockets / 1000}k` : String(sockets);
  return `storm-${size}-${broker}`;
}

/** The roomcast flags of a storm: history large enough for it, and the broker. */
export function stormFlags(rate: number, redisUrl: string | undefined, prefix: string): string[] {
  const size = Math.max(1000, Math.ceil(rate * HISTORY_SEC));
  const flags = ['--history', `*/${size}/${HISTORY_SEC}`];
  if (redisUrl !== undefined) flags.push('--broker', 'redis', '--redis-url', redisUrl, '--redis-prefix', prefix);
  return flags;
}

function emptyResult(id: string, sockets: number, broker: StormBroker, rate: number): StormResult {
  const none = { p50: 0, p99: 0, max: 0, count: 0 };
  return {
    id,
    sockets,
    broker,
    servers: broker === 'redis' ? 2 : 1,
    receiverProcesses: 0,
    rate,
    status: 'ok',
    connectSeconds: 0,
    rejoinSeconds: 0,
    caughtUpSeconds: 0,
    stormEndSeq: 0,
    finalSeq: 0,
    missing: 0,
    duplicates: 0,
    recovered: 0,
    resync: {},
    replayed: 0,
    resets: 0,
    errors: 0,
    closes: {},
    publish: { sent: 0, errors: 0, unanswered: 0, before: none, during: { ...none }, after: { ...none } },
    serverCpu: { user: 0, system: 0 },
    serverPeakRss: 0,
  };
}

function addTo(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

/** One storm of `sockets` members on `broker`. Never throws: a failure is a result with status `failed`. */
export async function runStorm(plan: StormPlan, sockets: number, broker: StormBroker, say: (line: string) => void): Promise<StormResult> {
  const rate = stormRate(plan, sockets);
  const id = stormId(sockets, broker);
  const result = emptyResult(id, sockets, broker, rate);
  const procs = plan.receivers > 0 ? plan.receivers : Math.max(1, Math.ceil(sockets / MAX_SOCKETS_PER_PROCESS));
  result.receiverProcesses = procs;
  const tag = `[storm] ${id}`;
  let redis: TestRedis | undefined;
  const servers: ServerProcess[] = [];
  const members: Array<LoadgenProcess<FromStorm>> = [];
  let publisher: LoadgenProcess<FromStorm> | undefined;
  try {
    if (broker === 'redis') {
      redis = await startRedis();
      say(`${tag}: redis-server at ${redis.url}`);
    }
    const flags = stormFlags(rate, redis?.url, `bench${randomBytes(4).toString('hex')}:`);
    for (let i = 0; i < result.servers; i++) servers.push(await startServer('roomcast', { roomcastFlags: flags }));
    const addresses: ServerAddress[] = servers.map((s) => ({ host: s.host, port: s.port, peer: 'roomcast' }));
    say(`${tag}: ${result.servers} roomcast process(es), ${sockets} sockets in ${procs} Node member process(es), ${rate} publishes/s`);

    const t0 = performance.now();
    const connected = await Promise.all(
      Array.from({ length: procs }, (_, r) => {
        const proc = new LoadgenProcess<FromStorm>('storm', `storm members ${r}`);
        members.push(proc);
        const mine = Array.from({ length: sockets }, (_, i) => i).filter((i) => i % procs === r);
        const command = {
          type: 'storm-connect',
          servers: addresses,
          room: ROOM,
          members: mine,
          localAddresses: MEMBER_ADDRESSES,
          concurrency: STORM_CONCURRENCY,
        } as const;
        return proc.ask(command, 'storm-connected', 60_000 + mine.length * 20);
      }),
    );
    const failed = connected.reduce((n, c) => n + c.failed, 0);
    if (failed > 0)
      throw new Error(`${failed} of ${sockets} sockets failed to connect; first error: ${connected.find((c) => c.firstError)?.firstError ?? 'none'}`);
    result.connectSeconds = (performance.now() - t0) / 1000;
    say(`${tag}: connected ${sockets} sockets in ${result.connectSeconds.toFixed(1)} s`);

    publisher = new LoadgenProcess<FromStorm>('storm', 'storm publisher');
    await publisher.ask({ type: 'storm-publisher', server: addresses[0] as ServerAddress, room: ROOM, localAddress: '127.0.0.1' }, 'storm-connected', 30_000);
    publisher.send({ type: 'storm-publish', rate, payloadBytes: plan.payloadBytes });
    await sleep(plan.beforeSec * 1000);

    // The storm.
    const before = servers.map((s) => readProc(s.pid));
    const stormStartNs = nowNs();
    say(`${tag}: dropping every socket`);
    const rejoinBudget = 60_000 + sockets * 30;
    const rejoined = await Promise.all(members.map((m) => m.ask({ type: 'storm-drop', shift: result.servers > 1 ? 1 : 0 }, 'storm-rejoined', rejoinBudget)));
    const notRejoined = rejoined.reduce((n, r) => n + r.failed, 0);
    if (notRejoined > 0)
      throw new Error(`${notRejoined} of ${sockets} sockets failed to rejoin; first error: ${rejoined.find((r) => r.firstError)?.firstError ?? 'none'}`);
    const lastJoinNs = Math.max(...rejoined.map((r) => r.lastNs));
    result.rejoinSeconds = (lastJoinNs - stormStartNs) / 1e9;
    const { seq: stormEndSeq } = await publisher.ask({ type: 'storm-seq' }, 'storm-seq', 10_000);
    result.stormEndSeq = stormEndSeq;
    say(`${tag}: every socket rejoined in ${result.rejoinSeconds.toFixed(2)} s; waiting until each has seq ${stormEndSeq}`);
    const caught = await Promise.all(members.map((m) => m.ask({ type: 'storm-target', seq: stormEndSeq }, 'storm-caught', 60_000 + sockets * 10)));
    // A socket has caught up once it rejoined and had that seq (which it may have had before the drop).
    const caughtNs = Math.max(lastJoinNs, ...caught.map((c) => c.atNs));
    result.caughtUpSeconds = (caughtNs - stormStartNs) / 1e9;
    const after = servers.map((s) => readProc(s.pid));
    for (let i = 0; i < servers.length; i++) {
      const cpu = cpuBetween(before[i], after[i]);
      result.serverCpu.user += cpu.user;
      result.serverCpu.system += cpu.system;
    }
    say(`${tag}: caught up ${result.caughtUpSeconds.toFixed(2)} s after the drop`);

    await sleep(AFTER_MS);
    const stopped = await publisher.ask({ type: 'storm-stop', stormStartNs, stormEndNs: caughtNs }, 'storm-stopped', 30_000);
    result.finalSeq = stopped.seq;
    result.publish = {
      sent: stopped.sent,
      errors: stopped.errors,
      unanswered: stopped.unanswered,
      before: stopped.before,
      during: stopped.during,
      after: stopped.after,
    };
    const reports = await Promise.all(members.map((m) => m.ask({ type: 'storm-final', seq: stopped.seq, waitMs: 10_000 }, 'storm-report', 30_000)));
    for (const r of reports) {
      result.missing += r.missing;
      result.duplicates += r.duplicates;
      result.recovered += r.recovered;
      addTo(result.resync, r.resync);
      result.replayed += r.replayed;
      result.resets += r.resets;
      result.errors += r.errors;
      addTo(result.closes, r.closes);
      if (r.firstError !== undefined) result.note ??= `a member saw: ${r.firstError}`;
    }
    result.serverPeakRss = servers.reduce((n, s) => n + (readProc(s.pid)?.peakRss ?? 0), 0);
    if (result.missing > 0 || result.duplicates > 0) {
      result.status = 'failed';
      result.note = `${result.missing} missing and ${result.duplicates} duplicate events (both must be 0)${result.note !== undefined ? `; ${result.note}` : ''}`;
    } else if (stopped.errors > 0 || stopped.unanswered > 0) {
      result.status = 'failed';
      result.note = `the publisher had ${stopped.errors} error replies and ${stopped.unanswered} publishes unanswered`;
    }
  } catch (err) {
    result.status = 'failed';
    result.note = (err as Error).message.split('\n').slice(0, 6).join('\n');
  } finally {
    await Promise.all([publisher?.stop(), ...members.map((m) => m.stop())]);
    await Promise.all(servers.map((s) => s.stop()));
    await redis?.stop();
  }
  return result;
}

/** Every storm of the plan, in order: sizes, then brokers. */
export async function runStorms(plan: StormPlan, say: (line: string) => void): Promise<StormResult[]> {
  const results: StormResult[] = [];
  for (const sockets of plan.sockets) {
    for (const broker of plan.brokers) {
      const r = await runStorm(plan, sockets, broker, say);
      say(
        `[storm] ${r.id}: ${r.status}${r.status === 'ok' ? `, caught up in ${r.caughtUpSeconds.toFixed(2)} s, missing ${r.missing}, duplicates ${r.duplicates}` : ''}` +
          (r.note !== undefined ? ` (${r.note.split('\n')[0] ?? ''})` : ''),
      );
      results.push(r);
    }
  }
  return results;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
