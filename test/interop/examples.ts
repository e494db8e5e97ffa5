/**
 * Helpers for the interop tests: generate the other languages' code into a temp dir, build the
 * Go example there (offline, against Debian's Go sources), and drive the example programs
 * line by line over stdin/stdout.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { requireTool, sleep, withTimeout } from '../helpers.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Debian's Python, which has python3-websockets and python3-protobuf (the pyenv one has not). */
export const PYTHON = '/usr/bin/python3';

/** Why the interop tests cannot run here, or false when every tool is present. */
export function missingTools(): string | false {
  return (
    requireTool('protoc') || requireTool('protoc-gen-go') || requireTool('go', ['version']) || requireTool(PYTHON, ['-c', 'import websockets, google.protobuf'])
  );
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(command, args, { encoding: 'utf8', cwd: options.cwd ?? ROOT, env: options.env ?? process.env });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${r.error?.message ?? `exit ${String(r.status)}`}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** A temp dir laid out like the repository: gen/clients/<lang>, examples/go, bin. */
export interface Workspace {
  dir: string;
  genDir: string;
  goBinary: string;
  remove(): void;
}

/**
 * Generates the clients with `npm run gen:clients`'s script and builds the Go example, all in
 * a fresh temp dir (Go's cache and module path included), leaving the repository untouched.
 */
export function prepareWorkspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-interop-'));
  const remove = (): void => {
    // Go leaves read-only files in its caches.
    spawnSync('chmod', ['-R', 'u+w', dir]);
    rmSync(dir, { recursive: true, force: true });
  };
  const genDir = join(dir, 'src', 'gen', 'clients');
  const goBinary = join(dir, 'bin', 'chat-go');
  try {
    run('bash', ['scripts/gen-clients.sh', genDir]);
    // Same relative layout as the repository, so the example's `replace => ../../src/gen/clients/go` resolves.
    cpSync(join(ROOT, 'examples/go'), join(dir, 'examples/go'), { recursive: true });
    mkdirSync(join(dir, 'bin'));
    run('go', ['build', '-o', goBinary, '.'], {
      cwd: join(dir, 'examples/go'),
      // Offline and self-contained: no proxy, no user config (GOENV), caches in the temp dir.
      env: { ...process.env, GOCACHE: join(dir, 'gocache'), GOPATH: join(dir, 'gopath'), GOPROXY: 'off', GOFLAGS: '-mod=mod', GOENV: 'off', GO111MODULE: 'on' },
    });
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, genDir, goBinary, remove };
}

/** A parsed `event ...` line of an example program. */
export interface PrintedEvent {
  room: string;
  seq: number;
  from: string;
  text?: string;
  data?: string;
}

const EVENT_LINE = /^event room=(\S+) seq=(\d+) from=(\S*) (text|data)=(.*)$/;

/** One running example program. */
export class ExampleProcess {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: Array<() => void> = [];
  private hasExited = false;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.child = spawn(command, args, { cwd: ROOT, env });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      for (const w of this.waiters.splice(0)) w();
    });
    createInterface({ input: this.child.stderr }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        this.hasExited = true;
        resolve(code);
        for (const w of this.waiters.splice(0)) w();
      }),
    );
  }

  /** Resolves with the first printed line matching `pattern`, waiting up to `ms`. */
  async line(pattern: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    const find = (): RegExpMatchArray | undefined => {
      for (const l of this.lines) {
        const m = pattern.exec(l);
        if (m) return m;
      }
      return undefined;
    };
    const deadline = Date.now() + ms;
    for (;;) {
      const m = find();
      if (m) return m;
      if (this.hasExited) {
        // The last lines may still be in the pipe when 'exit' fires.
        await sleep(50);
        const late = find();
        if (late) return late;
        throw new Error(`${this.name} exited before it printed ${String(pattern)}; ${this.describe()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${this.name} to print ${String(pattern)}; ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** What the program printed, for failure messages. */
  describe(): string {
    return `it printed ${JSON.stringify(this.lines)} and on stderr ${JSON.stringify(this.stderr)}`;
  }

  /** The connection id from the program's `welcome` line. */
  async connId(): Promise<string> {
    return (await this.line(/^welcome conn=(\S+)/))[1] ?? '';
  }

  /** Every event the program printed so far. */
  events(): PrintedEvent[] {
    return this.lines.flatMap((l) => {
      const m = EVENT_LINE.exec(l);
      if (!m) return [];
      const e: PrintedEvent = { room: m[1] ?? '', seq: Number(m[2]), from: m[3] ?? '' };
      if (m[4] === 'text') e.text = m[5];
      else e.data = m[5];
      return [e];
    });
  }

  /** Sends one line to the program's stdin (it publishes it). */
  write(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Ends stdin (the program sends `close`), and resolves with its exit code. */
  end(ms = 10_000): Promise<number | null> {
    this.child.stdin.end();
    return withTimeout(this.exited, ms, `${this.name} to exit`);
  }

  /** Stops the program if it still runs. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
  }
}

/** Starts the Go example. */
export function startGo(ws: Workspace, args: string[]): ExampleProcess {
  return new ExampleProcess('the Go example', ws.goBinary, args);
}

/** Starts the Python example with the generated code on its path. */
export function startPython(ws: Workspace, args: string[]): ExampleProcess {
  const env = { ...process.env, PYTHONPATH: join(ws.genDir, 'python'), PYTHONDONTWRITEBYTECODE: '1' };
  return new ExampleProcess('the Python example', PYTHON, [join(ROOT, 'examples/python/chat.py'), ...args], env);
}
