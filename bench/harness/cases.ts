/**
 * Every scenario on every peer, `runs` times each. Within a scenario the peers take turns, one
 * run each per round, and the order rotates from round to round: on a shared machine a noisy
 * minute then spreads over all peers instead of landing on whichever ran during it.
 */
import type { BenchPlan, CaseResult, RunResult, Scenario } from '../types.js';
import { runOnce, supports } from './run-case.js';
import { medianRun } from './stats.js';

/** Where progress goes: `say` gets lines, `summary` puts one finished run in a few words. */
export interface CaseProgress {
  say: (line: string) => void;
  summary: (run: RunResult) => string;
}

/** Rough seconds one run takes: process start-up, connecting, publishing, stopping. */
export function runSeconds(s: Scenario, plan: BenchPlan): number {
  const t = plan.timing;
  return 2 + (s.rooms * s.membersPerRoom) / 10_000 + t.warmupSec + t.windowSec * t.windows;
}

function rotate<T>(xs: T[], by: number): T[] {
  const k = xs.length === 0 ? 0 : by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/** Runs the plan's scenarios, telling `progress` as it goes. */
export async function runCases(plan: BenchPlan, scenarios: Scenario[], progress: CaseProgress): Promise<CaseResult[]> {
  const say = progress.say;
  const runs = plan.timing.runs;
  const total = scenarios.reduce((n, s) => n + plan.peers.filter((p) => supports(p, s)).length * runs, 0);
  if (total > 0) {
    const seconds = scenarios.reduce((a, s) => a + runSeconds(s, plan) * plan.peers.filter((p) => supports(p, s)).length * runs, 0);
    say(`${total} runs (${scenarios.map((s) => s.id).join(', ')} on ${plan.peers.join(', ')}, ${runs} each), about ${Math.ceil(seconds / 60)} min`);
  }
  const cases: CaseResult[] = [];
  let n = 0;
  for (const scenario of scenarios) {
    const group: CaseResult[] = plan.peers.map((peer) => ({
      scenario,
      peer,
      timing: plan.timing,
      status: supports(peer, scenario) ? 'ok' : 'skipped',
      note: supports(peer, scenario) ? undefined : 'JSON members are a roomcast feature',
      runs: [],
      median: -1,
    }));
    const runnable = group.filter((c) => c.status === 'ok');
    for (let round = 0; round < runs; round++) {
      for (const c of rotate(runnable, round)) {
        n += 1;
        const tag = `[${n}/${total}] ${scenario.id} ${c.peer}${runs > 1 ? ` run ${round + 1}/${runs}` : ''}`;
        say(
          `${tag}: ${scenario.title}, ${scenario.rate} publishes/s${scenario.burst > 1 ? ` in bursts of ${scenario.burst}` : ''}, ${scenario.payloadBytes} B`,
        );
        const run = await runOnce({
          scenario,
          peer: c.peer,
          timing: plan.timing,
          receivers: plan.receivers,
          receiver: plan.receiver,
          progress: (line) => say(`${tag}: ${line}`),
        });
        c.runs.push(run);
        say(`${tag}: ${progress.summary(run)}`);
      }
    }
    for (const c of runnable) {
      const failed = c.runs.find((r) => r.status === 'failed');
      if (failed !== undefined) {
        c.status = 'failed';
        c.note = failed.note;
      }
      c.median = medianRun(c.runs);
    }
    cases.push(...group);
  }
  return cases;
}
