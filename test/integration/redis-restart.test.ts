/**
 * Redis dies (kill -9) under two server processes with members and publishers on both, and
 * comes back on the same port. Without persistence the room's keys are gone: every member must
 * either see every acknowledged event or be told with a StreamReset, never a silent gap. With
 * AOF (appendfsync always) nothing acknowledged is lost: every member sees every event.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { requireTool, sleep, startRedis, startServer, TestClient, type TestRedis, type TestServer } from '../helpers.js';

const missing = requireTool('redis-server');

const ROOM = 'restart';

/** One member's view, checked message by message. */
interface View {
  /** Where the member stands (from the join, then each event or reset). */
  epoch: string;
  seq: number;
  resets: number;
  /** Seqs received per epoch. */
  got: Map<string, number[]>;
  problems: string[];
}

/**
 * Walks a member's messages: events must follow their position one by one (a jump or a repeat
 * is a silent gap or a duplicate); a StreamReset moves the position.
 */
function walk(c: TestClient): View {
  const welcome = c.received.find((m) => m.welcome != null)?.welcome?.rooms?.find((r) => r.room === ROOM);
  const v: View = { epoch: welcome?.epoch ?? '?', seq: Number(welcome?.seq ?? 0), resets: 0, got: new Map(), problems: [] };
  let joined = false;
  for (const m of c.received) {
    if (m.welcome != null) joined = true;
    const e = m.event;
    if (e?.room === ROOM) {
      const seq = Number(e.seq);
      // Events from before the join (published while the join was answered) are not the member's.
      if (!joined && seq <= v.seq) continue;
      if (seq !== v.seq + 1) v.problems.push(`${c.connId}: at ${v.epoch}:${v.seq} got seq ${seq}`);
      v.seq = seq;
      const list = v.got.get(v.epoch) ?? [];
      list.push(seq);
      v.got.set(v.epoch, list);
    }
    const r = m.streamReset;
    if (r?.room === ROOM) {
      if (r.epoch === v.epoch && Number(r.seq) <= v.seq) v.problems.push(`${c.connId}: reset back to ${r.epoch}:${String(r.seq)} from ${v.seq}`);
      v.epoch = r.epoch ?? '';
      v.seq = Number(r.seq);
      v.resets += 1;
    }
  }
  return v;
}

/** A publisher that keeps publishing and records what was acknowledged. */
function publishLoop(c: TestClient, stop: { done: boolean }): { acked: number[]; finished: Promise<void> } {
  const acked: number[] = [];
  const finished = (async () => {
    let i = 0;
    while (!stop.done) {
      const r = await c.request({ publish: { room: ROOM, text: `${c.connId}-${i++}` } });
      if (r.publish != null) acked.push(Number(r.publish.seq));
      else await sleep(20);
      await sleep(3);
    }
  })();
  return { acked, finished };
}

async function scenario(persistent: boolean, rounds: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'roomcast-aof-'));
  const args = persistent ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir] : [];
  let redis: TestRedis = await startRedis({ args });
  const port = redis.port;
  // The publishers send every few ms: no frame-rate limit (their final publish must not be refused).
  // History large enough for the whole run (two publishers at a few hundred events/s): a process
  // whose subscriber reconnects a moment after Redis is back must still find the events it missed
  // in the stream (with the default 100 they may be trimmed: a reset, correctly, but not what
  // this test is about).
  const options = {
    broker: 'redis' as const,
    redisUrl: redis.url,
    redisPrefix: 'rs:',
    rateLimitPerSec: 0,
    history: [{ rooms: '*', size: 100_000, ttlSec: 600 }],
  };
  const servers: TestServer[] = [];
  const clients: TestClient[] = [];
  try {
    servers.push(await startServer(options), await startServer(options));
    for (const s of servers) for (const enc of ['proto', 'json', 'proto'] as const) clients.push(await TestClient.connect(s.url(`/rooms/${ROOM}`), enc));
    const publishers = [clients[0] as TestClient, clients[3] as TestClient];
    const stop = { done: false };
    const loops = publishers.map((p) => publishLoop(p, stop));
    for (let round = 0; round < rounds; round++) {
      await sleep(300);
      await redis.kill();
      await sleep(500 + 300 * round);
      redis = await startRedis({ port, args });
      await sleep(800);
    }
    stop.done = true;
    await Promise.all(loops.map((l) => l.finished));
    // A last event from each process shows where the room ends; everybody must get there.
    const finals = [];
    for (const p of publishers) {
      const r = await p.request({ publish: { room: ROOM, text: 'final' } });
      assert.ok(r.publish != null, `final publish: ${JSON.stringify(r)}`);
      finals.push(Number(r.publish.seq));
    }
    const last = Math.max(...finals);
    const deadline = Date.now() + 10_000;
    while (clients.some((c) => walk(c).seq < last) && Date.now() < deadline) await sleep(20);
    const acked = loops.flatMap((l) => l.acked);
    assert.ok(acked.length > 20, `publishers got acknowledgements (${acked.length})`);
    for (const c of clients) {
      const v = walk(c);
      assert.deepEqual(v.problems, [], 'no silent gap, no duplicate');
      assert.equal(v.seq, last, `${c.connId} reached the end`);
      if (persistent) {
        assert.equal(v.resets, 0, `${c.connId}: nothing lost, nothing to reset`);
        const seqs = [...v.got.values()].flat();
        for (const s of acked) assert.ok(seqs.includes(s), `${c.connId} has acknowledged seq ${s}`);
      } else {
        assert.ok(v.resets >= 1, `${c.connId}: told that the stream was reset`);
      }
    }
  } finally {
    for (const c of clients) c.close();
    for (const s of servers) await s.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('broker=redis: Redis restarts under two processes', { skip: missing }, () => {
  it('without persistence: every member gets every acknowledged event or a StreamReset (3 restarts)', async () => {
    await scenario(false, 3);
  });

  it('with AOF (appendfsync always): zero loss', async () => {
    await scenario(true, 2);
  });
});
