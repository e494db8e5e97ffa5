/**
 * History and recovery with the in-process broker: a client that comes back with the position of
 * the last event it saw gets exactly what it missed, in order, before anything live, or is told
 * plainly that it cannot (epoch changed, too old). Real server, real WebSocket clients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Broker, BrokerHandlers } from '../../src/broker/broker.js';
import { HistoryRules } from '../../src/config/history-rules.js';
import { createMemoryBroker } from '../../src/broker/broker-memory.js';
import { RecoveryResult, type ServerMessage } from '../../src/protocol/types.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { httpRequest, sleep, startServer, TestClient, type TestServer } from '../helpers.js';

interface Position {
  epoch: string;
  seq: number;
}

/** Publishes `n` text events over HTTP: "<prefix>1" .. "<prefix>n". */
async function publishHttp(srv: TestServer, room: string, n: number, prefix = 'm'): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 1; i <= n; i += 1) {
    const res = await httpRequest(srv.http, 'POST', `/api/rooms/${room}/publish`, { body: JSON.stringify({ text: `${prefix}${i}` }) });
    assert.equal(res.status, 200);
    seqs.push(Number((res.json() as { seq: string }).seq));
  }
  return seqs;
}

/** The position a client holds in `room` after what it received. */
function positionOf(c: TestClient, room: string): Position {
  let epoch = '';
  let seq = 0;
  for (const m of c.received) {
    const joined = m.join?.room === room ? m.join : m.welcome?.rooms?.find((r) => r.room === room);
    if (joined) {
      epoch = joined.epoch ?? '';
      seq = Math.max(seq, Number(joined.seq ?? 0));
    }
    if (m.event?.room === room) seq = Number(m.event.seq);
    if (m.streamReset?.room === room) ({ epoch, seq } = { epoch: m.streamReset.epoch ?? '', seq: Number(m.streamReset.seq ?? 0) });
  }
  return { epoch, seq };
}

/** Joins with `since` and returns the reply and the events that came before it. */
async function rejoin(c: TestClient, room: string, since: Position, previousConnId = ''): Promise<{ reply: ServerMessage['join']; before: string[] }> {
  const start = c.received.length;
  const reply = await c.request({ join: { room, since, previousConnId } });
  assert.equal(reply.error, undefined, `join failed: ${JSON.stringify(reply.error)}`);
  const upTo = c.received.indexOf(reply);
  const before = c.received.slice(start, upTo).flatMap((m) => (m.event?.room === room ? [m.event.text ?? ''] : []));
  return { reply: reply.join, before };
}

describe('recovery (in-process broker)', () => {
  it('a lone member that leaves recovers the events published over HTTP meanwhile, in order, before the reply; after the TTL: too old', async () => {
    const srv = await startServer({ history: [{ rooms: '*', size: 100, ttlSec: 1 }] });
    try {
      const a = await TestClient.connect(srv.url('/rooms/lone'), 'proto');
      const pos = positionOf(a, 'lone');
      assert.match(pos.epoch, /^[0-9a-f]{16}$/);
      a.close();
      await a.closed;
      const seqs = await publishHttp(srv, 'lone', 50);
      assert.deepEqual(
        seqs,
        Array.from({ length: 50 }, (_, i) => i + 1),
        'a room with history sequences without members',
      );
      const b = await TestClient.connect(srv.url(), 'proto');
      const { reply, before } = await rejoin(b, 'lone', pos);
      assert.deepEqual(
        before,
        Array.from({ length: 50 }, (_, i) => `m${i + 1}`),
      );
      assert.equal(reply?.recovered, true);
      assert.equal(reply.recovery, RecoveryResult.RECOVERY_RESULT_RECOVERED);
      assert.equal(Number(reply.missed), 50);
      assert.equal(Number(reply.seq), 50);
      assert.equal(reply.epoch, pos.epoch);
      b.close();
      await b.closed;
      await sleep(1300);
      const c = await TestClient.connect(srv.url(), 'json');
      const late = await rejoin(c, 'lone', pos);
      assert.deepEqual(late.before, []);
      assert.equal(late.reply?.recovered, false);
      assert.equal(late.reply.recovery, RecoveryResult.RECOVERY_RESULT_TOO_OLD, 'same epoch, events expired');
      assert.equal(late.reply.epoch, pos.epoch);
      c.close();
      const metrics = (await httpRequest(srv.http, 'GET', '/metrics')).body.toString();
      assert.match(metrics, /roomcast_recoveries_total\{result="recovered"\} 1/);
      assert.match(metrics, /roomcast_recoveries_total\{result="too_old"\} 1/);
      assert.match(metrics, /roomcast_replayed_events_total 50/);
      assert.match(metrics, /roomcast_history_bytes \d+/);
    } finally {
      await srv.close();
    }
  });

  it('after a restart (in-process broker) the epoch changed', async () => {
    const first = await startServer();
    const a = await TestClient.connect(first.url('/rooms/restart'), 'proto');
    await a.request({ publish: { room: 'restart', text: 'before' } });
    const pos = positionOf(a, 'restart');
    assert.equal(pos.seq, 1);
    await first.close();
    const second = await startServer();
    try {
      const b = await TestClient.connect(second.url(), 'proto');
      const { reply, before } = await rejoin(b, 'restart', pos);
      assert.deepEqual(before, []);
      assert.equal(reply?.recovered, false);
      assert.equal(reply.recovery, RecoveryResult.RECOVERY_RESULT_EPOCH_CHANGED);
      assert.notEqual(reply.epoch, pos.epoch);
      assert.equal(Number(reply.seq), 0);
      b.close();
    } finally {
      await second.close();
    }
  });

  it('replays in JSON too, and a rejoin with nothing missed recovers 0 events', async () => {
    const srv = await startServer();
    try {
      const a = await TestClient.connect(srv.url('/rooms/js'), 'json');
      await a.request({ publish: { room: 'js', text: 'one' } });
      await a.request({ publish: { room: 'js', data: new Uint8Array([1, 2, 3]) } });
      const mid = positionOf(a, 'js');
      await a.request({ publish: { room: 'js', text: 'three' } });
      const end = positionOf(a, 'js');
      const b = await TestClient.connect(srv.url(), 'json');
      const r = await b.request({ join: { room: 'js', since: { epoch: mid.epoch, seq: 1 } } });
      assert.equal(r.join?.recovered, true);
      const replayed = b.eventsSoFar('js');
      assert.deepEqual(
        replayed.map((e) => Number(e.seq)),
        [2, 3],
      );
      assert.deepEqual([...(replayed[0]?.data ?? [])], [1, 2, 3]);
      assert.equal(replayed[1]?.text, 'three');
      assert.equal(
        b.binary.every((x) => !x),
        true,
        'JSON frames only',
      );
      const c = await TestClient.connect(srv.url(), 'proto');
      const none = await c.request({ join: { room: 'js', since: end } });
      assert.equal(none.join?.recovered, true);
      assert.equal(Number(none.join.missed), 0);
      assert.equal(mid.seq, 2);
      for (const x of [a, b, c]) x.close();
    } finally {
      await srv.close();
    }
  });

  it('recovers with no gap and no duplicate while the room is published to at full rate', async () => {
    const srv = await startServer({ rateLimitPerSec: 0, history: [{ rooms: '*', size: 100_000, ttlSec: 60 }] });
    try {
      const pub = await TestClient.connect(srv.url('/rooms/busy'), 'proto');
      let sent = 0;
      let running = true as boolean; // the test clears it while the pump runs
      const pump = (async () => {
        while (running) {
          for (let i = 0; i < 20; i += 1) pub.send({ publish: { room: 'busy', text: `e${(sent += 1)}` } });
          await sleep(1);
        }
      })();
      for (let round = 0; round < 5; round += 1) {
        const a = await TestClient.connect(srv.url('/rooms/busy'), round % 2 === 0 ? 'proto' : 'json');
        await a.events('busy', 20);
        const before = a.eventsSoFar('busy').map((e) => Number(e.seq));
        const pos = positionOf(a, 'busy');
        const previous = a.connId;
        a.close();
        await a.closed;
        await sleep(20);
        const b = await TestClient.connect(srv.url(), round % 2 === 0 ? 'json' : 'proto');
        const reply = await b.request({ join: { room: 'busy', since: pos, previousConnId: previous } });
        assert.equal(reply.join?.recovered, true, `round ${round}`);
        await b.events('busy', Number(reply.join.missed ?? 0) + 50);
        const after = b.eventsSoFar('busy').map((e) => Number(e.seq));
        const all = [...before, ...after];
        const first = all[0] ?? 0;
        assert.deepEqual(
          all,
          Array.from({ length: all.length }, (_, i) => first + i),
          `round ${round}: contiguous, no duplicate`,
        );
        b.close();
      }
      running = false;
      await pump;
      pub.close();
    } finally {
      await srv.close();
    }
  });

  it('exclude_self events are not replayed to their publisher (by previous_conn_id), and are replayed to everyone else', async () => {
    const srv = await startServer();
    try {
      const a = await TestClient.connect(srv.url('/rooms/noself'), 'proto');
      const b = await TestClient.connect(srv.url('/rooms/noself'), 'proto');
      const start = positionOf(a, 'noself');
      const bId = b.connId;
      b.close();
      await b.closed;
      await a.request({ publish: { room: 'noself', text: 'for all' } });
      await a.request({ publish: { room: 'noself', text: 'not for me', excludeSelf: true } });
      await a.request({ publish: { room: 'noself', text: 'for all again' } });
      const aId = a.connId;
      a.close();
      await a.closed;
      const a2 = await TestClient.connect(srv.url(), 'proto');
      const back = await rejoin(a2, 'noself', start, aId);
      assert.equal(back.reply?.recovered, true);
      assert.deepEqual(back.before, ['for all', 'for all again'], 'the publisher does not get its exclude_self event back');
      const b2 = await TestClient.connect(srv.url(), 'json');
      const other = await rejoin(b2, 'noself', start, bId);
      assert.deepEqual(other.before, ['for all', 'not for me', 'for all again']);
      a2.close();
      b2.close();
    } finally {
      await srv.close();
    }
  });

  it('history bounds: size, and the global byte cap, each answer "not recovered" where they cut', async () => {
    const srv = await startServer({ history: [{ rooms: '*', size: 5, ttlSec: 60 }], historyMaxBytes: 4096 });
    try {
      const a = await TestClient.connect(srv.url('/rooms/small'), 'proto');
      const start = positionOf(a, 'small');
      a.close();
      await a.closed;
      await publishHttp(srv, 'small', 10);
      const b = await TestClient.connect(srv.url(), 'proto');
      const old = await rejoin(b, 'small', start);
      assert.equal(old.reply?.recovery, RecoveryResult.RECOVERY_RESULT_TOO_OLD, 'past the size');
      b.close();
      const c = await TestClient.connect(srv.url(), 'proto');
      const recent = await rejoin(c, 'small', { epoch: start.epoch, seq: 5 });
      assert.deepEqual(recent.before, ['m6', 'm7', 'm8', 'm9', 'm10']);
      c.close();
      await c.closed;
      // Other rooms push 'small' out of the byte cap: least recently published goes first.
      for (let i = 0; i < 12; i += 1) await publishHttp(srv, `filler-${i}`, 5, 'x'.repeat(100));
      const d = await TestClient.connect(srv.url(), 'proto');
      const evicted = await rejoin(d, 'small', { epoch: start.epoch, seq: 9 });
      assert.equal(evicted.reply?.recovered, false, 'evicted: not recoverable');
      assert.deepEqual(evicted.before, []);
      d.close();
    } finally {
      await srv.close();
    }
  });

  it('a replay larger than the send buffer allows at once is paced by drains, with live events flowing, and recovers everything', async () => {
    const srv = await startServer({
      maxPayloadBytes: 4096,
      maxFrameBytes: 8192,
      maxBackpressure: 16_384,
      rateLimitPerSec: 0,
      history: [{ rooms: '*', size: 1000, ttlSec: 60 }],
    });
    try {
      const a = await TestClient.connect(srv.url('/rooms/big'), 'proto');
      const pos = positionOf(a, 'big');
      a.close();
      await a.closed;
      const payload = 'x'.repeat(3000);
      await publishHttp(srv, 'big', 60, payload);
      const live = await TestClient.connect(srv.url('/rooms/big'), 'proto');
      let n = 0;
      let running = true as boolean; // the test clears it while the pump runs
      const pump = (async () => {
        while (running) {
          live.send({ publish: { room: 'big', text: `live${(n += 1)}` } });
          await sleep(2);
        }
      })();
      const b = await TestClient.connect(srv.url(), 'json');
      const reply = await b.request({ join: { room: 'big', since: pos } }, undefined);
      assert.equal(reply.join?.recovered, true, '180 KB of replay through a 16 KB send buffer');
      assert.ok(
        Number(reply.join.missed) >= 60,
        `missed ${String(reply.join.missed)}: the 60 published over HTTP and what the live member sent before the join`,
      );
      await sleep(100);
      running = false;
      await pump;
      await b.events('big', Number(reply.join.seq) + 5);
      const seqs = b.eventsSoFar('big').map((e) => Number(e.seq));
      assert.deepEqual(
        seqs,
        Array.from({ length: seqs.length }, (_, i) => i + 1),
        'contiguous from 1, no duplicate',
      );
      assert.equal(b.eventsSoFar('big')[59]?.text?.length, 3000 + 2);
      for (const c of [live, b]) c.close();
    } finally {
      await srv.close();
    }
  });

  it('the history command and GET /api/rooms/<room>/history read stored events', async () => {
    const srv = await startServer({ anonymousJoin: ['open:*'] });
    try {
      await publishHttp(srv, 'open:h', 5);
      const c = await TestClient.connect(srv.url(), 'proto');
      const newest = await c.request({ history: { room: 'open:h', limit: 2 } });
      assert.deepEqual(
        newest.history?.events?.map((e) => e.text),
        ['m4', 'm5'],
      );
      const reversed = await c.request({ history: { room: 'open:h', limit: 3, reverse: true } });
      assert.deepEqual(
        reversed.history?.events?.map((e) => e.text),
        ['m5', 'm4', 'm3'],
      );
      const epoch = newest.history.epoch ?? '';
      const since = await c.request({ history: { room: 'open:h', since: { epoch, seq: 2 }, limit: 2 } });
      assert.deepEqual(
        since.history?.events?.map((e) => Number(e.seq)),
        [3, 4],
      );
      assert.equal(since.history.complete, false, 'cut at the limit');
      const rest = await c.request({ history: { room: 'open:h', since: { epoch, seq: 4 } } });
      assert.deepEqual(
        rest.history?.events?.map((e) => e.text),
        ['m5'],
      );
      assert.equal(rest.history.complete, true);
      const denied = await c.request({ history: { room: 'closed' } });
      assert.equal(denied.error?.code, ErrorCode.ERROR_CODE_PERMISSION_DENIED);
      const res = await httpRequest(srv.http, 'GET', `/api/rooms/open:h/history?since_epoch=${epoch}&since_seq=3`);
      assert.equal(res.status, 200);
      const body = res.json() as { epoch: string; seq: string; events: Array<{ text: string; seq: string }>; complete: boolean };
      assert.deepEqual(
        body.events.map((e) => e.text),
        ['m4', 'm5'],
      );
      assert.equal(body.complete, true);
      assert.equal(body.seq, '5');
      const bad = await httpRequest(srv.http, 'GET', '/api/rooms/open:h/history?limit=x');
      assert.equal(bad.status, 400);
      c.close();
    } finally {
      await srv.close();
    }
  });

  it('a stream reset under live members reaches them as StreamReset, in both encodings', async () => {
    let handlers: BrokerHandlers | undefined;
    const inner = createMemoryBroker({ history: new HistoryRules([]) });
    const broker: Broker = Object.assign(Object.create(inner) as Broker, {
      start: async (h: BrokerHandlers) => {
        handlers = h;
        await inner.start(h);
      },
    });
    const srv = await startServer({}, { broker });
    try {
      const p = await TestClient.connect(srv.url('/rooms/reset'), 'proto');
      const j = await TestClient.connect(srv.url('/rooms/reset'), 'json');
      handlers?.reset('reset', { epoch: 'feedfacefeedface', seq: 7 });
      for (const c of [p, j]) {
        const m = await c.waitFor((x) => x.streamReset != null, 'stream reset');
        assert.deepEqual({ ...m.streamReset, seq: Number(m.streamReset?.seq) }, { room: 'reset', epoch: 'feedfacefeedface', seq: 7 });
      }
      const metrics = (await httpRequest(srv.http, 'GET', '/metrics')).body.toString();
      assert.match(metrics, /roomcast_stream_resets_total 1/);
      p.close();
      j.close();
    } finally {
      await srv.close();
    }
  });
});
