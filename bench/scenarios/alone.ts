/**
 * Lets a scenario file run on its own: `node --import tsx bench/scenarios/<kind>.ts [flags]` is
 * the bench runner limited to that scenario family (no micro-benchmarks), with the same flags.
 *
 * The runner is started as a child process, not imported: the runner imports the scenario files
 * (it owns the table of them), so a scenario file that imported the runner would close a loop.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Whether the module at `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && moduleUrl === pathToFileURL(script).href;
}

/** Runs the bench runner for scenario family `kind` with this process's flags, then exits with its code. */
export function runAlone(kind: string): never {
  const runner = fileURLToPath(new URL('../run.ts', import.meta.url));
  const r = spawnSync(process.execPath, [...process.execArgv, runner, '--scenario', kind, '--no-micro', ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
