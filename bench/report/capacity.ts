/**
 * The text output of the capacity part: roomcast's ratios to each peer at the knee first, then
 * one line per scenario and peer with the knee (the highest offered load held) and what the
 * server did there, and what ended the climb.
 */
import type { CapacityResult, CapacityResults, CapacityStep, PeerName, WindowResult } from '../types.js';
import { bytes, columns, count, ratio, us } from './format.js';

/** The step at the knee of a result, with its reported window; undefined if no step was held. */
export function kneeOf(c: CapacityResult): { step: CapacityStep; window: WindowResult } | undefined {
  const step = c.steps[c.knee];
  const window = step?.run.windows[step.run.median];
  return step !== undefined && window !== undefined ? { step, window } : undefined;
}

/** Server CPU seconds per million deliveries in a window. */
function cpuPerMillion(w: WindowResult): number {
  return w.serverCpuPerMillion;
}

/** p99 of the highest step both results held (the same offered load: every peer steps alike). */
function sameLoadP99(a: CapacityResult, b: CapacityResult): [number, number] | undefined {
  const k = Math.min(a.knee, b.knee);
  if (k < 0) return undefined;
  const wa = a.steps[k]?.run.windows[a.steps[k].run.median];
  const wb = b.steps[k]?.run.windows[b.steps[k].run.median];
  return wa !== undefined && wb !== undefined ? [wa.latencyUs.p99, wb.latencyUs.p99] : undefined;
}

/**
 * roomcast / peer per scenario, at each one's knee: the load held (above 1 = roomcast held more),
 * CPU per million deliveries and memory per connection (below 1 = roomcast spent less), and p99
 * at the highest load both held (below 1 = roomcast's is lower). Empty when roomcast did not run.
 */
export function printCapacityRatios(r: CapacityResults): string {
  const cases = r.results;
  const peers = [...new Set(cases.map((c) => c.peer))].filter((p) => p !== 'roomcast');
  if (peers.length === 0 || !cases.some((c) => c.peer === 'roomcast' && c.status === 'ok')) return '';
  const find = (id: string, peer: PeerName): CapacityResult | undefined => cases.find((c) => c.scenario.id === id && c.peer === peer);
  const rows = [['roomcast vs (knee)', ...peers.flatMap((p) => [`${p} held`, `${p} p99=`, `${p} cpu/M`, `${p} mem`])]];
  for (const id of [...new Set(cases.map((c) => c.scenario.id))]) {
    const rc = find(id, 'roomcast');
    const rk = rc === undefined ? undefined : kneeOf(rc);
    const row = [id];
    for (const p of peers) {
      const pc = find(id, p);
      const pk = pc === undefined ? undefined : kneeOf(pc);
      if (pc?.status === 'skipped' || rc?.status === 'skipped') {
        row.push('n/a', 'n/a', 'n/a', 'n/a');
        continue;
      }
      const same = rc !== undefined && pc !== undefined ? sameLoadP99(rc, pc) : undefined;
      row.push(
        rk !== undefined && pk !== undefined ? ratio(rk.step.offeredPerSec, pk.step.offeredPerSec) : '-',
        same !== undefined ? ratio(same[0], same[1]) : '-',
        rk !== undefined && pk !== undefined ? ratio(cpuPerMillion(rk.window), cpuPerMillion(pk.window)) : '-',
        rk !== undefined && pk !== undefined ? ratio(rk.step.run.server.rssPerConnection, pk.step.run.server.rssPerConnection) : '-',
      );
    }
    rows.push(row);
  }
  return (
    `${columns(rows)}\n` +
    `(held: roomcast's knee / the peer's, above 1 = roomcast held more load; p99=: roomcast / peer at the highest load both held, below 1 = roomcast's is lower;\n` +
    ` cpu/M and mem: server CPU per million deliveries and RSS per connection at each one's knee, below 1 = roomcast spent less)\n`
  );
}

/** One line per scenario and peer: the knee and what ended the climb. */
export function printCapacity(r: CapacityResults): string {
  const rows = [['scenario', 'peer', 'knee dlv/s', 'sustained', 'pub/s', 'p50', 'p99', 'srv cpu/M', 'per conn', 'srv peak', 'lg cores', 'steps', 'stopped by']];
  for (const c of r.results) {
    const base = [c.scenario.id, c.peer];
    if (c.status === 'skipped') {
      rows.push([...base, 'skipped', '', '', '', '', '', '', '', '', '', c.note ?? '']);
      continue;
    }
    const k = kneeOf(c);
    const last = c.steps[c.steps.length - 1];
    const stopped = last === undefined ? 'no step ran' : last.held ? `held all ${c.steps.length} steps (raise --steps)` : (last.why ?? '');
    if (k === undefined) {
      rows.push([...base, `< ${count(c.steps[0]?.offeredPerSec ?? 0)}`, '', '', '', '', '', '', '', '', String(c.steps.length), stopped]);
      continue;
    }
    const { step, window: w } = k;
    const lg = w.seconds > 0 ? `${(w.loadgenCpu.receivers / w.seconds).toFixed(2)}+${(w.loadgenCpu.publisher / w.seconds).toFixed(2)}` : '-';
    rows.push([
      ...base,
      count(step.offeredPerSec),
      count(w.sustainedPerSec),
      String(step.rate),
      us(w.latencyUs.p50),
      us(w.latencyUs.p99),
      `${w.serverCpuPerMillion.toFixed(2)}s`,
      bytes(step.run.server.rssPerConnection),
      bytes(step.run.server.peakRss),
      lg,
      String(c.steps.length),
      stopped,
    ]);
  }
  const legend = [
    `capacity: from ${count(r.startDeliveries)} offered deliveries/s, x${r.factor} a step, at most ${r.maxSteps} steps; a step is held with p99 <= ${r.sloMs} ms, reach 100 % and >= 95 % of the offered deliveries/s sustained`,
    "knee dlv/s: the highest offered deliveries/s held; the other columns are that step's (one run, its median window)",
    'sustained: deliveries/s the server kept up with (the offered rate, less what a latency growing across the window says it fell behind);',
    'per conn: server RSS growth per socket; lg cores: receivers+publisher',
  ].join('\n');
  return `${columns(rows)}\n${legend}\n`;
}
