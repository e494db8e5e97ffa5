/**
 * Builds the bench's C programs (the receiver: ./receiver.c with ./dialects.c and ./recorder.c;
 * the floor: ./floor.c with ./sha1.c) with the machine's C compiler at run time, into a directory under the system's temp dir keyed by a hash of the sources and flags,
 * so a build is reused until the source changes and no binary ever lands in the repository.
 * `CC` picks the compiler (default `cc`); where there is none, the caller falls back (Node
 * receivers) or skips (the floor peer).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The C programs of the bench. */
export type NativeProgram = 'receiver' | 'floor';

/** A built program, or why there is none. */
export type NativeBuild = { ok: true; path: string } | { ok: false; problem: string };

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** The C files of each program (every one includes the headers beside it). */
const SOURCES: Readonly<Record<NativeProgram, readonly string[]>> = {
  receiver: ['receiver.c', 'dialects.c', 'recorder.c'],
  floor: ['floor.c', 'sha1.c'],
};
const FLAGS = ['-O2', '-std=gnu11', '-Wall'];
const built = new Map<string, NativeBuild>();

/** The compiler command: `CC` or `cc`. */
function compiler(): string {
  return process.env.CC !== undefined && process.env.CC !== '' ? process.env.CC : 'cc';
}

/** Builds `program` once per source version (and once per process); never throws. */
export function nativeProgram(program: NativeProgram): NativeBuild {
  const cc = compiler();
  const memo = built.get(`${cc} ${program}`);
  if (memo !== undefined) return memo;
  const result = build(program, cc);
  built.set(`${cc} ${program}`, result);
  return result;
}

function build(program: NativeProgram, cc: string): NativeBuild {
  const sources = SOURCES[program].map((f) => join(HERE, f));
  const headers = readdirSync(HERE)
    .filter((f) => f.endsWith('.h'))
    .sort()
    .map((f) => join(HERE, f));
  const hash = createHash('sha256');
  for (const f of [...sources, ...headers]) hash.update(readFileSync(f));
  hash.update(`${cc} ${FLAGS.join(' ')}`);
  const dir = join(tmpdir(), 'roomcast-bench-native');
  const path = join(dir, `${program}-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(path)) return { ok: true, path };
  mkdirSync(dir, { recursive: true });
  // Built under a name of its own and renamed into place, so two benches building at once never
  // run a half-written binary.
  const partial = `${path}.${process.pid}.tmp`;
  const r = spawnSync(cc, [...FLAGS, '-I', HERE, '-o', partial, ...sources], { encoding: 'utf8', timeout: 120_000 });
  if (r.error !== undefined || r.status !== 0) {
    rmSync(partial, { force: true });
    const why = r.error !== undefined ? r.error.message : r.stderr.trim().split('\n').slice(-5).join('\n') || `exit ${String(r.status)}`;
    return { ok: false, problem: `cannot build bench/native/${program}.c with ${cc}: ${why}` };
  }
  renameSync(partial, path);
  return { ok: true, path };
}
