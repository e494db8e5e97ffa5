/**
 * The text output of a bench run: roomcast's ratios to each peer first (the numbers the
 * project cares most about), then one line per case from its median window, then the
 * micro-benchmarks.
 */
import type { CaseResult, MicroResult, PeerName } from '../types.js';
import { bytes, columns, count, medianOf, percent, ratio, reported, us } from './format.js';

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

/** What went wrong in a case's runs, summed over them, or undefined when nothing did. */
function problems(c: CaseResult): string | undefined {
  const closes: Record<string, number> = {};
  let lost = 0;
  let refused = 0;
  let memberErrors = 0;
  const notes: string[] = [];
  for (const r of c.runs) {
    lost += r.lost;
    refused += r.publisher.errors;
    memberErrors += r.memberErrors;
    for (const [code, n] of Object.entries(r.closes)) closes[code] = (closes[code] ?? 0) + n;
    if (r.note !== undefined) notes.push(r.note);
  }
  const closed = Object.entries(closes).map(([code, n]) => `${n}x ${code}`);
  const parts = [
    lost > 0 ? `${lost} deliveries missing after the ${c.timing.drainSec} s drain` : '',
    closed.length > 0 ? `sockets closed by the server: ${closed.join(', ')}` : '',
    refused > 0 ? `${refused} publishes refused` : '',
    memberErrors > 0 ? `${memberErrors} error frames to members` : '',
    ...notes,
  ].filter((x) => x !== '');
  if (parts.length === 0) return undefined;
  return `${c.scenario.id} ${c.peer}${c.runs.length > 1 ? ` (over ${c.runs.length} runs)` : ''}: ${parts.join('; ')}`;
}

/** One line per case, from the median window of its median run. */
export function printCases(cases: CaseResult[]): string {
  const rows = [
    [
      'scenario',
      'peer',
      'sockets',
      'pub/s',
      'dlv/s',
      'reach',
      'p50',
      'p90',
      'p99',
      'p99.9',
      'max',
      'p99 runs',
      'last p99',
      'srv cpu/M',
      'usr/sys',
      'srv peak',
      'per conn',
      'lg cores',
    ],
  ];
  const notes: string[] = [];
  for (const c of cases) {
    const r = reported(c);
    const base = [c.scenario.id, c.peer, String(c.scenario.rooms * c.scenario.membersPerRoom), String(c.scenario.rate)];
    const problem = problems(c);
    if (problem !== undefined) notes.push(problem);
    if (r === undefined) {
      rows.push([...base, c.status]);
      if (c.note !== undefined) notes.push(`${c.scenario.id} ${c.peer}: ${c.status}: ${c.note}`);
      continue;
    }
    const { run, window: w } = r;
    const lg = w.seconds > 0 ? `${(w.loadgenCpu.receivers / w.seconds).toFixed(2)}+${(w.loadgenCpu.publisher / w.seconds).toFixed(2)}` : '-';
    const cpu = w.serverCpu.user + w.serverCpu.system;
    const p99s = c.runs.flatMap((x) => (x.status === 'ok' ? [x.windows[x.median]?.latencyUs.p99 ?? 0] : []));
    rows.push([
      ...base,
      count(w.deliveriesPerSec),
      percent(w.reach),
      us(w.latencyUs.p50),
      us(w.latencyUs.p90),
      us(w.latencyUs.p99),
      us(w.latencyUs.p999),
      us(w.latencyUs.max),
      p99s.length > 1 ? `${us(Math.min(...p99s))}-${us(Math.max(...p99s))}` : '-',
      w.completionUs.count > 0 ? us(w.completionUs.p99) : '-',
      `${w.serverCpuPerMillion.toFixed(2)}s`,
      cpu > 0 ? `${Math.round((w.serverCpu.user / cpu) * 100)}/${Math.round((w.serverCpu.system / cpu) * 100)}` : '-',
      bytes(run.server.peakRss),
      bytes(run.server.rssPerConnection),
      lg,
    ]);
  }
  const legend = [
    'each line is the median window of the median run (by p99); p99 runs: the lowest and highest p99 of the runs',
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
  const cost = historyCost(results);
  return `${columns(rows)}\n${cost !== undefined ? `${cost}\n` : ''}`;
}

/** The publish-path payload sizes with a history-off row, and how each is named. */
const HISTORY_SIZES: Array<[number, string]> = [
  [64, '64 B'],
  [4096, '4 KB'],
];

/**
 * What storing each event in the room's history costs the publish path: the time per publish
 * with history on over the time with it off, minus one (ops/s off / ops/s on - 1), per payload
 * size with a history-off row. Undefined when the publish-path rows are not there.
 */
export function historyCost(results: MicroResult[]): string | undefined {
  const parts: Array<{ size: string; cost: string; detail: string }> = [];
  for (const [size, label] of HISTORY_SIZES) {
    const on = results.find((r) => r.name === `publish path proto->proto room ${size}B`);
    const off = results.find((r) => r.name === `publish path proto->proto room ${size}B, history off`);
    if (on === undefined || off === undefined || !(on.opsPerSec > 0)) continue;
    const pct = (off.opsPerSec / on.opsPerSec - 1) * 100;
    parts.push({
      size: label,
      cost: `${pct.toFixed(1)}%`,
      detail: `${label}: ${count(on.opsPerSec)} ops/s on vs ${count(off.opsPerSec)} off, ±${Math.max(on.rme, off.rme).toFixed(1)}%`,
    });
  }
  if (parts.length === 0) return undefined;
  return (
    `history on costs ${parts.map((p) => p.cost).join(' / ')} on the publish path (${parts.map((p) => p.size).join(' / ')}) ` +
    `(time per publish with history on / off, minus 1: differences within the ± margins below are noise; issue 9's bound: at most 10%)\n` +
    `  ${parts.map((p) => p.detail).join('; ')}`
  );
}
