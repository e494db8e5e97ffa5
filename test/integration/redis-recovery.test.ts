/**
 * Recovery across processes (issue 9, test 5): two server processes on one Redis, 200 clients
 * spread over both, every one of them drops its connection and rejoins with `since` on the other
 * process while a publisher on each process keeps publishing. Every client's events (before and
 * after the rejoin) must be contiguous, with no duplicate.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/types.js';
import { requireTool, sleep, startRedis, startServer, TestClient, type TestRedis, type TestServer } from '../helpers.js';

const missing = requireTool('redis-server');

const ROOM = 'storm';
const CLIENTS = 200;

interface Position {
  epoch: string;
  seq: number;
}

/** The event seqs of ROOM a connection received after joining (events from before its join are not its). */
function seqsAfterJoin(c: TestClient, joinedAt: (m: ServerMessage) => Position | undefined): { start: Position; seqs: number[] } {
  let start: Position | undefined;
  const early: number[] = [];
  const seqs: number[] = [];
  for (const m of c.received) {
    const joined = joinedAt(m);
    if (joined !== undefined && start === undefined) {
      start = joined;
      seqs.push(...early.filter((s) => s > joined.seq));
      continue;
    }
    const seq = m.event?.room === ROOM ? Number(m.event.seq) : undefined;
    if (seq === undefined) continue;
    if (start === undefined) early.push(seq);
    else seqs.push(seq);
  }
  return { start: start ?? { epoch: '?', seq: -1 }, seqs };
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('broker=redis: recovery across processes', { skip: missing }, () => {
  it(`${CLIENTS} clients over two processes rejoin with since while both publish: contiguous, no duplicate`, async () => {
    let redis: TestRedis | undefined;
    const servers: TestServer[] = [];
    const clients: TestClient[] = [];
    try {
      redis = await startRedis();
      const options = {
        broker: 'redis' as const,
        redisUrl: redis.url,
        redisPrefix: 'rc:',
        rateLimitPerSec: 0,
        // 400 connections from one address in a few seconds: no connect-rate limit here.
        maxConnectsPerIpPerSec: 0,
        history: [{ rooms: '*', size: 100_000, ttlSec: 120 }],
      };
      servers.push(await startServer(options), await startServer(options));
      const [a, b] = servers as [TestServer, TestServer];
      const first: TestClient[] = [];
      for (let i = 0; i < CLIENTS; i += 20) {
        const batch = Array.from({ length: 20 }, (_, j) =>
          TestClient.connect(((i + j) % 2 === 0 ? a : b).url(`/rooms/${ROOM}`), (i + j) % 3 === 0 ? 'json' : 'proto'),
        );
        first.push(...(await Promise.all(batch)));
      }
      clients.push(...first);
      // A publisher on each process, as fast as its acknowledgements come back (4 in flight).
      const publishers = [await TestClient.connect(a.url(`/rooms/${ROOM}`), 'proto'), await TestClient.connect(b.url(`/rooms/${ROOM}`), 'proto')];
      clients.push(...publishers);
      let running = true;
      let acked = 0;
      const pumps = publishers.flatMap((p) =>
        Array.from({ length: 4 }, async () => {
          while (running) {
            const r = await p.request({ publish: { room: ROOM, text: 'x' } });
            assert.equal(r.error, undefined, JSON.stringify(r.error));
            acked += 1;
          }
        }),
      );
      await until('a first stretch of events', () => acked >= 200, 20_000);
      const ackedBeforeStorm = acked;
      // Everybody drops and rejoins on the other process with the position it holds.
      const welcomed = (m: ServerMessage): Position | undefined => {
        const r = m.welcome?.rooms?.find((x) => x.room === ROOM);
        return r === undefined ? undefined : { epoch: r.epoch ?? '', seq: Number(r.seq) };
      };
      const second = await Promise.all(
        first.map(async (c, i) => {
          const before = seqsAfterJoin(c, welcomed);
          const last = before.seqs.at(-1) ?? before.start.seq;
          const since = { epoch: before.start.epoch, seq: last };
          const previousConnId = c.connId;
          c.close();
          await c.closed;
          const again = await TestClient.connect((i % 2 === 0 ? b : a).url(), i % 3 === 0 ? 'proto' : 'json');
          clients.push(again);
          const reply = await again.request({ join: { room: ROOM, since, previousConnId } });
          return { before, since, again, reply };
        }),
      );
      await sleep(300);
      running = false;
      await Promise.all(pumps);
      const end = Number((await publishers[0]?.request({ publish: { room: ROOM, text: 'end' } }))?.publish?.seq);
      const missed = second.reduce((n, x) => n + Number(x.reply.join?.missed ?? 0), 0);
      assert.ok(missed > 0 && acked > ackedBeforeStorm + 20, `events were replayed (${missed}) and published during the rejoins (${acked - ackedBeforeStorm})`);
      for (const { before, since, again, reply } of second) {
        assert.equal(reply.join?.recovered, true, `recovered: ${JSON.stringify(reply.join)}`);
        assert.equal(reply.join.epoch, since.epoch);
        await until(`${again.connId} reaches ${end}`, () => again.eventsSoFar(ROOM).at(-1)?.seq === end, 20_000);
        // Replayed events come before the reply; everything after `since` counts.
        const after = again.eventsSoFar(ROOM).map((e) => Number(e.seq));
        const all = [...before.seqs, ...after];
        const from = before.start.seq + 1;
        assert.deepEqual(
          all,
          Array.from({ length: end - from + 1 }, (_, k) => from + k),
          `${again.connId}: contiguous from ${from} to ${end}, no duplicate`,
        );
      }
    } finally {
      for (const c of clients) c.close();
      for (const s of servers) await s.close();
      await redis?.stop();
    }
  });
});
