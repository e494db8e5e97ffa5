/**
 * Flooding at real rates: the 4501 close for a sustained over-limit share (and never for a
 * client that bursts a little over its limit), the per-address connect-rate limit, and the rate
 * state that survives a reconnect.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config.js';
import type { ClientMessage } from '../../src/protocol/types.js';
import { CloseCode, ErrorCode } from '../../src/protocol/errors.js';
import { closedOnConnect, sleep, startServer, TestClient } from '../helpers.js';

/**
 * Sends `perSec` frames per second (paced by the clock, not by timer ticks) until `ms` have
 * passed or the connection closes. Returns how many frames were sent.
 */
async function sendAt(c: TestClient, perSec: number, ms: number, frame: ClientMessage = { echo: { text: 'f' } }): Promise<number> {
  let sent = 0;
  let open = true as boolean; // a callback clears it
  void c.closed.then(() => (open = false));
  const t0 = performance.now();
  while (open) {
    const elapsed = performance.now() - t0;
    if (elapsed >= ms) break;
    const due = Math.floor((elapsed * perSec) / 1000) - sent;
    for (let i = 0; i < due && c.ws.readyState === c.ws.OPEN; i++) {
      c.send(frame);
      sent += 1;
    }
    // Small steps, so the frames arrive spread out as from a steady sender, not in clumps.
    await sleep(1);
  }
  return sent;
}

/** What test/flooder.ts reports. */
interface FloodResult {
  sent: number;
  processed: number;
  rateLimited: number;
  opened: number;
  closes: Record<string, number>;
  firstCloseMs: number;
  firstCloseReason: string;
}

/** Runs test/flooder.ts in its own process (so its pacing is its own) and returns its report. */
function flood(url: string, rate: number, ms: number, extra: string[] = []): Promise<FloodResult> {
  const script = new URL('../flooder.ts', import.meta.url).pathname;
  const args = ['--import', 'tsx', script, '--url', url, '--rate', String(rate), '--ms', String(ms), ...extra];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: ms + 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`flooder failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as FloodResult);
    });
  });
}

/** Sends `size` frames at once every `everyMs` for `ms`. */
async function sendBursts(c: TestClient, size: number, everyMs: number, ms: number): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms && c.ws.readyState === c.ws.OPEN) {
    for (let i = 0; i < size; i++) c.send({ echo: { text: 'b' } });
    await sleep(everyMs);
  }
}

describe('the 4501 flooding close', () => {
  it('a client at 5,000 frames/s (limit 100/s) is closed with 4501 within 2 s of sending', async () => {
    const srv = await startServer();
    try {
      // 4 s of sending at most; the old "N refused in a row" rule never closed this client.
      const r = await flood(srv.url(), 5000, 4000);
      console.log(`# ${JSON.stringify(r)}`);
      assert.deepEqual(r.closes, { [CloseCode.CLOSE_CODE_FLOODING]: 1 }, `closes: ${JSON.stringify(r.closes)}`);
      assert.ok(r.firstCloseMs < 2000, `closed ${r.firstCloseMs} ms after the flood began`);
      assert.ok(r.rateLimited > 0, 'RATE_LIMITED replies came before the close');
      assert.equal(srv.server.stats.closed.flooding, 1);
    } finally {
      await srv.close();
    }
  });

  it('a client that bursts to 1.1x its limit now and then gets RATE_LIMITED but is never closed', async () => {
    // A small bucket so that 1.1x really is refused now and then, and a low count so that the
    // refused frames alone would reach it: only their small share keeps the client in.
    const srv = await startServer({ rateLimitPerSec: 100, rateLimitBurst: 10, maxRateLimited: 10 });
    try {
      const c = await TestClient.connect(srv.url(), 'proto');
      let closed = false;
      void c.closed.then(() => (closed = true));
      for (let round = 0; round < 3; round++) {
        // 11 frames every 100 ms: 1.1x the rate, in bursts 1.1x the bucket; then a calm spell.
        await sendBursts(c, 11, 100, 700);
        await sendAt(c, 50, 300);
      }
      await sleep(100);
      const refused = c.received.filter((m) => m.error?.code === ErrorCode.ERROR_CODE_RATE_LIMITED).length;
      assert.ok(refused >= 10, `the client was over its limit now and then (${refused} frames refused)`);
      assert.equal(closed, false, 'still open');
      assert.equal((await c.request({ echo: { text: 'still here' } })).echo?.text, 'still here');
      assert.equal(srv.server.stats.closed.flooding, 0);
      c.close();
    } finally {
      await srv.close();
    }
  });
});

describe('reconnecting does not reset the rate limit', () => {
  it('a new connection from the same address starts with the bucket the last one left; other addresses start full', async () => {
    const srv = await startServer({ rateLimitPerSec: 5, rateLimitBurst: 10, maxConnectsPerIpPerSec: 0 });
    try {
      const first = await TestClient.connect(srv.url(), 'proto');
      const replies = await Promise.all(Array.from({ length: 11 }, () => first.request({ echo: { text: 'x' } })));
      assert.equal(replies.filter((m) => m.echo != null).length, 10, 'the burst of 10 is served');
      assert.equal(replies.at(-1)?.error?.code, ErrorCode.ERROR_CODE_RATE_LIMITED);
      first.close();
      await first.closed;
      const again = await TestClient.connect(srv.url(), 'proto');
      assert.equal((await again.request({ echo: { text: 'y' } })).error?.code, ErrorCode.ERROR_CODE_RATE_LIMITED, 'the reconnected client has no fresh burst');
      const other = await TestClient.connect(srv.url(), 'proto', { localAddress: '127.0.0.2' });
      assert.equal((await other.request({ echo: { text: 'z' } })).echo?.text, 'z', 'another address is not affected');
      // The bucket refills with time, as it would have on one connection.
      await sleep(450);
      assert.equal((await again.request({ echo: { text: 'later' } })).echo?.text, 'later');
      again.close();
      other.close();
    } finally {
      await srv.close();
    }
  });

  it(`over maxConnectsPerIpPerSec, new connections from that address are closed with ${CloseCode.CLOSE_CODE_TRY_AGAIN_LATER}`, async () => {
    const srv = await startServer({ maxConnectsPerIpPerSec: 4, connectBurstPerIp: 3 });
    try {
      const ok = await Promise.all([1, 2, 3].map(() => TestClient.connect(srv.url(), 'proto')));
      const refused = await closedOnConnect(srv.url());
      assert.equal(refused.code, CloseCode.CLOSE_CODE_TRY_AGAIN_LATER);
      assert.match(refused.reason, /too many new connections from 127\.0\.0\.1 \(4\/s\)/);
      const elsewhere = await TestClient.connect(srv.url(), 'proto', { localAddress: '127.0.0.2' });
      await sleep(300);
      const later = await TestClient.connect(srv.url(), 'proto');
      assert.equal(srv.server.stats.closed.connect_rate, 1, 'counted in roomcast_closed_total{reason="connect_rate"}');
      for (const c of [...ok, elsewhere, later]) c.close();
    } finally {
      await srv.close();
    }
  });

  it('a flooder that reconnects after every close gets at most twice the frame rate; clients on other addresses are unaffected', async () => {
    const srv = await startServer();
    try {
      const calm = await Promise.all(['127.0.0.2', '127.0.0.3'].map((a) => TestClient.connect(srv.url('/rooms/calm'), 'json', { localAddress: a })));
      const calmLoop = (async () => {
        let sent = 0;
        const t0 = performance.now();
        while (performance.now() - t0 < 3000) {
          for (const c of calm) {
            const r = await c.request({ publish: { room: 'calm', text: `m${sent}` } });
            assert.equal(r.error, undefined, `calm publish refused: ${JSON.stringify(r.error)}`);
            sent += 1;
          }
          await sleep(50);
        }
        return sent;
      })();
      // As fast as it can (50,000 frames/s offered) for 3 s, reconnecting at once after each close.
      const r = await flood(srv.url(), 50_000, 3000, ['--reconnect']);
      console.log(`# reconnecting flooder, 3 s: ${JSON.stringify(r)}`);
      const allowed = 2 * DEFAULTS.rateLimitPerSec * 3;
      assert.ok(r.processed <= allowed, `${r.processed} frames processed over 3 s, more than twice the rate (${allowed})`);
      assert.ok(r.opened > 1, 'the flooder did reconnect');
      const sent = await calmLoop;
      for (const c of calm) {
        assert.equal((await c.events('calm', sent)).length, sent, 'each calm client got every event');
        assert.equal(
          c.received.some((m) => m.error != null),
          false,
        );
      }
      for (const c of calm) c.close();
    } finally {
      await srv.close();
    }
  });
});
