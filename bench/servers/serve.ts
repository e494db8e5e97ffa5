/**
 * The little every peer server shares: read `--host` and `--port` from the command line,
 * announce the bound port as one JSON line on stdout (the shape roomcast's own log line has,
 * `{"msg":"listening","port":N}`), and stop on SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';

/** Where a peer server listens. */
export interface Listen {
  host: string;
  port: number;
}

/** The `--host` (default 127.0.0.1) and `--port` (default 0: any free port) flags. */
export function listenArgs(argv: string[] = process.argv.slice(2)): Listen {
  const { values } = parseArgs({ args: argv, options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected 0-65535, got ${values.port}`);
  return { host: values.host, port };
}

/** Prints the line the bench launcher waits for. */
export function announce(name: string, port: number): void {
  process.stdout.write(`${JSON.stringify({ name, port, msg: 'listening' })}\n`);
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits 0. */
export function stopOnSignal(stop: () => void | Promise<void>): void {
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    void Promise.resolve()
      .then(stop)
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
