/**
 * Turns what the receivers reported and the CPU readings taken at window boundaries into one
 * {@link WindowResult} per measured window.
 */
import type { FromReceiver, WindowReport } from '../loadgen/ipc.js';
import { cpuBetween, type ProcSample, readProc } from './procstat.js';
import type { Schedule } from './schedule.js';
import { latencySlope, mergeWindow } from './stats.js';
import type { WindowResult } from '../types.js';

/** CPU and memory of every process of a case at one moment. */
export interface Snapshot {
  server: ProcSample | undefined;
  receivers: Array<ProcSample | undefined>;
  publisher: ProcSample | undefined;
}

/** The processes of a case. */
export interface CasePids {
  server: number;
  receivers: number[];
  publisher: number;
}

/** Reads every process of the case. */
export function snapshot(pids: CasePids): Snapshot {
  return { server: readProc(pids.server), receivers: pids.receivers.map(readProc), publisher: readProc(pids.publisher) };
}

type Report = Extract<FromReceiver, { type: 'report' }>;

function cpu(a: ProcSample | undefined, b: ProcSample | undefined): number {
  const c = cpuBetween(a, b);
  return c.user + c.system;
}

/**
 * The measured windows. `samples[w]` was read when window w began and `samples[w + 1]` when it
 * ended (the last one once the deliveries had drained).
 */
export function windowResults(schedule: Schedule, reports: Report[], samples: Snapshot[]): WindowResult[] {
  const out: WindowResult[] = [];
  for (let w = 0; w < schedule.windows; w++) {
    const from = schedule.windowStart(w);
    const parts = reports.map((r) => r.windows[w]).filter((x): x is WindowReport => x !== undefined);
    const merged = mergeWindow(parts, schedule.perWindow, () => schedule.roomSize);
    const expected = schedule.expectedInWindow();
    const startAt = schedule.dueNs(from);
    const seconds = merged.lastArrivalNs > startAt ? (merged.lastArrivalNs - startAt) / 1e9 : 0;
    // The window's publishes were offered over perWindow / rate seconds; a growing latency
    // stretches the time they took to arrive by (1 + slope).
    const offeredSeconds = schedule.perWindow / schedule.rate;
    const slope = Math.max(
      0,
      latencySlope((k) => schedule.dueNs(from + k), merged.lastUs),
    );
    const a = samples[w];
    const b = samples[w + 1];
    const serverCpu = cpuBetween(a?.server, b?.server);
    out.push({
      publishes: schedule.perWindow,
      expected,
      delivered: merged.delivered,
      reach: expected === 0 ? 1 : merged.delivered / expected,
      latencyUs: merged.latencyUs,
      completionUs: merged.completionUs,
      incompletePublishes: merged.incompletePublishes,
      deliveriesPerSec: seconds > 0 ? merged.delivered / seconds : 0,
      sustainedPerSec: merged.delivered / (offeredSeconds * (1 + slope)),
      seconds,
      serverCpu,
      serverCpuPerMillion: merged.delivered > 0 ? ((serverCpu.user + serverCpu.system) / merged.delivered) * 1e6 : 0,
      loadgenCpu: {
        receivers: (a?.receivers ?? []).reduce((sum, x, i) => sum + cpu(x, b?.receivers[i]), 0),
        publisher: cpu(a?.publisher, b?.publisher),
      },
    });
  }
  return out;
}
