/**
 * Number formatting shared by the text table and the HTML report.
 */
import type { CaseResult, RunResult, WindowResult } from '../types.js';

/** 412 -> "412µs", 3600 -> "3.60ms", 1_200_000 -> "1.20s". */
export function us(v: number): string {
  if (v < 1000) return `${Math.round(v)}µs`;
  if (v < 1_000_000) return `${(v / 1000).toPrecision(3)}ms`;
  return `${(v / 1_000_000).toPrecision(3)}s`;
}

/** 98_765 -> "98.8k", 1_234_567 -> "1.23M". */
export function count(v: number): string {
  if (v < 1000) return String(Math.round(v));
  if (v < 1_000_000) return `${(v / 1000).toPrecision(3)}k`;
  return `${(v / 1_000_000).toPrecision(3)}M`;
}

/** Bytes as KiB/MiB. */
export function bytes(v: number): string {
  if (v < 1024) return `${Math.round(v)}B`;
  if (v < 1024 * 1024) return `${(v / 1024).toPrecision(3)}KiB`;
  return `${(v / 1024 / 1024).toPrecision(3)}MiB`;
}

/** A ratio like "1.23x", or "-" when it cannot be computed. */
export function ratio(a: number, b: number): string {
  if (!(a > 0) || !(b > 0)) return '-';
  return `${(a / b).toFixed(2)}x`;
}

/** Reach as a percentage with enough digits to show a single lost delivery. */
export function percent(v: number): string {
  if (v === 1) return '100%';
  return `${(Math.floor(v * 10000) / 100).toFixed(2)}%`;
}

/** What a case reports: its median run and that run's median window (none if it did not run). */
export function reported(c: CaseResult): { run: RunResult; window: WindowResult } | undefined {
  if (c.status !== 'ok') return undefined;
  const run = c.runs[c.median];
  const window = run?.windows[run.median];
  return run !== undefined && window !== undefined ? { run, window } : undefined;
}

/** The median window of a case's median run. */
export function medianOf(c: CaseResult): WindowResult | undefined {
  return reported(c)?.window;
}

/** Pads every column of `rows` to its widest cell; the first column is left-aligned. */
export function columns(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
