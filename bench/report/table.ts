/**
 * The text output of a bench run: roomcast's ratios to each peer first (the numbers the
 * project cares most about), then one line per case from its median window, then the
 * micro-benchmarks.
 */
import type { CaseResult, MicroResult } from '../harness/types.js';
import type { PeerName } from '../loadgen/ipc.js';
import { bytes, columns, count, medianOf, percent, ratio, us } from './format.js';

/**
 * roomcast / peer per scenario: deliveries per second (above 1 = roomcast delivered more) and
 * p99 latency (below 1 = roomcast's p99 is lower). Empty when roomcast did not run.
 */
export function printRatios(cases: CaseResult[]): string {
  const peers = [...new Set(cases.map((c) => c.peer))].filter((p): p is Exclude<PeerName, 'roomcast'> => p !== 'roomcast');
  const scenarios = [...new Set(cases.map((c) => c.scenario.id))];
  const find = (id: string, peer: PeerName): CaseResult | undefined => cases.find((c) => c.scenario.id === id && c.peer === peer);
  if (peers.length === 0 || !cases.some((c) => c.peer === 'roomcast')) return '';
  const head = ['roomcast vs', ...peers.flatMap((p) => [`${p} dlv/s`, `${p} p99`])];
  const rows = [head];
  for (const id of scenarios) {
    const rc = find(id, 'roomcast');
    const rcw = rc === undefined ? undefined : medianOf(rc);
    const row = [id];
    for (const p of peers) {
      const pc = find(id, p);
      const pw = pc === undefined ? undefined : medianOf(pc);
      if (rcw === undefined || pw === undefined) row.push(pc?.status === 'skipped' ? 'n/a' : '-', pc?.status === 'skipped' ? 'n/a' : '-');
      else row.push(ratio(rcw.deliveriesPerSec, pw.deliveriesPerSec), ratio(rcw.latencyUs.p99, pw.latencyUs.p99));
    }
    rows.push(row);
  }
  return `${columns(rows)}\n(dlv/s: roomcast / peer, above 1 = roomcast delivered more per second; p99: roomcast / peer, below 1 = roomcast's p99 latency is lower)\n`;
}

/** One line per case, from its median window. */
export function printCases(cases: CaseResult[]): string {
  const rows = [
    ['scenario', 'peer', 'sockets', 'pub/s', 'dlv/s', 'reach', 'p50', 'p90', 'p99', 'p99.9', 'max', 'last p99', 'srv cpu/M', 'usr/sys', 'srv peak', 'per conn', 'lg cores'],
  ];
  const notes: string[] = [];
  for (const c of cases) {
    const w = medianOf(c);
    const base = [c.scenario.id, c.peer, String(c.sockets), String(c.scenario.rate)];
    if (w === undefined) {
      rows.push([...base, c.status]);
      if (c.note !== undefined) notes.push(`${c.scenario.id} ${c.peer}: ${c.status}: ${c.note}`);
      continue;
    }
    const lg = w.seconds > 0 ? `${(w.loadgenCpu.receivers / w.seconds).toFixed(2)}+${(w.loadgenCpu.publisher / w.seconds).toFixed(2)}` : '-';
    const cpu = w.serverCpu.user + w.serverCpu.system;
    rows.push([
      ...base,
      count(w.deliveriesPerSec),
      percent(w.reach),
      us(w.latencyUs.p50),
      us(w.latencyUs.p90),
      us(w.latencyUs.p99),
      us(w.latencyUs.p999),
      us(w.latencyUs.max),
      w.completionUs.count > 0 ? us(w.completionUs.p99) : '-',
      `${w.serverCpuPerMillion.toFixed(2)}s`,
      cpu > 0 ? `${Math.round((w.serverCpu.user / cpu) * 100)}/${Math.round((w.serverCpu.system / cpu) * 100)}` : '-',
      bytes(c.server.peakRss),
      bytes(c.server.rssPerConnection),
      lg,
    ]);
    const closed = Object.entries(c.closes).map(([code, n]) => `${n}x ${code}`);
    if (c.lost > 0 || closed.length > 0 || c.publisher.errors > 0 || c.memberErrors > 0 || c.note !== undefined) {
      notes.push(
        `${c.scenario.id} ${c.peer}: ${c.lost} deliveries missing after the ${c.timing.drainSec} s drain` +
          (closed.length > 0 ? `, sockets closed by the server: ${closed.join(', ')}` : '') +
          (c.publisher.errors > 0 ? `, ${c.publisher.errors} publishes refused` : '') +
          (c.memberErrors > 0 ? `, ${c.memberErrors} error frames to members` : '') +
          (c.note !== undefined ? ` (${c.note})` : ''),
      );
    }
  }
  const legend = [
    'p50..max: latency from the intended send time to the arrival at a member, over every delivery',
    'last p99: per publish, latency of its arrival at the last member (fan-out completion)',
    'srv cpu/M: server CPU seconds per million deliveries, usr/sys: its user/kernel split in %',
    'srv peak: server peak RSS; per conn: server RSS growth per socket',
    'lg cores: load-generator CPU in cores, receivers+publisher; near 1 means the clients may be the limit',
  ].join('\n');
  return `${columns(rows)}\n${legend}\n${notes.length > 0 ? `${notes.join('\n')}\n` : ''}`;
}

/** The micro-benchmarks, ops/s with tinybench's relative margin of error. */
export function printMicro(results: MicroResult[]): string {
  const rows = [['micro-benchmark', 'ops/s', '±', 'bytes', 'samples']];
  for (const r of results) rows.push([r.name, count(r.opsPerSec), `${r.rme.toFixed(1)}%`, r.bytes === undefined ? '' : String(r.bytes), String(r.samples)]);
  return `${columns(rows)}\n`;
}
