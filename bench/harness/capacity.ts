/**
 * The capacity part: for each scenario and peer, step the offered load up (x1.5 a step, from
 * the plan's start) until the peer stops keeping up, and keep every step, so the report can
 * draw the curve and name the knee: the highest offered load the peer held.
 *
 * A step is one run (./run-case.ts) at that load, in fresh processes. It is held when its median
 * window's p99 latency is within the SLO, its reach is 100 %, and the deliveries per second the
 * server sustained are at least 95 % of those offered. A peer's first step that is not held ends
 * its climb; the step count bounds it otherwise. Within a step the peers take turns in an order
 * that rotates, as the comparison's rounds do (./cases.ts), so a noisy moment on a shared
 * machine does not land on one peer's whole curve.
 */
import type { BenchPlan, CapacityPlan, CapacityResult, CapacityStep, RunResult, Scenario } from '../types.js';
import type { CaseProgress } from './cases.js';
import { runSeconds } from './cases.js';
import { runOnce, supports } from './run-case.js';

/** Share of the offered deliveries per second a held step must sustain. */
const SUSTAINED_SHARE = 0.95;

/** Publishes per second that offer `deliveries` deliveries per second, in whole bursts. */
export function rateFor(s: Scenario, deliveries: number): number {
  return Math.max(s.burst, Math.round(deliveries / s.membersPerRoom / s.burst) * s.burst);
}

/** The publish rate of every step: x factor each, at least one burst more than the last. */
export function stepRates(s: Scenario, cap: Pick<CapacityPlan, 'startDeliveries' | 'factor' | 'steps'>): number[] {
  const rates: number[] = [];
  for (let k = 0; k < cap.steps; k++) {
    const want = rateFor(s, cap.startDeliveries * cap.factor ** k);
    const last = rates[rates.length - 1];
    rates.push(last === undefined ? want : Math.max(want, last + s.burst));
  }
  return rates;
}

/** Whether a step's run kept up; undefined when it did, else why not. */
export function notHeld(run: RunResult, offeredPerSec: number, sloMs: number): string | undefined {
  if (run.status !== 'ok') return `failed: ${(run.note ?? 'no note').split('\n')[0] ?? ''}`;
  const w = run.windows[run.median];
  if (w === undefined) return 'no measured window';
  if (w.latencyUs.p99 > sloMs * 1000) return `p99 ${(w.latencyUs.p99 / 1000).toFixed(1)} ms over the ${sloMs} ms SLO`;
  if (w.reach < 1) return `reach ${(w.reach * 100).toFixed(2)} % (${w.expected - w.delivered} deliveries missing)`;
  if (w.sustainedPerSec > 0 && w.sustainedPerSec < SUSTAINED_SHARE * offeredPerSec) {
    return `sustained ${Math.round(w.sustainedPerSec)} of ${Math.round(offeredPerSec)} offered deliveries/s`;
  }
  return undefined;
}

function rotate<T>(xs: T[], by: number): T[] {
  const k = xs.length === 0 ? 0 : by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/** Runs the capacity part of `plan`, telling `progress` as it goes. */
export async function runCapacity(plan: BenchPlan, cap: CapacityPlan, progress: CaseProgress): Promise<CapacityResult[]> {
  const say = progress.say;
  const timing = { ...plan.timing, runs: 1 };
  const most = cap.scenarios.reduce((n, s) => n + plan.peers.filter((p) => supports(p, s)).length * cap.steps, 0);
  if (most > 0) {
    const seconds = cap.scenarios.reduce((a, s) => a + runSeconds(s, plan) * plan.peers.filter((p) => supports(p, s)).length * cap.steps, 0);
    say(
      `capacity: at most ${most} runs (${cap.scenarios.map((s) => s.id).join(', ')} on ${plan.peers.join(', ')}; from ${cap.startDeliveries} deliveries/s, x${cap.factor} a step, ` +
        `at most ${cap.steps} steps; SLO p99 <= ${cap.sloMs} ms), at most about ${Math.ceil(seconds / 60)} min`,
    );
  }
  const results: CapacityResult[] = [];
  for (const base of cap.scenarios) {
    const rates = stepRates(base, cap);
    const scenario = { ...base, rate: rates[0] ?? base.rate };
    const group: CapacityResult[] = plan.peers.map((peer) => ({
      scenario,
      peer,
      status: supports(peer, base) ? 'ok' : 'skipped',
      note: supports(peer, base) ? undefined : 'JSON members are a roomcast feature',
      steps: [],
      knee: -1,
    }));
    let climbing = group.filter((c) => c.status === 'ok');
    for (let k = 0; k < rates.length && climbing.length > 0; k++) {
      const rate = rates[k] as number;
      const offeredPerSec = rate * base.membersPerRoom;
      for (const c of rotate(climbing, k)) {
        const tag = `[capacity] ${base.id} ${c.peer} step ${k + 1}/${rates.length}`;
        say(`${tag}: ${rate} publishes/s, ${Math.round(offeredPerSec)} deliveries/s offered`);
        const run = await runOnce({
          scenario: { ...base, rate },
          peer: c.peer,
          timing,
          receivers: plan.receivers,
          receiver: plan.receiver,
          progress: (line) => say(`${tag}: ${line}`),
        });
        const why = notHeld(run, offeredPerSec, cap.sloMs);
        const step: CapacityStep = { rate, offeredPerSec, held: why === undefined, why, run };
        c.steps.push(step);
        if (step.held) c.knee = c.steps.length - 1;
        say(`${tag}: ${progress.summary(run)}; ${why === undefined ? 'held' : `not held: ${why}`}`);
      }
      climbing = climbing.filter((c) => c.steps[c.steps.length - 1]?.held === true);
    }
    results.push(...group);
  }
  return results;
}
