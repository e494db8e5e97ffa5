/**
 * CPU time and memory of a process, read from Linux's /proc, so every server and load
 * generator is measured the same way from outside, whatever it runs.
 */
import { readFileSync } from 'node:fs';

/** /proc reports CPU in clock ticks of USER_HZ, which Linux fixes at 100 for user space. */
const TICKS_PER_SECOND = 100;

/** One reading. */
export interface ProcSample {
  /** CPU seconds in user mode, all threads. */
  user: number;
  /** CPU seconds in the kernel (system calls, here mostly socket I/O), all threads. */
  system: number;
  /** Resident set size, bytes. */
  rss: number;
  /** Peak resident set size so far, bytes. */
  peakRss: number;
}

/** Reads /proc/<pid>; undefined once the process is gone. */
export function readProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces; the fields after it start past the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    return {
      user: Number(fields[11]) / TICKS_PER_SECOND,
      system: Number(fields[12]) / TICKS_PER_SECOND,
      rss: kb(status, 'VmRSS'),
      peakRss: kb(status, 'VmHWM'),
    };
  } catch {
    return undefined;
  }
}

function kb(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** CPU seconds between two readings. */
export function cpuBetween(a: ProcSample | undefined, b: ProcSample | undefined): { user: number; system: number } {
  if (a === undefined || b === undefined) return { user: 0, system: 0 };
  return { user: b.user - a.user, system: b.system - a.system };
}

/** Whether this machine has the /proc the bench reads. */
export function hasProc(): boolean {
  return readProc(process.pid) !== undefined;
}
