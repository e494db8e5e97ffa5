/**
 * What the slow-consumer check costs: server CPU with N idle WebSocket connections, with the
 * check at a given period, over a measured window. Run it twice and compare, e.g.
 *   node --import tsx scripts/slow-check-cost.ts --sockets 19800 --check-ms 250
 *   node --import tsx scripts/slow-check-cost.ts --sockets 19800 --check-ms 60000
 * The clients are raw TCP sockets doing the WebSocket handshake in a child process (the open-file
 * limit is per process), so the server process measures only itself.
 */
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    sockets: { type: 'string', default: '19800' },
    'check-ms': { type: 'string', default: '100' },
    seconds: { type: 'string', default: '20' },
    client: { type: 'string' },
  },
});

async function clients(port: number, n: number): Promise<void> {
  const request = `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  const held = [];
  for (let i = 0; i < n; i += 1) {
    const s = connect(port, '127.0.0.1');
    // Errors end the socket; the count on the server side shows it.
    s.on('error', () => undefined);
    s.resume();
    s.write(request);
    held.push(s);
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 10));
  }
  // The open sockets keep this process alive until the server side kills it.
  process.send?.('connected');
}

async function server(): Promise<void> {
  const { configFrom } = await import('../src/config.js');
  const { createLogger } = await import('../src/log.js');
  const { createServer } = await import('../src/server/app.js');
  const sockets = Number(values.sockets);
  const config = configFrom({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    maxConnectionsPerIp: 0,
    idleTimeoutSec: 0,
    slowConsumerCheckMs: Number(values['check-ms']),
  });
  const srv = createServer(config, { log: createLogger(config) });
  const port = await srv.listen();
  const child = fork(new URL(import.meta.url), ['--client', String(port), '--sockets', String(sockets)], { execArgv: ['--import', 'tsx'] });
  while (srv.connectionCount < sockets) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 2000));
  const seconds = Number(values.seconds);
  const before = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = process.cpuUsage(before);
  const wallMs = performance.now() - t0;
  const cpuMs = (used.user + used.system) / 1000;
  process.stdout.write(
    `${JSON.stringify({ sockets: srv.connectionCount, checkMs: config.slowConsumerCheckMs, seconds, cpuMs: Math.round(cpuMs), userMs: Math.round(used.user / 1000), systemMs: Math.round(used.system / 1000), coreShare: `${((cpuMs / wallMs) * 100).toFixed(2)}%` })}\n`,
  );
  child.kill();
  await srv.close();
  process.exit(0);
}

if (values.client !== undefined) void clients(Number(values.client), Number(values.sockets));
else void server();
