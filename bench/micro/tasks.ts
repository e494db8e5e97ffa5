/**
 * Runs micro-benchmark tasks with tinybench and turns its results into {@link MicroResult}s.
 * Shared by the codec and publish-path benches, so both report ops/s with the same margins.
 */
import { Bench } from 'tinybench';
import type { MicroResult } from '../types.js';

/** One task: a name, the function to time, and the size of what it encodes, if any. */
export interface MicroTask {
  name: string;
  fn: () => unknown;
  bytes?: number | undefined;
}

/** Where results go, so the optimiser cannot treat a task's work as dead code. */
export let sink: unknown;

/** Times every task for about `timeMs` each (plus a warm-up) and returns ops/s with margins. */
export async function runTasks(group: string, tasks: MicroTask[], timeMs: number): Promise<MicroResult[]> {
  const bench = new Bench({ name: group, time: timeMs, warmupTime: Math.min(100, timeMs), throws: true });
  for (const t of tasks) {
    bench.add(t.name, () => {
      sink = t.fn();
    });
  }
  await bench.run();
  return bench.tasks.map((task, i) => {
    const r = task.result;
    if (r.state !== 'completed') throw new Error(`micro-benchmark ${task.name}: ${r.state === 'errored' ? r.error.message : r.state}`);
    return { name: task.name, opsPerSec: r.throughput.mean, rme: r.latency.rme, samples: r.latency.samplesCount, bytes: tasks[i]?.bytes };
  });
}
