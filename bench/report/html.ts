/**
 * The HTML report: one self-contained file (inline SVG and CSS, no scripts, nothing fetched)
 * with the tables of the text output and charts: latency percentiles per scenario and peer,
 * and deliveries per second, p99 and server CPU against the number of sockets.
 */
import type { BenchResults, CaseResult, PeerName } from '../types.js';
import { count, medianOf, us } from './format.js';
import { type Chart, lineChart, type Series } from './svg.js';
import { printCases, printMicro, printRatios } from './table.js';

const COLORS: Record<PeerName, string> = { roomcast: '#d62728', uws: '#1f77b4', ws: '#2ca02c', socketio: '#9467bd', floor: '#7f7f7f' };
const PERCENTILES = ['p50', 'p90', 'p99', 'p99.9', 'max'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function peersOf(cases: CaseResult[]): PeerName[] {
  return [...new Set(cases.map((c) => c.peer))];
}

function latencyChart(id: string, cases: CaseResult[]): string {
  const series: Series[] = [];
  for (const c of cases) {
    const w = medianOf(c);
    if (w === undefined) continue;
    const l = w.latencyUs;
    series.push({ name: c.peer, color: COLORS[c.peer], points: [l.p50, l.p90, l.p99, l.p999, l.max].map((v, i) => [i, v]) });
  }
  const title = `${id}: ${cases[0]?.scenario.title ?? ''}`;
  return lineChart({ title, xLabel: 'percentile of deliveries', yLabel: 'latency (log)', series, xCategories: PERCENTILES, logY: true, yFormat: us });
}

function bySockets(cases: CaseResult[], metric: (c: CaseResult) => number | undefined, chart: Omit<Chart, 'series'>): string {
  const series = peersOf(cases).map((peer) => ({
    name: peer,
    color: COLORS[peer],
    points: cases
      .filter((c) => c.peer === peer)
      .map((c) => [c.scenario.rooms * c.scenario.membersPerRoom, metric(c)] as [number, number | undefined])
      .filter((p): p is [number, number] => p[1] !== undefined),
  }));
  return lineChart({ ...chart, series });
}

/** The whole report. */
export function renderHtml(r: BenchResults): string {
  const scenarioIds = [...new Set(r.cases.map((c) => c.scenario.id))];
  const latency = scenarioIds.map((id) => latencyChart(id, r.cases.filter((c) => c.scenario.id === id)));
  const payloads = [...new Set(r.cases.filter((c) => c.scenario.kind === 'fanout').map((c) => c.scenario.payloadBytes))];
  const scaling = payloads.flatMap((size) => {
    const fan = r.cases.filter((c) => c.scenario.kind === 'fanout' && c.scenario.payloadBytes === size);
    if (new Set(fan.map((c) => c.scenario.membersPerRoom)).size < 2) return [];
    const tag = `one room, ${size} B payload`;
    return [
      bySockets(fan, (c) => medianOf(c)?.deliveriesPerSec, { title: `deliveries per second vs sockets (${tag})`, xLabel: 'sockets in the room', yLabel: 'deliveries/s', yFormat: count }),
      bySockets(fan, (c) => medianOf(c)?.latencyUs.p99, { title: `p99 latency vs sockets (${tag})`, xLabel: 'sockets in the room', yLabel: 'p99 (log)', logY: true, yFormat: us }),
      bySockets(fan, (c) => medianOf(c)?.serverCpuPerMillion, { title: `server CPU per million deliveries (${tag})`, xLabel: 'sockets in the room', yLabel: 'CPU seconds', yFormat: (v) => v.toFixed(1) }),
    ];
  });
  const m = r.machine;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>roomcast bench ${esc(r.startedAt)}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 1250px; color: #222 }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px }
.charts { display: flex; flex-wrap: wrap; gap: 1em }
.note { color: #555; font-size: 14px }
</style></head><body>
<h1>roomcast bench</h1>
<p class="note">${esc(r.startedAt)} to ${esc(r.finishedAt)}, profile <b>${esc(r.profile)}</b>; Node ${esc(m.node)} on ${m.cores} × ${esc(m.cpus)},
${m.totalMemGiB} GiB, load average at start ${m.loadAverage.map((x) => x.toFixed(2)).join(' ')}. Command: <code>${esc(r.argv.join(' ') || '(defaults)')}</code>.
Every number comes from the median measured window of the median run of its case (by p99); the server, the publisher and the receivers were separate processes on this one machine,
so a busy machine shows up in every column. Compare peers within this run, not across runs.</p>
<h2>roomcast against the peers</h2>
<pre>${esc(printRatios(r.cases) || 'roomcast or its peers did not run')}</pre>
<h2>Cases</h2>
<pre>${esc(printCases(r.cases))}</pre>
${scaling.length > 0 ? `<h2>Scaling with sockets</h2><div class="charts">${scaling.join('\n')}</div>` : ''}
<h2>Latency percentiles per scenario</h2>
<div class="charts">${latency.join('\n')}</div>
${r.micro.length > 0 ? `<h2>Micro-benchmarks</h2><pre>${esc(printMicro(r.micro))}</pre>` : ''}
${r.cpuProfile !== undefined ? `<h2>Server CPU profile</h2><pre>${esc(r.cpuProfile.summary)}</pre>` : ''}
</body></html>
`;
}
