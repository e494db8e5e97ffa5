/**
 * Server-side pushes and the slow-consumer policy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '../../src/protocol/errors.js';
import { httpRequest, sleep, startServer, TestClient, withTimeout } from '../helpers.js';

describe('ticker', () => {
  it('pushes the server time into every non-empty room, and into no other', async () => {
    const srv = await startServer({ tickMs: 50 });
    try {
      const a = await TestClient.connect(srv.url('/rooms/tick-a'), 'json');
      const b = await TestClient.connect(srv.url('/rooms/tick-b'), 'proto');
      const evsA = await a.events('tick-a', 3, 3000);
      const evsB = await b.events('tick-b', 3, 3000);
      for (const ev of [...evsA, ...evsB]) {
        assert.equal(ev?.connId, '');
        assert.equal(ev.source, 'ticker', 'ticks say what sent them');
        const shown = Date.parse(ev.text ?? '');
        assert.ok(Math.abs(shown - Date.now()) < 10_000, `tick text ${String(ev.text)} is the current time`);
        assert.equal(Math.floor(Number(ev.timeUs ?? 0) / 1000), shown, 'text and timeUs agree to the millisecond');
      }
      assert.deepEqual(
        evsA.slice(0, 3).map((e) => e?.seq),
        [1, 2, 3],
      );
      assert.ok(
        a.received.every((m) => m.event == null || m.event.room === 'tick-a'),
        'only its own room',
      );
      a.close();
      b.close();
    } finally {
      await srv.close();
    }
  });
});

describe('slow consumers', () => {
  /** Publishes 16 KB events over HTTP until `until` resolves or `max` events went out. */
  async function flood(http: string, room: string, until: Promise<unknown>, max: number, paceMs = 0): Promise<number> {
    let done = false as boolean; // a callback sets it
    void until.then(() => (done = true));
    const text = 'x'.repeat(16 * 1024);
    let n = 0;
    while (!done && n < max) {
      await httpRequest(http, 'POST', `/api/rooms/${room}/publish`, { body: JSON.stringify({ text }) });
      n += 1;
      if (paceMs > 0) await sleep(paceMs);
    }
    return n;
  }

  it(`under "close", a client that stops reading is closed with ${CloseCode.CLOSE_CODE_SLOW_CONSUMER}; the others get everything`, async () => {
    const srv = await startServer({ maxBackpressure: 256 * 1024, slowConsumerCheckMs: 50, maxPayloadBytes: 16 * 1024 + 16 });
    try {
      const slow = await TestClient.connect(srv.url('/rooms/firehose'), 'proto');
      const fast = await TestClient.connect(srv.url('/rooms/firehose'), 'proto');
      // Stop reading: the kernel buffers fill, then uWS's send buffer grows.
      (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      // Paced so the buffer grows by less than half of maxBackpressure between two checks: the
      // check (code 4000) acts before uWS's own cut-off at the full limit (1006).
      const closing = (async () => {
        while (srv.server.stats.closed.slow_consumer === 0) await sleep(10);
      })();
      const sent = await flood(srv.http, 'firehose', Promise.race([slow.closed, closing]), 3000, 5);
      (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      const closed = await withTimeout(slow.closed, 10_000, 'slow consumer close');
      assert.equal(closed.code, CloseCode.CLOSE_CODE_SLOW_CONSUMER);
      assert.match(closed.reason, /slow consumer/);
      assert.equal(srv.server.stats.closed.slow_consumer, 1);
      const evs = await fast.events('firehose', sent, 10_000);
      assert.deepEqual(
        evs.map((e) => e?.seq),
        Array.from({ length: sent }, (_, i) => i + 1),
        'the reading client lost nothing',
      );
      fast.close();
    } finally {
      await srv.close();
    }
  });

  it(`with the default limits, a reader that stops at 2,000 events/s of 1 KB gets ${CloseCode.CLOSE_CODE_SLOW_CONSUMER} in every run; another member loses nothing`, async () => {
    // Only the frame rate limit is lifted (the publisher sends 2,000 frames/s); maxBackpressure,
    // slowConsumer and slowConsumerCheckMs keep their defaults.
    const srv = await startServer({ rateLimitPerSec: 0 });
    try {
      const text = 'x'.repeat(1000);
      for (let run = 1; run <= 3; run += 1) {
        const room = `stall-${run}`;
        const slow = await TestClient.connect(srv.url(`/rooms/${room}`), 'proto');
        const fast = await TestClient.connect(srv.url(`/rooms/${room}`), 'json');
        const publisher = await TestClient.connect(srv.url(`/rooms/${room}`), 'proto');
        const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
        socket.pause();
        const closedBefore = srv.server.stats.closed.slow_consumer;
        const cutBefore = srv.server.stats.cutoffs.lost;
        const ended = () => srv.server.stats.closed.slow_consumer > closedBefore || srv.server.stats.cutoffs.lost > cutBefore;
        let sent = 0;
        const started = Date.now();
        // 20 publishes every 10 ms: 2,000 events/s, until the server lets go of the reader.
        while (!ended() && Date.now() - started < 15_000) {
          const tickStart = Date.now();
          for (let i = 0; i < 20; i += 1) publisher.send({ publish: { room, text, excludeSelf: true } });
          sent += 20;
          await sleep(Math.max(0, 10 - (Date.now() - tickStart)));
        }
        socket.resume();
        const closed = await withTimeout(slow.closed, 10_000, "the slow reader's close");
        assert.equal(
          closed.code,
          CloseCode.CLOSE_CODE_SLOW_CONSUMER,
          `run ${run}: closed with ${closed.code} after ${Date.now() - started} ms and ${sent} events`,
        );
        assert.match(closed.reason, /slow consumer/);
        const evs = await fast.events(room, sent, 20_000);
        assert.deepEqual(
          evs.map((e) => e?.seq),
          Array.from({ length: sent }, (_, i) => i + 1),
          `run ${run}: the reading member lost nothing`,
        );
        fast.close();
        publisher.close();
      }
    } finally {
      await srv.close();
    }
  });

  it('under "drop", a client that stops reading stays connected, and the gap shows in its sequence numbers', async () => {
    const srv = await startServer({ maxBackpressure: 128 * 1024, slowConsumer: 'drop', slowConsumerCheckMs: 50, maxPayloadBytes: 16 * 1024 + 16 });
    try {
      const slow = await TestClient.connect(srv.url('/rooms/drops'), 'proto');
      (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const episode = (async () => {
        while (srv.server.stats.slowConsumerEpisodes === 0) await sleep(20);
      })();
      const sent = await flood(srv.http, 'drops', episode, 3000);
      await sleep(100);
      (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      assert.ok(srv.server.stats.slowConsumerEpisodes >= 1, 'the episode was counted');
      // Once it has caught up, it receives new events again, with a gap in seq before them.
      let seen = -1;
      while (seen !== slow.received.length) {
        seen = slow.received.length;
        await sleep(200);
      }
      const res = await httpRequest(srv.http, 'POST', '/api/rooms/drops/publish', { body: '{"text":"after"}' });
      const last = Number((res.json() as { seq: string }).seq);
      assert.equal(last, sent + 1);
      const after = await slow.waitFor((m) => m.event?.text === 'after', 'the event after the episode', 10_000);
      assert.equal(after.event?.seq, last);
      const got = slow.eventsSoFar('drops').length;
      assert.ok(got < last, `received ${got} of ${last}: some were dropped, and seq shows where`);
      slow.close();
    } finally {
      await srv.close();
    }
  });
});
