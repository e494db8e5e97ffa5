/**
 * The client SDK recovering against the real server (issue 9): a TCP connection cut under a
 * publisher running at 500 events/s, a slow consumer closed with 4000, a server restart (memory
 * broker: a new epoch), exclude_self across a replay, and the `history` command. Each recovery
 * test checks the union of live and replayed events the client emitted: exactly 1..N, in order.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import {
  type ClientEvents,
  type ClientOptions,
  createClient,
  DisconnectedError,
  type RoomcastClient,
  type RoomEvent,
  type WebSocketConstructor,
} from '../../src/client/index.js';
import { next, startTcpProxy, type TcpProxy, until } from '../client-helpers.js';
import { sleep, startServer, type TestServer } from '../helpers.js';

const clients: RoomcastClient[] = [];
const servers: TestServer[] = [];
const proxies: TcpProxy[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(servers.map((s) => s.close()));
});

/** A server with room for every event these tests publish, and no rate limit on publishers. */
async function server(overrides: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const s = await startServer({ history: [{ rooms: '*', size: 10_000, ttlSec: 300 }], rateLimitPerSec: 0, ...overrides });
  servers.push(s);
  return s;
}

async function proxy(to: TestServer): Promise<TcpProxy & { retarget(port: number): void; url: string }> {
  const p = await startTcpProxy(to.port);
  proxies.push(p);
  return Object.assign(p, { url: `ws://127.0.0.1:${p.port}/ws` });
}

/** A `ws` WebSocket class that keeps every socket it opens, so a test can cut or pause one. */
function trackedWebSocket(): { WebSocket: WebSocketConstructor; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return { WebSocket: Tracked, sockets };
}

/** The TCP socket under a `ws` WebSocket (a private field of `ws`, read here on purpose). */
function tcp(ws: WebSocket | undefined): Socket {
  const s = (ws as unknown as { _socket?: Socket } | undefined)?._socket;
  assert.ok(s, 'the WebSocket has a TCP socket');
  return s;
}

function client(options: ClientOptions): RoomcastClient {
  const c = createClient({ reconnect: { initialDelayMs: 20, maxDelayMs: 200 }, ...options });
  clients.push(c);
  return c;
}

/** The seqs of `room`'s events a client emits. */
function seqs(c: RoomcastClient, room: string): number[] {
  const out: number[] = [];
  c.on('event', (e: RoomEvent) => {
    if (e.room === room) out.push(e.seq);
  });
  return out;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/**
 * Publishes `total` events to `room` at about `perSecond` (batches every 10 ms); resolves with
 * the seq of the last one once every reply is in.
 */
async function publishAtRate(p: RoomcastClient, room: string, total: number, perSecond: number, payload = (i: number) => `e${i}`): Promise<number> {
  const batch = Math.max(1, Math.round(perSecond / 100));
  const replies: Array<Promise<{ seq: number }>> = [];
  for (let i = 0; i < total;) {
    for (let k = 0; k < batch && i < total; k += 1, i += 1) replies.push(p.publish(room, payload(i)));
    await sleep(10);
  }
  const done = await Promise.all(replies);
  return Math.max(...done.map((r) => r.seq));
}

describe('recovery through the SDK (memory broker)', () => {
  it('a TCP connection cut (no close frame) under 500 events/s: reconnects and recovers exactly 1..N, in order', async (t) => {
    const srv = await server();
    const room = 'cut';
    const { WebSocket: Tracked, sockets } = trackedWebSocket();
    const c = client({ url: srv.url(), rooms: [room], WebSocket: Tracked });
    const got = seqs(c, room);
    const recovered: Array<ClientEvents['recovered']> = [];
    c.on('recovered', (r) => recovered.push(r));
    const resyncs: Array<ClientEvents['resync']> = [];
    c.on('resync', (r) => resyncs.push(r));
    const disconnects: number[] = [];
    c.on('disconnect', (d) => disconnects.push(d.code));
    await c.connect();
    const p = client({ url: srv.url(), rooms: [room], reconnect: false });
    await p.connect();

    const publishing = publishAtRate(p, room, 1000, 500);
    await until(() => got.length >= 200, 'some live events first', 10_000);
    tcp(sockets[0]).resetAndDestroy();
    const last = await publishing;
    await until(() => c.position(room)?.seq === last, `the client to reach seq ${last}`, 20_000);

    assert.deepEqual(disconnects, [1006], 'cut: no close frame');
    assert.equal(recovered.length, 1);
    assert.ok((recovered[0]?.missed ?? 0) > 0, `events were replayed (${String(recovered[0]?.missed)})`);
    assert.deepEqual(resyncs, []);
    assert.equal(got.length, last);
    assert.deepEqual(got, range(last), 'every event, in order, once');
    assert.equal(c.stats.duplicatesDropped, 0, 'the server sent no duplicate');
    t.diagnostic(`${last} events, ${String(recovered[0]?.missed)} of them replayed after the cut`);
    assert.deepEqual(c.stats, { recovered: 1, replayed: recovered[0]?.missed, resyncs: 0, duplicatesDropped: 0 });
  });

  /**
   * Stalls a consumer (a paused proxy) in `rooms` while `fill` publishes to them in turn, until the
   * server closes it as a slow consumer; publishes 20 more to each room while it is away; then
   * lets it read again. Resolves with the last seq of each room once the client has rejoined
   * (every rejoin settled).
   */
  async function stallUntilClosed(
    srv: TestServer,
    px: TcpProxy,
    c: RoomcastClient,
    p: RoomcastClient,
    fill: Array<[string, string]>,
  ): Promise<Map<string, number>> {
    const rejoined = new Promise<void>((resolve) => {
      let left = fill.length;
      c.on('rejoin', () => {
        if (--left === 0) resolve();
      });
    });
    px.pause();
    const last = new Map<string, number>();
    // About 1.5 MB/s: the server's periodic check (every 50 ms) sees the buffer pass half of
    // maxBackpressure and closes with 4000 before uWS's own cut at the full limit.
    for (let round = 0; round < 20_000 && srv.server.connectionCount > 1; round += 1) {
      for (const [room, body] of fill) last.set(room, (await p.publish(room, body)).seq);
      await sleep(1);
    }
    await until(() => srv.server.connectionCount === 1, 'the server to close the slow consumer', 20_000);
    for (let i = 0; i < 20; i += 1) for (const [room, body] of fill) last.set(room, (await p.publish(room, body)).seq);
    px.resume();
    await rejoined;
    return last;
  }

  it('a slow consumer closed with 4000 rejoins and recovers with zero loss', async (t) => {
    const srv = await server({ maxBackpressure: 1024 * 1024, slowConsumerCheckMs: 50 });
    const px = await proxy(srv);
    const c = client({ url: px.url, rooms: ['slow'] });
    const got = seqs(c, 'slow');
    const disconnects: number[] = [];
    c.on('disconnect', (d) => disconnects.push(d.code));
    const recovered: Array<ClientEvents['recovered']> = [];
    c.on('recovered', (r) => recovered.push(r));
    c.on('resync', (r) => assert.fail(`resync ${JSON.stringify(r)}`));
    await c.connect();
    const p = client({ url: srv.url(), rooms: ['slow'], reconnect: false });
    await p.connect();
    const slowClosedBefore = srv.server.stats.closed.slow_consumer;

    const lastSeqs = await stallUntilClosed(srv, px, c, p, [['slow', 'x'.repeat(1500)]]);
    // One more, so that recovery is followed by live delivery.
    const last = Math.max(lastSeqs.get('slow') ?? 0, (await p.publish('slow', 'after')).seq);
    await until(() => c.position('slow')?.seq === last, `the client to reach seq ${last}`, 20_000);

    assert.equal(srv.server.stats.closed.slow_consumer, slowClosedBefore + 1, 'the server closed it as a slow consumer');
    assert.deepEqual(disconnects, [4000], 'with 4000, after the events still in its send buffer');
    assert.equal(recovered.length, 1);
    assert.ok((recovered[0]?.missed ?? 0) > 0, `events published after the close were replayed (${String(recovered[0]?.missed)})`);
    assert.equal(got.length, last);
    assert.deepEqual(got, range(last), 'zero loss, in order, once');
    assert.equal(c.stats.duplicatesDropped, 0);
    t.diagnostic(`${last} events, ${String(recovered[0]?.missed)} of them replayed after the 4000`);
  });

  it('a server restart (memory broker): rejoin says epoch_changed, resync, and live events go on in the new epoch', async () => {
    let srv = await server();
    const room = 'restart';
    // The proxy stands for the load balancer in front of a real deployment: the restarted server
    // cannot have its old port back at once (the closed connections hold it in TIME_WAIT).
    const px = await proxy(srv);
    const c = client({ url: px.url, rooms: [room] });
    const got = seqs(c, room);
    await c.connect();
    const p1 = client({ url: srv.url(), rooms: [room], reconnect: false });
    await p1.connect();
    for (let i = 0; i < 5; i += 1) await p1.publish(room, `before ${i}`);
    await until(() => got.length === 5, 'the first events');
    const before = c.position(room);
    assert.equal(before?.seq, 5);

    const resync = next(c, 'resync', 20_000);
    const rejoin = next(c, 'rejoin', 20_000);
    await srv.close();
    srv = await server();
    px.retarget(srv.port);
    const [j, r] = await Promise.all([rejoin, resync]);
    assert.deepEqual([j.recovery, j.missed, j.since], ['epoch_changed', 0, before]);
    assert.equal(r.reason, 'epoch_changed');
    assert.deepEqual(r.previous, before);
    assert.notEqual(r.position.epoch, before.epoch);
    assert.equal(r.position.seq, 0);

    const p2 = client({ url: srv.url(), rooms: [room] });
    await p2.connect();
    await p2.publish(room, 'after');
    await until(() => got.length === 6, 'the event after the restart');
    assert.deepEqual(got, [1, 2, 3, 4, 5, 1], 'seq 1 of the new epoch is no duplicate');
    assert.deepEqual(c.position(room), { epoch: r.position.epoch, seq: 1 });
  });

  it('exclude_self: a replay skips the publisher’s own exclude_self events and gives them to everyone else', async () => {
    const srv = await server();
    const room = 'xself';
    const a = await proxy(srv);
    const b = await proxy(srv);
    const ca = client({ url: a.url, rooms: [room] });
    const cb = client({ url: b.url, rooms: [room] });
    const gotA: RoomEvent[] = [];
    const gotB: RoomEvent[] = [];
    ca.on('event', (e) => gotA.push(e));
    cb.on('event', (e) => gotB.push(e));
    await Promise.all([ca.connect(), cb.connect()]);
    const other = client({ url: srv.url(), rooms: [room], reconnect: false });
    await other.connect();

    // Neither A nor B reads any more; A still sends: seq 1 from `other`, 2 from A with
    // exclude_self, 3 from A to everyone, 4 from A with exclude_self.
    a.pause();
    b.pause();
    await other.publish(room, 'one');
    const fromA = [ca.publish(room, 'two', { excludeSelf: true }), ca.publish(room, 'three'), ca.publish(room, 'four', { excludeSelf: true })];
    // Wait for the server to have sequenced A's publishes (the other client sees all of them).
    const seen: number[] = [];
    other.on('event', (e) => seen.push(e.seq));
    await until(() => seen.includes(4), 'A’s publishes to be sequenced');
    const recoveredA = next(ca, 'recovered', 10_000);
    const recoveredB = next(cb, 'recovered', 10_000);
    a.cut();
    b.cut();
    for (const f of fromA) await assert.rejects(f, DisconnectedError, 'their replies never came');
    const [ra, rb] = await Promise.all([recoveredA, recoveredB]);
    await other.publish(room, 'five');
    await until(() => gotA.at(-1)?.seq === 5 && gotB.at(-1)?.seq === 5, 'the live event');

    assert.deepEqual(
      gotA.map((e) => [e.seq, e.text, e.fromSelf]),
      [
        [1, 'one', false],
        [3, 'three', true], // its own, from its previous connection
        [5, 'five', false],
      ],
    );
    assert.equal(ra.missed, 2);
    assert.deepEqual(
      gotB.map((e) => [e.seq, e.text]),
      [
        [1, 'one'],
        [2, 'two'],
        [3, 'three'],
        [4, 'four'],
        [5, 'five'],
      ],
    );
    assert.equal(rb.missed, 4);
  });

  it('history(): newest first or last, limit, since; complete only when every event after since is there', async () => {
    const srv = await server();
    const room = 'hist';
    const p = client({ url: srv.url(), rooms: [room] });
    await p.connect();
    for (let i = 1; i <= 10; i += 1) await p.publish(room, `h${i}`);
    const reader = client({ url: srv.url(), encoding: 'json' });
    await reader.connect();

    const all = await reader.history(room);
    assert.deepEqual(
      all.events.map((e) => e.seq),
      range(10),
    );
    assert.equal(all.seq, 10);
    assert.equal(all.complete, false, 'no since: complete is not claimed');
    assert.equal(all.events[0]?.text, 'h1');
    assert.equal(all.events[0].connId, p.connId);
    assert.deepEqual(
      (await reader.history(room, { limit: 3 })).events.map((e) => e.seq),
      [8, 9, 10],
    );
    assert.deepEqual(
      (await reader.history(room, { limit: 3, reverse: true })).events.map((e) => e.seq),
      [10, 9, 8],
    );
    const since = await reader.history(room, { since: { epoch: all.epoch, seq: 7 } });
    assert.deepEqual([since.events.map((e) => e.seq), since.complete], [[8, 9, 10], true]);
    const upToDate = await reader.history(room, { since: { epoch: all.epoch, seq: 10 } });
    assert.deepEqual([upToDate.events, upToDate.complete], [[], true]);
    const otherEpoch = await reader.history(room, { since: { epoch: 'not-this-one', seq: 7 } });
    assert.deepEqual([otherEpoch.events, otherEpoch.complete, otherEpoch.epoch], [[], false, all.epoch]);
    assert.deepEqual(reader.position(room), undefined, 'reading history joins nothing');
    assert.equal((await p.history(room, { limit: 1 })).events[0]?.fromSelf, true);
  });
});
