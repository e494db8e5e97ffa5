/**
 * Configuration: precedence of the four sources, validation messages, the frozen result.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, configFrom, DEFAULTS, envName, flagName, loadConfig, OPTIONS } from '../../src/config.js';

function file(obj: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-config-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return path;
}

describe('config', () => {
  it('defaults alone are valid, and the result is frozen', () => {
    const { config } = loadConfig([], {});
    assert.deepEqual(config, DEFAULTS);
    assert.ok(Object.isFrozen(config));
    assert.equal(config.port, 9001);
  });

  it('layers defaults < file < environment < flags', () => {
    const path = file({ port: 1111, tickMs: 100, host: '0.0.0.0' });
    const env = { ROOMCAST_PORT: '2222', ROOMCAST_TICK_MS: '200' };
    const { config } = loadConfig(['--config', path, '--port', '3333'], env);
    assert.equal(config.port, 3333, 'flag wins');
    assert.equal(config.tickMs, 200, 'env beats file');
    assert.equal(config.host, '0.0.0.0', 'file beats default');
    assert.equal(config.maxFrameBytes, DEFAULTS.maxFrameBytes);
    const viaEnv = loadConfig([], { ROOMCAST_CONFIG: path });
    assert.equal(viaEnv.config.port, 1111, 'ROOMCAST_CONFIG names the file');
  });

  it('reads history rules from the file as objects and from flags and environment as pattern/size/ttlSec, and refuses bad ones', () => {
    const path = file({ history: [{ rooms: 'chat:*', size: 200, ttlSec: 600 }] });
    assert.deepEqual(loadConfig(['--config', path], {}).config.history, [{ rooms: 'chat:*', size: 200, ttlSec: 600 }]);
    const fromFlag = loadConfig(['--history', 'chat:*/200/600, */0/0'], {}).config.history;
    assert.deepEqual(fromFlag, [
      { rooms: 'chat:*', size: 200, ttlSec: 600 },
      { rooms: '*', size: 0, ttlSec: 0 },
    ]);
    assert.deepEqual(loadConfig([], { ROOMCAST_HISTORY: 'lobby/5/10' }).config.history, [{ rooms: 'lobby', size: 5, ttlSec: 10 }]);
    assert.throws(
      () => loadConfig(['--history', 'chat:*/200'], {}),
      (err: Error) => err instanceof ConfigError && err.message.includes('--history: history rule "chat:*/200"'),
    );
    assert.throws(() => loadConfig(['--history', 'bad room!/1/1'], {}), ConfigError);
    assert.throws(() => configFrom({ history: [{ rooms: 'a*b*', size: 1, ttlSec: 1 }] }), /a room name, a prefix ending in \*, or \*/);
    assert.throws(() => configFrom({ history: [{ rooms: '*', size: -1, ttlSec: 1 }] }), ConfigError);
  });

  it('parses each kind from strings', () => {
    const { config } = loadConfig(['--allow-js-fallback', '--slow-consumer', 'drop'], { ROOMCAST_LOG_LEVEL: 'debug', ROOMCAST_API_KEY: 'k'.repeat(20) });
    assert.equal(config.allowJsFallback, true);
    assert.equal(config.slowConsumer, 'drop');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.apiKey, 'k'.repeat(20));
    assert.equal(loadConfig([], { ROOMCAST_ALLOW_JS_FALLBACK: 'false' }).config.allowJsFallback, false);
  });

  it('names the option and its source in every error', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => loadConfig(['--port', '99999'], {}), /--port \(command line\)/],
      [() => loadConfig([], { ROOMCAST_MAX_FRAME_BYTES: '12' }), /ROOMCAST_MAX_FRAME_BYTES \(environment\)/],
      [() => loadConfig(['--config', file({ prot: 1 })], {}), /unknown option "prot"/],
      [() => loadConfig(['--config', file({ port: '80' })], {}), /port \(config file .*\): .*number/],
      [() => loadConfig(['--config', file('{not json')], {}), /not valid JSON/],
      [() => loadConfig(['--config', file([1])], {}), /expected a JSON object/],
      [() => loadConfig(['stray'], {}), /Unexpected argument/],
      [() => loadConfig([], { ROOMCAST_ALLOW_JS_FALLBACK: 'maybe' }), /ROOMCAST_ALLOW_JS_FALLBACK: expected true or false/],
    ];
    for (const [fn, pattern] of cases) assert.throws(fn, (e: unknown) => e instanceof ConfigError && pattern.test(e.message), String(pattern));
  });

  it('rejects contradictory options, naming both', () => {
    assert.throws(
      () => configFrom({ maxPayloadBytes: 64 * 1024, maxFrameBytes: 64 * 1024 }),
      /maxFrameBytes \(65536\) must be at least .* maxPayloadBytes \(65536\)/,
    );
    assert.throws(() => configFrom({ maxBackpressure: 32 * 1024 }), /maxBackpressure \(32768\) must be at least maxFrameBytes/);
    assert.throws(() => configFrom({ idleTimeoutSec: 4 }), /idleTimeoutSec \(4\) must be 0/);
    assert.throws(() => configFrom({ tickMs: 5 }), /tickMs \(5\)/);
    assert.throws(() => configFrom({ apiKey: 'short' }), /apiKey must be at least 16/);
  });

  it('maps every option to a flag and an environment variable', () => {
    assert.equal(flagName('maxPayloadBytes'), '--max-payload-bytes');
    assert.equal(envName('maxPayloadBytes'), 'ROOMCAST_MAX_PAYLOAD_BYTES');
    for (const o of OPTIONS) assert.ok(o.key in DEFAULTS, `${o.key} has a default`);
    assert.equal(OPTIONS.length, Object.keys(DEFAULTS).length, 'no default without an option row');
  });
});
