/**
 * The HTML report: one self-contained file (inline SVG and CSS, no scripts, nothing fetched)
 * with the tables of the text output and charts: latency percentiles per scenario and peer,
 * and deliveries per second, p99 and server CPU against the number of sockets.
 */
import type { BenchResults, CapacityResults, CaseResult, PeerName } from '../types.js';
import { kneeOf, printCapacity, printCapacityRatios } from './capacity.js';
import { count, medianOf, us } from './format.js';
import { type Chart, lineChart, type Series } from './svg.js';
import { printStorm } from './storm.js';
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

/** Per scenario, delivered vs offered and p99 vs offered, every peer on each, the knees ringed. */
function capacityCharts(r: CapacityResults): string[] {
  const ids = [...new Set(r.results.map((c) => c.scenario.id))];
  return ids.flatMap((id) => {
    const cases = r.results.filter((c) => c.scenario.id === id && c.status === 'ok');
    const title = `${id}: ${cases[0]?.scenario.title ?? ''}`;
    const line = (metric: 'sustainedPerSec' | 'p99'): Series[] =>
      cases.map((c) => {
        const value = (i: number): number | undefined => {
          const step = c.steps[i];
          const w = step?.run.windows[step.run.median];
          if (w === undefined) return undefined;
          return metric === 'p99' ? w.latencyUs.p99 : w.sustainedPerSec;
        };
        const points = c.steps
          .map((s, i) => [s.offeredPerSec, value(i)] as [number, number | undefined])
          .filter((p): p is [number, number] => p[1] !== undefined);
        const knee = kneeOf(c);
        const kneeY = value(c.knee);
        return {
          name: c.peer,
          color: COLORS[c.peer],
          points,
          mark:
            knee !== undefined && kneeY !== undefined
              ? { at: [knee.step.offeredPerSec, kneeY] as [number, number], label: `knee at ${count(knee.step.offeredPerSec)} offered deliveries/s` }
              : undefined,
        };
      });
    return [
      lineChart({
        title: `${title}: delivered vs offered`,
        xLabel: 'offered deliveries/s (log)',
        yLabel: 'delivered/s sustained (log)',
        series: line('sustainedPerSec'),
        logX: true,
        logY: true,
        xFormat: count,
        yFormat: count,
        diagonal: 'delivered = offered',
      }),
      lineChart({
        title: `${title}: p99 vs offered`,
        xLabel: 'offered deliveries/s (log)',
        yLabel: 'p99 latency (log)',
        series: line('p99'),
        logX: true,
        logY: true,
        xFormat: count,
        yFormat: us,
        hLine: { y: r.sloMs * 1000, label: `SLO ${r.sloMs} ms` },
      }),
    ];
  });
}

/** The whole report. */
export function renderHtml(r: BenchResults): string {
  const scenarioIds = [...new Set(r.cases.map((c) => c.scenario.id))];
  const latency = scenarioIds.map((id) =>
    latencyChart(
      id,
      r.cases.filter((c) => c.scenario.id === id),
    ),
  );
  const payloads = [...new Set(r.cases.filter((c) => c.scenario.kind === 'fanout').map((c) => c.scenario.payloadBytes))];
  const scaling = payloads.flatMap((size) => {
    const fan = r.cases.filter((c) => c.scenario.kind === 'fanout' && c.scenario.payloadBytes === size);
    if (new Set(fan.map((c) => c.scenario.membersPerRoom)).size < 2) return [];
    const tag = `one room, ${size} B payload`;
    return [
      bySockets(fan, (c) => medianOf(c)?.deliveriesPerSec, {
        title: `deliveries per second vs sockets (${tag})`,
        xLabel: 'sockets in the room',
        yLabel: 'deliveries/s',
        yFormat: count,
      }),
      bySockets(fan, (c) => medianOf(c)?.latencyUs.p99, {
        title: `p99 latency vs sockets (${tag})`,
        xLabel: 'sockets in the room',
        yLabel: 'p99 (log)',
        logY: true,
        yFormat: us,
      }),
      bySockets(fan, (c) => medianOf(c)?.serverCpuPerMillion, {
        title: `server CPU per million deliveries (${tag})`,
        xLabel: 'sockets in the room',
        yLabel: 'CPU seconds',
        yFormat: (v) => v.toFixed(1),
      }),
    ];
  });
  const m = r.machine;
  const receivers = r.receiver === 'c' ? 'the C receiver (bench/native/receiver.c)' : 'Node receivers (bench/loadgen/receiver.ts)';
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
so a busy machine shows up in every column. Compare peers within this run, not across runs. Member sockets were held by ${receivers}.</p>
${r.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
${capacitySection(r)}
${
  r.cases.length > 0
    ? `<h2>roomcast against the peers</h2>
<pre>${esc(printRatios(r.cases) || 'roomcast or its peers did not run')}</pre>
<h2>Cases</h2>
<pre>${esc(printCases(r.cases))}</pre>`
    : ''
}
${r.storm !== undefined && r.storm.length > 0 ? `<h2>Recovery storm</h2><pre>${esc(printStorm(r.storm))}</pre>` : ''}
${scaling.length > 0 ? `<h2>Scaling with sockets</h2><div class="charts">${scaling.join('\n')}</div>` : ''}
${
  latency.length > 0
    ? `<h2>Latency percentiles per scenario</h2>
<div class="charts">${latency.join('\n')}</div>`
    : ''
}
${r.micro.length > 0 ? `<h2>Micro-benchmarks</h2><pre>${esc(printMicro(r.micro))}</pre>` : ''}
${r.cpuProfile !== undefined ? `<h2>Server CPU profile</h2><pre>${esc(r.cpuProfile.summary)}</pre>` : ''}
</body></html>
`;
}

function capacitySection(r: BenchResults): string {
  if (r.capacity === undefined) return '';
  const ratios = printCapacityRatios(r.capacity);
  return `<h2>Capacity: the knee of each peer</h2>
${ratios !== '' ? `<pre>${esc(ratios)}</pre>` : ''}
<pre>${esc(printCapacity(r.capacity))}</pre>
<div class="charts">${capacityCharts(r.capacity).join('\n')}</div>`;
}
