/**
 * Starts a server under test in its own process and stops it: roomcast through its launcher
 * (../servers/roomcast.ts), each Node peer from its file in ../servers/, the floor as the C
 * program ../native/floor.c, built on first use. Every one announces its port in a JSON line
 * with "msg":"listening"; the launcher waits for that line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nativeProgram } from '../native/build.js';
import { roomcastArgs } from '../servers/roomcast.js';
import type { PeerName } from '../types.js';

const BENCH = fileURLToPath(new URL('..', import.meta.url));
/** Ends a server whose runner is gone (see the file). */
const GUARD = pathToFileURL(join(BENCH, 'servers', 'exit-with-runner.mjs')).href;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** A running server process. */
export interface ServerProcess {
  readonly peer: PeerName;
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  /** The last lines it printed (for error messages). */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited in time. Resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Options for starting a server. */
export interface StartOptions {
  /** Write a V8 CPU profile of the server into this directory (`node --cpu-prof`). */
  cpuProfDir?: string | undefined;
  /** More roomcast flags after the bench's own (the recovery storm's broker and history, a token key); roomcast only. */
  roomcastFlags?: readonly string[] | undefined;
  /** More node flags for a Node server (e.g. `--heapsnapshot-signal=SIGUSR2`). */
  nodeArgs?: readonly string[] | undefined;
}

/** The node arguments that start Node server `peer` on an ephemeral loopback port. */
export function serverArgs(peer: Exclude<PeerName, 'floor'>, roomcastFlags: readonly string[] = []): string[] {
  const listen = { host: '127.0.0.1', port: 0 };
  if (peer === 'roomcast') return [...roomcastArgs(listen), ...roomcastFlags];
  return ['--import', 'tsx', join(BENCH, 'servers', `${peer}.ts`), '--host', listen.host, '--port', '0'];
}

/** The command that starts `peer`: node with the runner guard preloaded, or the floor's binary. */
function serverCommand(peer: PeerName, options: StartOptions): { file: string; args: string[] } {
  if (peer === 'floor') {
    const build = nativeProgram('floor');
    if (!build.ok) throw new Error(build.problem);
    // It watches its stdin and its parent itself (the GUARD's job for the Node servers).
    return { file: build.path, args: ['--host', '127.0.0.1', '--port', '0'] };
  }
  const prof = options.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir];
  return { file: process.execPath, args: [...prof, ...(options.nodeArgs ?? []), '--import', GUARD, ...serverArgs(peer, options.roomcastFlags)] };
}

/** Starts `peer` and resolves once it listens. */
export async function startServer(peer: PeerName, options: StartOptions = {}): Promise<ServerProcess> {
  const { file, args } = serverCommand(peer, options);
  // stdin is a pipe only so that the server can tell when this process is gone (GUARD). The
  // environment goes without ROOMCAST_* variables: the bench configures roomcast by its flags
  // alone, so a shell's settings cannot change what is measured.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROOMCAST_')));
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString()).slice(-8192);
  };
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${peer} did not listen within ${START_TIMEOUT_MS} ms:\n${tail}`));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      keep(d);
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const port = listeningPort(line);
        if (port !== undefined) {
          clearTimeout(timer);
          resolve(port);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${peer} exited with ${String(code)} before listening:\n${tail}`));
    });
  });

  return {
    peer,
    pid: child.pid as number,
    host: '127.0.0.1',
    port,
    output: () => tail,
    stop: () => stopChild(child, exited),
  };
}

function listeningPort(line: string): number | undefined {
  if (!line.includes('"listening"')) return undefined;
  try {
    const o = JSON.parse(line) as { msg?: unknown; port?: unknown };
    return o.msg === 'listening' && typeof o.port === 'number' ? o.port : undefined;
  } catch {
    return undefined;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
