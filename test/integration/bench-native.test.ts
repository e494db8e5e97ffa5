/**
 * The bench's C programs, built with the machine's compiler as the bench builds them: the floor
 * peer (a WebSocket rooms server) against `ws` clients, and the C receiver, driven through the
 * runner's own handle, against a `ws` server speaking the raw dialect. Without a compiler the
 * build says why instead of throwing. Nothing here judges speed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { decodePercentiles } from '../../bench/harness/stats.js';
import { LoadgenProcess } from '../../bench/harness/loadgen-process.js';
import { startServer } from '../../bench/harness/server-process.js';
import type { FromReceiver } from '../../bench/loadgen/ipc.js';
import { makePayload, nowNs, writeStamp } from '../../bench/loadgen/payload.js';
import { nativeProgram } from '../../bench/native/build.js';
import { requireTool, sleep, withTimeout } from '../helpers.js';

const noCompiler = requireTool('cc');

/** A `ws` client of a floor room that keeps what it receives. */
async function member(port: number, room: string): Promise<{ ws: WebSocket; got: Array<string | number>; pongs: number }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/rooms/${room}`);
  const m = { ws, got: [] as Array<string | number>, pongs: 0 };
  ws.on('message', (data: Buffer, isBinary) => m.got.push(isBinary ? data.length : data.toString()));
  ws.on('pong', () => (m.pongs += 1));
  await withTimeout(new Promise((r) => ws.once('open', r)), 5000, 'the floor to accept a member');
  return m;
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('bench native build', { skip: noCompiler }, () => {
  it('builds both programs, and says why when there is no compiler', () => {
    for (const program of ['receiver', 'floor'] as const) {
      const b = nativeProgram(program);
      assert.ok(b.ok, b.ok ? '' : b.problem);
    }
    const saved = process.env.CC;
    process.env.CC = '/nonexistent/cc';
    try {
      const b = nativeProgram('floor');
      assert.equal(b.ok, false);
      assert.match(b.problem, /cannot build bench\/native\/floor\.c with \/nonexistent\/cc/);
    } finally {
      if (saved === undefined) delete process.env.CC;
      else process.env.CC = saved;
    }
  });
});

describe('bench floor peer', { skip: noCompiler }, () => {
  it('joins members to their room and writes every publish to every other member', async () => {
    const server = await startServer('floor');
    const open: WebSocket[] = [];
    try {
      const [a, b, c, other] = [
        await member(server.port, 'r0'),
        await member(server.port, 'r0'),
        await member(server.port, 'r0'),
        await member(server.port, 'r1'),
      ];
      open.push(a.ws, b.ws, c.ws, other.ws);
      for (const m of [a, b, c, other]) await until('the welcome', () => m.got[0] === 'welcome');
      a.ws.send(Buffer.alloc(64, 1));
      a.ws.send(Buffer.alloc(70_000, 2)); // a 64-bit length on the way in and out
      a.ws.send('text frames are not publishes');
      b.ws.ping();
      await until('the fan-out', () => b.got.length === 3 && c.got.length === 3 && b.pongs === 1);
      await sleep(50);
      assert.deepEqual(b.got, ['welcome', 64, 70_000]);
      assert.deepEqual(c.got, ['welcome', 64, 70_000]);
      assert.deepEqual(a.got, ['welcome'], 'not back to the sender');
      assert.deepEqual(other.got, ['welcome'], 'not to another room');

      // A closed member leaves its room; the rest still get publishes.
      b.ws.close();
      await sleep(50);
      c.ws.send(Buffer.alloc(20, 3));
      await until('the publish after a close', () => a.got.length === 2);
      assert.deepEqual(a.got, ['welcome', 20]);

      const res = await fetch(`http://127.0.0.1:${server.port}/other`);
      assert.equal(res.status, 404);
    } finally {
      for (const ws of open) ws.terminate();
      assert.equal(await server.stop(), 0, 'SIGTERM ends it with 0');
    }
  });

  it('stops by itself when the process that started it is gone (its stdin ends)', async () => {
    const build = nativeProgram('floor');
    assert.ok(build.ok);
    const child = spawn(build.path, ['--port', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const line = await withTimeout(new Promise<string>((r) => child.stdout.once('data', (d: Buffer) => r(d.toString()))), 5000, 'the listening line');
    assert.match(line, /^\{"name":"floor","port":\d+,"msg":"listening"\}\n$/);
    child.stdin.end();
    assert.equal(await withTimeout(exited, 5000, 'the floor to exit'), 0);
  });
});

describe('bench C receiver', { skip: noCompiler }, () => {
  let wss: WebSocketServer;
  let port = 0;
  const pongs: string[] = [];

  before(async () => {
    // The raw dialect: a text frame says "joined"; binary frames are payloads. Room r1 is refused.
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: (info: { req: { url?: string } }) => info.req.url !== '/rooms/r1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    port = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws) => {
      ws.on('pong', (data) => pongs.push(data.toString()));
      ws.send('welcome');
    });
  });
  after(() => new Promise<void>((r) => wss.close(() => r())));

  it('connects, records stamped deliveries per window, and reports like the Node receiver', async () => {
    const build = nativeProgram('receiver');
    assert.ok(build.ok);
    const proc = new LoadgenProcess<FromReceiver>('receiver', 'C receiver', build.path);
    try {
      const members = [...Array.from({ length: 4 }, () => ({ room: 0, encoding: 'proto' as const })), { room: 1, encoding: 'proto' as const }];
      const server = { host: '127.0.0.1', port, peer: 'uws' as const };
      const connected = await proc.ask({ type: 'connect', server, members, localAddresses: ['127.0.0.2', '127.0.0.3'], concurrency: 2 }, 'connected', 20_000);
      assert.equal(connected.connected, 4);
      assert.equal(connected.failed, 1);
      assert.match(connected.firstError ?? '', /handshake refused: HTTP\/1\.1 401/);

      // Publishes 0-1 are warm-up; windows [2, 4) and [4, 6); publish 6 is past the end.
      proc.send({ type: 'measure', from: 2, perWindow: 2, windows: 2 });
      await proc.ask({ type: 'count' }, 'count', 5000); // the plan is in place
      const clients = [...wss.clients];
      assert.equal(clients.length, 4);
      const payload = makePayload(64);
      for (let i = 0; i < 7; i++) {
        writeStamp(payload, BigInt(Math.round(nowNs())) - BigInt((i + 1) * 1_000_000), i, 0);
        for (const ws of clients) if (!(i === 5 && ws === clients[0])) ws.send(payload);
      }
      clients[1]?.ping('still there');
      clients[2]?.close(4000, 'slow consumer');
      let count = 0;
      for (let tries = 0; tries < 100 && count < 15; tries++) {
        count = (await proc.ask({ type: 'count' }, 'count', 5000)).received;
        await sleep(20);
      }
      assert.equal(count, 15, '4 publishes to 4 members, less one');

      const report = await proc.ask({ type: 'report' }, 'report', 5000);
      assert.equal(report.windows.length, 2);
      const [w0, w1] = report.windows;
      assert.ok(w0 && w1);
      assert.equal(w0.received, 8);
      assert.equal(w1.received, 7);
      assert.deepEqual(w0.counts, [4, 4]);
      assert.deepEqual(w1.counts, [4, 3]);
      assert.equal(report.unmeasured, 3 * 4, 'warm-up and the publish past the end');
      // Publish i was stamped (i + 1) ms before it left, so its latency is at least that.
      const l0 = decodePercentiles(w0.histogram);
      assert.equal(l0.count, 8);
      assert.ok(l0.p50 >= 3000 && l0.max < 1_000_000, JSON.stringify(l0));
      assert.ok((w0.lastUs[1] ?? 0) >= 4000);
      assert.ok(w0.lastArrivalNs > 0 && w1.lastArrivalNs >= w0.lastArrivalNs);
      assert.deepEqual(report.closes, { 4000: 1 });
      assert.equal(report.errors, 0);
      assert.equal(report.firstReadError, undefined);
      await until('the pong', () => pongs.length === 1);
      assert.deepEqual(pongs, ['still there']);
    } finally {
      await proc.stop();
    }
  });
});
