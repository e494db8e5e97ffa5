/**
 * Each limit hit on purpose: the offender is limited or closed with its documented code, the
 * other clients lose nothing.
 */
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/protocol/errors.js';
import { closedOnConnect, httpRequest, sleep, startServer, TestClient, withTimeout } from '../helpers.js';

describe('rate limit', () => {
  it('refuses frames over the limit with ERROR_CODE_RATE_LIMITED, then closes a flooder; others lose nothing', async () => {
    const srv = await startServer({ rateLimitPerSec: 50, rateLimitBurst: 20, maxRateLimited: 200 });
    try {
      const flooder = await TestClient.connect(srv.url('/rooms/shared'), 'proto');
      const calm = await TestClient.connect(srv.url('/rooms/shared'), 'json');
      // The calm client keeps publishing at 20/s while the flooder sends 2000 frames at once.
      let calmSent = 0;
      const rtts: number[] = [];
      const calmLoop = (async () => {
        for (let i = 0; i < 20; i++) {
          const t0 = performance.now();
          const r = await calm.request({ publish: { room: 'shared', text: `calm ${i}` } });
          rtts.push(performance.now() - t0);
          assert.equal(r.publish?.seq != null && r.error == null, true, `calm publish ${i} accepted`);
          calmSent += 1;
          await new Promise((res) => setTimeout(res, 50));
        }
      })();
      for (let i = 0; i < 2000; i++) flooder.send({ echo: { text: 'flood' } });
      const closed = await withTimeout(flooder.closed, 10_000, 'flooder close');
      assert.equal(closed.code, CloseCode.CLOSE_CODE_FLOODING);
      const limited = flooder.received.filter((m) => m.error?.code === ErrorCode.ERROR_CODE_RATE_LIMITED);
      assert.equal(limited.length, 199, 'an error for each refused frame before the close');
      assert.ok(
        limited.every((m) => (m.id ?? 0) > 0),
        'errors carry the refused request ids',
      );
      const answered = flooder.received.filter((m) => m.echo != null).length;
      assert.ok(answered >= 20 && answered < 60, `the burst (20) and the refill were served: ${answered}`);
      await calmLoop;
      const evs = await calm.events('shared', calmSent);
      assert.deepEqual(
        evs.map((e) => e?.text),
        Array.from({ length: 20 }, (_, i) => `calm ${i}`),
      );
      rtts.sort((a, b) => a - b);
      console.log(`# calm client publish round trip during the flood: median ${String(rtts[10]?.toFixed(2))} ms, max ${String(rtts.at(-1)?.toFixed(2))} ms`);
      assert.ok(srv.server.stats.rateLimited >= 199);
      assert.equal(srv.server.stats.closed.flooding, 1);
      calm.close();
    } finally {
      await srv.close();
    }
  });
});

describe('connection limits', () => {
  it(`maxRoomsPerConnection: ERROR_CODE_TOO_MANY_ROOMS`, async () => {
    const srv = await startServer({ maxRoomsPerConnection: 3 });
    try {
      const c = await TestClient.connect(srv.url('/rooms/r0'), 'proto');
      assert.equal((await c.request({ join: { room: 'r1' } })).join?.room, 'r1');
      assert.equal((await c.request({ join: { room: 'r2' } })).join?.room, 'r2');
      assert.equal((await c.request({ join: { room: 'r3' } })).error?.code, ErrorCode.ERROR_CODE_TOO_MANY_ROOMS);
      assert.equal((await c.request({ join: { room: 'r2' } })).join?.room, 'r2', 'rejoining a room it is in is fine');
      await c.request({ leave: { room: 'r0' } });
      assert.equal((await c.request({ join: { room: 'r3' } })).join?.room, 'r3');
      c.close();
    } finally {
      await srv.close();
    }
  });

  it(`maxConnections and maxConnectionsPerIp close extra connections with ${CloseCode.CLOSE_CODE_TRY_AGAIN_LATER}`, async () => {
    const srv = await startServer({ maxConnections: 4, maxConnectionsPerIp: 2 });
    try {
      const a = await TestClient.connect(srv.url(), 'proto');
      const b = await TestClient.connect(srv.url(), 'proto');
      const third = await closedOnConnect(srv.url());
      assert.equal(third.code, CloseCode.CLOSE_CODE_TRY_AGAIN_LATER);
      assert.match(third.reason, /too many connections from 127\.0\.0\.1/);
      const c = await TestClient.connect(srv.url(), 'proto', { localAddress: '127.0.0.2' });
      const d = await TestClient.connect(srv.url(), 'proto', { localAddress: '127.0.0.2' });
      const full = await closedOnConnect(srv.url(), [], { localAddress: '127.0.0.3' });
      assert.equal(full.code, CloseCode.CLOSE_CODE_TRY_AGAIN_LATER);
      assert.match(full.reason, /server full/);
      a.close();
      await a.closed;
      const e = await TestClient.connect(srv.url(), 'proto');
      assert.equal((await e.request({ echo: { text: 'room again' } })).echo?.text, 'room again');
      assert.equal(srv.server.stats.closed.too_many_per_ip, 1);
      assert.equal(srv.server.stats.closed.too_many_connections, 1);
      for (const x of [b, c, d, e]) x.close();
    } finally {
      await srv.close();
    }
  });

  it(`an Origin not on allowedOrigins is closed with ${CloseCode.CLOSE_CODE_POLICY}; listed and absent Origins pass`, async () => {
    const srv = await startServer({ allowedOrigins: ['https://app.example'] });
    try {
      const bad = await closedOnConnect(srv.url(), [], { origin: 'https://evil.example' });
      assert.equal(bad.code, CloseCode.CLOSE_CODE_POLICY);
      assert.match(bad.reason, /evil\.example/);
      const good = await TestClient.connect(srv.url(), 'proto', { origin: 'https://app.example' });
      const native = await TestClient.connect(srv.url(), 'proto');
      good.close();
      native.close();
    } finally {
      await srv.close();
    }
  });
});

describe('idle timeout', () => {
  it('pings keep a live client open past idleTimeoutSec; a silent socket is closed', async () => {
    const srv = await startServer({ idleTimeoutSec: 8 });
    try {
      const live = await TestClient.connect(srv.url(), 'proto');
      const liveSince = Date.now();
      let liveClosed = false;
      void live.closed.then(() => (liveClosed = true));
      // A raw TCP client that completes the handshake and then never answers a ping.
      const silent = tcpConnect(srv.port, '127.0.0.1');
      silent.write(
        'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      let handshake = '';
      silent.on('data', (d: Buffer) => (handshake += d.toString('latin1')));
      const silentClosed = new Promise<number>((resolve) => {
        const t0 = Date.now();
        silent.on('close', () => resolve(Date.now() - t0));
      });
      const after = await withTimeout(silentClosed, 30_000, 'idle close');
      assert.match(handshake, /^HTTP\/1\.1 101/);
      assert.ok(after >= 4000, `closed after ${after} ms of silence`);
      assert.deepEqual(srv.server.stats.disconnects, { 1006: 1 }, 'the idle close is counted, as 1006 (uWS sends no close frame)');
      // Twice the idle timeout with no frames but pongs from the live client.
      await sleep(Math.max(0, liveSince + 16_500 - Date.now()));
      assert.equal(liveClosed, false, 'the client answering pings is still open');
      assert.equal((await live.request({ echo: { text: 'alive' } })).echo?.text, 'alive');
      live.close();
    } finally {
      await srv.close();
    }
  });
});

describe('the HTTP API under limits', () => {
  it('is not subject to WebSocket limits', async () => {
    const srv = await startServer({ maxConnections: 1 });
    try {
      const c = await TestClient.connect(srv.url('/rooms/x'), 'proto');
      const res = await httpRequest(srv.http, 'POST', '/api/rooms/x/publish', { body: '{"text":"t"}' });
      assert.equal(res.status, 200);
      c.close();
    } finally {
      await srv.close();
    }
  });
});
