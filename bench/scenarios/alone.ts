/**
 * Lets a scenario file run on its own: `node --import tsx bench/scenarios/<kind>.ts [flags]` is
 * the bench runner limited to that scenario family (no micro-benchmarks), with the same flags.
 */
import { fileURLToPath } from 'node:url';

/** Runs the bench for `kind` when `moduleUrl` is the script node was started with. */
export function runAlone(moduleUrl: string, kind: string): void {
  if (process.argv[1] === undefined || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  void import('../run.js').then((run) => run.main(['--scenario', kind, '--no-micro', ...process.argv.slice(2)]));
}
