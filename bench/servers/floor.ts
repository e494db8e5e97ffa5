/**
 * Peer: the floor, a minimal WebSocket rooms server in C (../native/floor.c): one epoll loop,
 * members of `/rooms/<room>`, every binary frame written to every other member of its room with
 * one send(2) each, no batching. What the machine does with no server work at all; the bench
 * starts the binary itself (../harness/server-process.ts), building it with `cc` on first use.
 *
 * Runs alone: `node --import tsx bench/servers/floor.ts --port 9104` (builds it, then runs it
 * with the same flags; it also takes `--max-seconds`, 7200 by default).
 */
import { spawnSync } from 'node:child_process';
import { nativeProgram } from '../native/build.js';

const build = nativeProgram('floor');
if (!build.ok) {
  process.stderr.write(`${build.problem}\n`);
  process.exit(1);
}
const r = spawnSync(build.path, process.argv.slice(2), { stdio: 'inherit' });
process.exit(r.status ?? 1);
