/**
 * `npm run bench`: micro-benchmarks, then every scenario on every peer, then the tables (stdout,
 * roomcast's ratios to the peers first) and the JSON and HTML results under bench/results/.
 * Progress goes to stderr. `--help` lists the flags (./harness/options.ts).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCapacity } from './harness/capacity.js';
import { runCases } from './harness/cases.js';
import { parseOptions, USAGE, UsageError } from './harness/options.js';
import { hasProc } from './harness/procstat.js';
import { runOnce } from './harness/run-case.js';
import { runStorms } from './harness/storm.js';
import { codecBench } from './micro/codec.js';
import { publishPathBench } from './micro/publish-path.js';
import { nativeProgram } from './native/build.js';
import { printCapacity, printCapacityRatios } from './report/capacity.js';
import { printProfile, summariseFile } from './report/cpuprofile.js';
import { us } from './report/format.js';
import { renderHtml } from './report/html.js';
import { printStorm } from './report/storm.js';
import { printCases, printMicro, printRatios } from './report/table.js';
import { burst } from './scenarios/burst.js';
import { fanout } from './scenarios/fanout.js';
import { mixed } from './scenarios/mixed.js';
import { manyRooms } from './scenarios/rooms.js';
import { distProblem } from './servers/roomcast.js';
import type { BenchPlan, BenchResults, CpuProfileResult, MicroResult, RunResult, Scenario, ScenarioTable } from './types.js';

/** The scenario families the bench knows, one file each in ./scenarios/: the one table of them. */
export const SCENARIOS: ScenarioTable = { fanout, rooms: manyRooms, mixed, burst };

const RESULTS = fileURLToPath(new URL('./results', import.meta.url));
/** Least measured seconds of the profiled run. */
const PROFILE_SECONDS = 10;

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** One finished run in a progress line: status, reach and latency of its median window. */
function runSummary(run: RunResult): string {
  const w = run.windows[run.median];
  return (
    run.status +
    (w !== undefined ? `, reach ${(w.reach * 100).toFixed(2)}%, p50 ${us(w.latencyUs.p50)}, p99 ${us(w.latencyUs.p99)}` : '') +
    (run.note !== undefined ? ` (${run.note.split('\n')[0] ?? ''})` : '')
  );
}

/** The scenario whose server CPU profile is taken: roomcast's largest by sockets. */
function profiledScenario(plan: BenchPlan): Scenario | undefined {
  if (!plan.cpuProf) return undefined;
  return [...plan.scenarios].sort((a, b) => b.rooms * b.membersPerRoom - a.rooms * a.membersPerRoom)[0];
}

function newestProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const last = files[files.length - 1];
  return last === undefined ? undefined : join(dir, last);
}

/**
 * An extra roomcast run of `scenario` under `node --cpu-prof`. Kept out of the comparison: the
 * sampling profiler's signals cost the server CPU (kernel time above all), so its numbers are
 * not the same server's.
 */
async function profileRun(scenario: Scenario, plan: BenchPlan, dir: string): Promise<CpuProfileResult | undefined> {
  mkdirSync(dir, { recursive: true });
  const tag = `[profile] ${scenario.id} roomcast`;
  say(`${tag}: an extra run under node --cpu-prof (not part of the comparison)`);
  // At least 10 s of publishing, so the publish path outweighs start-up and connecting.
  const timing = { ...plan.timing, runs: 1, windows: 1, windowSec: Math.max(plan.timing.windowSec * plan.timing.windows, PROFILE_SECONDS) };
  const run = await runOnce({
    scenario,
    peer: 'roomcast',
    timing,
    receivers: plan.receivers,
    receiver: plan.receiver,
    cpuProfDir: dir,
    progress: (line) => say(`${tag}: ${line}`),
  });
  const file = newestProfile(dir);
  if (file === undefined) {
    say(`${tag}: no CPU profile was written (${run.status}${run.note !== undefined ? `: ${run.note}` : ''})`);
    return undefined;
  }
  const cpu = run.server.cpu;
  const summary =
    `CPU profile of the roomcast server under ${scenario.id} (${scenario.title}, ${scenario.rate} publishes/s): ${file}\n` +
    `the server process used ${cpu.user.toFixed(2)} s user + ${cpu.system.toFixed(2)} s kernel CPU from listening to drained (/proc);\n` +
    "the profile sees JavaScript and the native calls made from it (a function's self time includes the uWS\n" +
    'calls it makes: publish, subscribe, upgrade); the rest of that CPU, mostly the kernel sending on loopback\n' +
    "TCP from uWS's own event-loop hooks, shows up as idle or (program), not by function.\n" +
    printProfile(summariseFile(file));
  return { scenario: scenario.id, file, run, summary };
}

/**
 * Builds the C programs the plan wants: the C receiver (falling back to the Node one unless
 * --receiver c asked for it) and the floor peer (left out when it cannot build, unless --peer
 * named it). Returns the notes for the results, or an error message that ends the run.
 */
function prepareNative(plan: BenchPlan): { notes: string[] } | { error: string } {
  const notes: string[] = [];
  if (plan.micro === 'only') return { notes };
  if (plan.receiver === 'c') {
    const build = nativeProgram('receiver');
    if (!build.ok) {
      if (plan.receiverChosen) return { error: build.problem };
      plan.receiver = 'node';
      notes.push(`Node receivers instead of the C receiver: ${build.problem}`);
    }
  }
  if (plan.peers.includes('floor')) {
    const build = nativeProgram('floor');
    if (!build.ok) {
      if (plan.peersChosen) return { error: build.problem };
      plan.peers = plan.peers.filter((p) => p !== 'floor');
      notes.push(`the floor peer left out: ${build.problem}`);
    }
  }
  for (const n of notes) say(`bench: warning: ${n}`);
  return { notes };
}

/** Runs the bench with these command-line arguments; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let plan: BenchPlan | undefined;
  try {
    plan = parseOptions(argv, RESULTS, SCENARIOS);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (plan === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!hasProc()) {
    say('bench: needs Linux /proc to read the CPU and memory of the processes it measures');
    return 1;
  }
  if ((plan.peers.includes('roomcast') || plan.cpuProf) && plan.micro !== 'only') {
    const problem = distProblem();
    if (problem?.includes('missing')) {
      say(`bench: ${problem}`);
      return 1;
    }
    if (problem !== undefined) say(`bench: warning: ${problem}`);
  }
  const native = prepareNative(plan);
  if ('error' in native) {
    say(`bench: ${native.error}`);
    return 1;
  }
  say(`receivers: ${plan.receiver === 'c' ? 'C (bench/native/receiver.c)' : 'Node (bench/loadgen/receiver.ts)'}`);
  mkdirSync(plan.outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const results: BenchResults = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    profile: plan.profile,
    machine: {
      node: process.version,
      cpus: os.cpus()[0]?.model ?? 'unknown CPU',
      cores: os.cpus().length,
      totalMemGiB: Math.round(os.totalmem() / 2 ** 30),
      loadAverage: os.loadavg(),
    },
    argv,
    receiver: plan.receiver,
    notes: native.notes,
    micro: [],
    cases: [],
  };

  if (plan.micro !== 'off') {
    say('micro-benchmarks: codec');
    const micro: MicroResult[] = await codecBench(plan.microTimeMs);
    say('micro-benchmarks: publish path');
    micro.push(...(await publishPathBench(plan.microTimeMs)));
    results.micro = micro;
  }

  const progress = { say, summary: runSummary };
  results.cases = await runCases(plan, plan.micro === 'only' || !plan.cases ? [] : plan.scenarios, progress);
  if (plan.capacity !== undefined && plan.micro !== 'only') {
    const cap = plan.capacity;
    const capResults = await runCapacity(plan, cap, progress);
    results.capacity = { startDeliveries: cap.startDeliveries, factor: cap.factor, maxSteps: cap.steps, sloMs: cap.sloMs, results: capResults };
  }
  if (plan.storm !== undefined && plan.micro !== 'only') {
    say('recovery storm: roomcast only (the peers have no recovery), Node member processes (the C receiver does not run it)');
    results.storm = await runStorms(plan.storm, say);
  }
  const profiled = plan.micro === 'only' ? undefined : profiledScenario(plan);
  if (profiled !== undefined) results.cpuProfile = await profileRun(profiled, plan, join(plan.outDir, `cpuprofile-${stamp}`));
  results.finishedAt = new Date().toISOString();

  const jsonPath = join(plan.outDir, `bench-${stamp}.json`);
  const htmlPath = join(plan.outDir, `bench-${stamp}.html`);
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(htmlPath, renderHtml(results));

  const out: string[] = [];
  if (results.capacity !== undefined) {
    const capRatios = printCapacityRatios(results.capacity);
    if (capRatios !== '') out.push(capRatios);
    out.push(printCapacity(results.capacity));
  }
  const ratios = printRatios(results.cases);
  if (ratios !== '') out.push(ratios);
  if (results.cases.length > 0) out.push(printCases(results.cases));
  if (results.storm !== undefined && results.storm.length > 0) out.push(printStorm(results.storm));
  if (results.micro.length > 0) out.push(printMicro(results.micro));
  if (results.cpuProfile !== undefined) out.push(results.cpuProfile.summary);
  out.push(
    `receivers: ${results.receiver === 'c' ? 'C' : 'Node'}${results.notes.length > 0 ? `\n${results.notes.join('\n')}` : ''}\nresults: ${jsonPath}\nreport:  ${htmlPath}\n`,
  );
  process.stdout.write(out.join('\n'));
  return results.cases.some((c) => c.status === 'failed') || (results.storm ?? []).some((r) => r.status === 'failed') ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
