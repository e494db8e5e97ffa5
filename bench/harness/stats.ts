/**
 * Adding up what the receivers recorded: merge their histograms and per-publish counts into one
 * window result, and pick the median window.
 */
import * as hdr from 'hdr-histogram-js';
import type { WindowReport } from '../loadgen/ipc.js';
import { latencyHistogram } from '../loadgen/recorder.js';
import type { Percentiles, RunResult, WindowResult } from '../types.js';

/** The percentiles the bench reports, from a histogram in µs. */
export function percentiles(h: hdr.Histogram): Percentiles {
  if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, count: 0 };
  return {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    count: h.totalCount,
  };
}

/** Percentiles of a compressed histogram. */
export function decodePercentiles(encoded: string): Percentiles {
  return percentiles(hdr.decodeFromCompressedBase64(encoded));
}

/** The delivery part of one window, from every receiver's report of it. */
export interface MergedDeliveries {
  delivered: number;
  latencyUs: Percentiles;
  completionUs: Percentiles;
  incompletePublishes: number;
  /** CLOCK_MONOTONIC ns of the window's last arrival anywhere (0 if none). */
  lastArrivalNs: number;
  /** Per publish of the window: the latency of its last delivery, µs (0 if none). */
  lastUs: Float64Array;
}

/**
 * Merges the receivers' reports of one window. `expectedFor(k)` is how many deliveries the
 * window's k-th publish should make (its room's size).
 */
export function mergeWindow(parts: WindowReport[], publishes: number, expectedFor: (k: number) => number): MergedDeliveries {
  const latency = latencyHistogram();
  let delivered = 0;
  let lastArrivalNs = 0;
  const counts = new Uint32Array(publishes);
  const last = new Float64Array(publishes);
  for (const p of parts) {
    latency.add(hdr.decodeFromCompressedBase64(p.histogram));
    delivered += p.received;
    lastArrivalNs = Math.max(lastArrivalNs, p.lastArrivalNs);
    for (let k = 0; k < publishes; k++) {
      counts[k] = (counts[k] as number) + (p.counts[k] ?? 0);
      last[k] = Math.max(last[k] as number, p.lastUs[k] ?? 0);
    }
  }
  const completion = latencyHistogram();
  let incompletePublishes = 0;
  for (let k = 0; k < publishes; k++) {
    if ((counts[k] as number) >= expectedFor(k)) completion.recordValue(Math.max(1, last[k] as number));
    else incompletePublishes += 1;
  }
  return { delivered, latencyUs: percentiles(latency), completionUs: percentiles(completion), incompletePublishes, lastArrivalNs, lastUs: last };
}

/**
 * How fast the latency of a window's publishes grows with their intended send time: the
 * least-squares slope of each publish's last-delivery latency against its due time (both in the
 * same unit), over the publishes that reached anyone. 0 for a server that keeps up; a server
 * that delivers at a fraction f of the offered rate builds a queue, and its latency grows at
 * 1/f - 1. A fit over every publish, unlike the first and last arrival alone, is not moved much
 * by one late moment at either end. `dueNs(k)` is the due time of the window's k-th publish.
 */
export function latencySlope(dueNs: (k: number) => number, lastUs: ArrayLike<number>): number {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  const t0 = dueNs(0);
  for (let k = 0; k < lastUs.length; k++) {
    const y = lastUs[k] as number;
    if (!(y > 0)) continue;
    const x = (dueNs(k) - t0) / 1000;
    n += 1;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const d = n * sxx - sx * sx;
  return n < 2 || d <= 0 ? 0 : (n * sxy - sx * sy) / d;
}

/** Index of the median window by p99 latency (the lower middle one for an even count). */
export function medianWindow(windows: readonly WindowResult[]): number {
  if (windows.length === 0) return -1;
  const order = windows.map((w, i) => ({ i, p99: w.latencyUs.p99 })).sort((a, b) => a.p99 - b.p99 || a.i - b.i);
  return (order[Math.floor((order.length - 1) / 2)] as { i: number }).i;
}

/** Index of the median run among the successful ones, by the p99 of each run's median window. */
export function medianRun(runs: readonly RunResult[]): number {
  const ok = runs.map((r, i) => ({ i, w: r.status === 'ok' ? r.windows[r.median] : undefined })).filter((x) => x.w !== undefined);
  if (ok.length === 0) return -1;
  ok.sort((a, b) => (a.w?.latencyUs.p99 ?? 0) - (b.w?.latencyUs.p99 ?? 0) || a.i - b.i);
  return (ok[Math.floor((ok.length - 1) / 2)] as { i: number }).i;
}
