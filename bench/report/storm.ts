/**
 * The recovery storm in text (stdout and the HTML report): one row per storm, then a legend.
 */
import type { StormResult } from '../types.js';
import { bytes, columns, ratio, us } from './format.js';

function resyncText(r: StormResult): string {
  const parts = Object.entries(r.resync).map(([why, n]) => `${n} ${why}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

/** The storms as a table with a legend. */
export function printStorm(results: StormResult[]): string {
  const rows = [
    [
      'recovery storm',
      'status',
      'sockets',
      'srv',
      'pub/s',
      'rejoined',
      'caught up',
      'missing',
      'dup',
      'recovered',
      'resync',
      'replayed',
      'pub p99 before',
      'pub p99 storm',
      'storm/before',
      'srv cpu',
      'srv peak',
    ],
  ];
  for (const r of results) {
    const ok = r.status === 'ok' || r.caughtUpSeconds > 0;
    rows.push([
      r.id,
      r.status,
      String(r.sockets),
      `${r.servers}`,
      String(r.rate),
      ok ? `${r.rejoinSeconds.toFixed(2)}s` : '-',
      ok ? `${r.caughtUpSeconds.toFixed(2)}s` : '-',
      String(r.missing),
      String(r.duplicates),
      String(r.recovered),
      resyncText(r),
      String(r.replayed),
      r.publish.before.count > 0 ? us(r.publish.before.p99) : '-',
      r.publish.during.count > 0 ? us(r.publish.during.p99) : '-',
      ratio(r.publish.during.p99, r.publish.before.p99),
      `${(r.serverCpu.user + r.serverCpu.system).toFixed(2)}s`,
      r.serverPeakRss > 0 ? bytes(r.serverPeakRss) : '-',
    ]);
  }
  const notes = results.flatMap((r) => (r.note !== undefined ? [`${r.id}: ${r.note}`] : []));
  const legend = [
    'every member socket of one room is dropped at once (no close frame) while a publisher sends steadily; each reconnects',
    'and rejoins with since (its last epoch and seq) and previous_conn_id (on Redis: 2 roomcast processes, each socket rejoining on the other one)',
    "rejoined: drop -> last JoinReply; caught up: drop -> every socket has the publisher's latest seq as of the last JoinReply",
    'missing / dup: seqs a socket never got / got twice, over its whole life (both must be 0); recovered / resync: rejoins that replayed what',
    'they missed / that could not (by reason: too_old, epoch_changed); replayed: events sent on rejoin (JoinReply.missed summed)',
    "pub p99 before / storm: the publisher's request-to-reply p99 before the drop / from the drop to caught up",
    'srv cpu: server CPU (user+sys, all processes) from the drop to caught up; srv peak: server peak RSS (all processes)',
    'roomcast only (the peers have no recovery); Node member processes (bench/loadgen/storm.ts): the C receiver does not run the storm',
  ].join('\n');
  return `${columns(rows)}\n${legend}\n${notes.length > 0 ? `${notes.join('\n')}\n` : ''}`;
}
