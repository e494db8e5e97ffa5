#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * `roomcast` / `npm start`: load the config, start the server, stop cleanly on SIGINT/SIGTERM.
 *
 * Both start Node with `--max-semi-space-size=8` (MB): V8's young generation otherwise grows to
 * 3 x 16 MB under a burst of connects and stays resident, which alone was ~1.5 KB of RSS per
 * connection at 10k sockets (bench/memory.ts). The publish path allocates little, so the smaller
 * young generation costs no measurable throughput (README, Benchmarks).
 * Exit codes: 0 after a clean stop, 2 for a bad configuration, 1 for anything else.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, usage } from './config.js';
import { createLogger } from './log.js';
import { createServer, NativeAddonError } from './server/app.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(): Promise<number> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`roomcast: configuration error:\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { request, config } = loaded;
  if (request.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (request.version) {
    process.stdout.write(`roomcast ${version()}\n`);
    return 0;
  }
  const log = createLogger(config);
  let server: ReturnType<typeof createServer>;
  try {
    server = createServer(config, { log });
  } catch (err) {
    if (err instanceof NativeAddonError) {
      process.stderr.write(`roomcast: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  try {
    await server.listen();
  } catch (err) {
    log.fatal({ err }, 'could not start');
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        log.warn('shutdown grace period over; exiting');
        resolve(0);
      }, config.shutdownGraceMs);
      force.unref();
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'error during shutdown');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`roomcast: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
