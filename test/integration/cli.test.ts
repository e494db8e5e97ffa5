/**
 * The `roomcast` command as a process: help, configuration errors, the native-addon check, and
 * a graceful stop on SIGTERM/SIGINT.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OPTIONS, flagName } from '../../src/config.js';
import { CloseCode } from '../../src/protocol/errors.js';
import { TestClient, withTimeout } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', join(ROOT, 'src/cli.ts')];

function run(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...cleanEnv(), ...env }, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The parent's environment without ROOMCAST_* variables, so only the test's own apply. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROOMCAST_') && k !== 'UWS_USE_FALLBACK'));
}

/** Starts the server process and resolves once it logs "listening", with the port. */
async function startProcess(args: string[]): Promise<{ child: ChildProcess; port: number; logs: () => string }> {
  const child = spawn(process.execPath, [...CLI, '--port', '0', '--log-format', 'json', ...args], { cwd: ROOT, env: cleanEnv() });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{') || !line.endsWith('}')) continue;
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'listening' && typeof entry.port === 'number') resolve(entry.port);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${String(code)} before listening: ${out}`)));
  });
  let port: number;
  try {
    port = await withTimeout(listening, 20_000, 'the server to listen');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { child, port, logs: () => out };
}

describe('roomcast command line', () => {
  it('--help lists every option with its flag and environment variable', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    for (const o of OPTIONS) assert.ok(r.stdout.includes(flagName(o.key)), `--help mentions ${flagName(o.key)}`);
    assert.match(r.stdout, /ROOMCAST_MAX_PAYLOAD_BYTES/);
  });

  it('--version prints the package version', () => {
    const r = run(['--version']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^roomcast \d+\.\d+\.\d+/);
  });

  it('stops with exit code 2 and a message naming the option for bad configuration', () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--port', '70000'], {}, /--port \(command line\): .*65535/],
      [['--port', 'eighty'], {}, /--port: expected an integer/],
      [['--colour', 'red'], {}, /Unknown option '--colour'/],
      [[], { ROOMCAST_PORT: '-1' }, /ROOMCAST_PORT \(environment\)/],
      [[], { ROOMCAST_COLOUR: 'red' }, /unknown variable ROOMCAST_COLOUR/],
      [['--slow-consumer', 'ignore'], {}, /--slow-consumer \(command line\)/],
      [['--max-payload-bytes', '60000'], {}, /maxFrameBytes \(65536\) must be at least 80512/],
    ];
    for (const [args, env, pattern] of cases) {
      const r = run(args, env);
      assert.equal(r.status, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });

  it('reads a JSON config file and rejects unknown keys in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'roomcast-cli-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ port: 9002, tickMS: 5 }));
    const r = run(['--config', bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option "tickMS"/);
    const missing = run(['--config', join(dir, 'nope.json')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /ENOENT/);
  });

  it('refuses to run on the pure-JS fallback of uWebSockets.js', () => {
    const r = run([], { UWS_USE_FALLBACK: '1' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /native addon/);
    assert.match(r.stderr, /--allow-js-fallback/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal}: closes connections with 1001 and exits 0`, async () => {
      const { child, port, logs } = await startProcess([]);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const clients = await Promise.all([
        TestClient.connect(`ws://127.0.0.1:${port}/rooms/a`, 'proto'),
        TestClient.connect(`ws://127.0.0.1:${port}/rooms/a`, 'json'),
      ]);
      child.kill(signal);
      for (const c of clients) {
        const closed = await withTimeout(c.closed, 10_000, 'close on shutdown');
        assert.equal(closed.code, CloseCode.CLOSE_CODE_GOING_AWAY);
        assert.equal(closed.reason, 'server shutting down');
      }
      assert.equal(await withTimeout(exited, 10_000, 'exit'), 0, logs());
      assert.match(logs(), /"msg":"closed"/);
    });
  }
});
