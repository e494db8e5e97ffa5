/**
 * How the bench starts roomcast: the one place to change it. The built command-line server
 * (`dist/cli.js`, what `npm ci` builds and users run), on loopback, logging JSON so the launcher
 * can read the bound port from the "listening" line.
 *
 * Runs alone too: `node --import tsx bench/servers/roomcast.ts --port 9100`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenArgs, type Listen } from './serve.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');

/**
 * Options the bench passes to every roomcast it starts, besides host and port. Three limits would
 * refuse the load generator and are lifted: the per-address connection cap and connect rate
 * (receivers open hundreds of sockets per source address at once) and the per-connection rate
 * limit (one publisher socket sends up to 60 publishes/s in bursts of 20). Every other default
 * stays as users get it.
 */
export const ROOMCAST_FLAGS: readonly string[] = [
  '--log-format',
  'json',
  '--log-level',
  'info',
  '--max-connections-per-ip',
  '0',
  '--max-connects-per-ip-per-sec',
  '0',
  '--rate-limit-per-sec',
  '0',
];

/** The Node flags `npm start` and the `roomcast` bin (its shebang) run the server with. */
export const ROOMCAST_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** The node arguments that start roomcast listening on `listen`, as `npm start` would. */
export function roomcastArgs(listen: Listen): string[] {
  return [...ROOMCAST_NODE_FLAGS, CLI, '--host', listen.host, '--port', String(listen.port), ...ROOMCAST_FLAGS];
}

/** Why dist/ cannot be benchmarked as it is (missing, or older than src/), or undefined. */
export function distProblem(): string | undefined {
  if (!existsSync(CLI)) return `${CLI} is missing: run \`npm run build\` (npm ci does it) before benchmarking`;
  const built = statSync(CLI).mtimeMs;
  const newest = newestMtime(join(ROOT, 'src'));
  if (newest > built) return 'dist/ is older than src/: the bench runs the built server, so run `npm run build` to measure your changes';
  return undefined;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'gen') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = spawnSync(process.execPath, roomcastArgs(listenArgs()), { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
