/**
 * broker=redis-cluster on a real local Redis Cluster (3 masters, 1 replica each): two server
 * processes, rooms on all three shards; publish, exclude-self, presence, history/recovery and
 * sequence numbers as with one Redis; admin actions across processes; a master killed under a
 * busy room (failover), printing how long delivery stopped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '../../src/protocol/errors.js';
import { PresenceAction, type ServerMessage } from '../../src/protocol/types.js';
import {
  hsToken,
  httpRequest,
  redisCli,
  requireTool,
  sleep,
  startRedis,
  startRedisCluster,
  startServer,
  TestClient,
  type TestCluster,
  type TestServer,
  withTimeout,
} from '../helpers.js';

const missing = requireTool('redis-server') || requireTool('redis-cli');

const PREFIX = 'cl:';
const SECRET = 'cluster-test-secret-0123456789abcdef';
const API_KEY = 'cluster-api-key-0123456';
const api = { authorization: `Bearer ${API_KEY}` };

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('broker=redis-cluster', { skip: missing }, () => {
  let cluster: TestCluster;
  let a: TestServer;
  let b: TestServer;
  /** One room per master, and the port of that master. */
  const rooms: Array<{ room: string; slot: number; owner: number }> = [];
  const clients: TestClient[] = [];
  const connect = async (s: TestServer, path: string, encoding: 'proto' | 'json' = 'proto'): Promise<TestClient> => {
    const c = await TestClient.connect(s.url(path), encoding);
    clients.push(c);
    return c;
  };

  before(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 });
    const options = {
      broker: 'redis-cluster' as const,
      redisNodes: cluster.seeds,
      redisPrefix: PREFIX,
      presenceEvents: ['*'],
      maxConnectsPerIpPerSec: 0,
      rateLimitPerSec: 0,
      authSecret: SECRET,
      anonymous: 'allow' as const,
      apiKey: API_KEY,
      history: [
        { rooms: 'nohist-*', size: 0, ttlSec: 0 },
        { rooms: '*', size: 10_000, ttlSec: 300 },
      ],
    };
    a = await startServer(options);
    b = await startServer(options);
    const owners = new Set<number>();
    for (let i = 0; rooms.length < 3 && i < 100; i++) {
      const room = `r${i}`;
      const slot = await cluster.keyslot(`${PREFIX}{${room}}:seq`);
      const owner = await cluster.ownerOf(slot);
      if (owners.has(owner)) continue;
      owners.add(owner);
      rooms.push({ room, slot, owner });
    }
    assert.equal(rooms.length, 3, 'rooms on three different masters');
  });
  after(async () => {
    for (const c of clients) c.close();
    // before() may have failed before it assigned these.
    await (a as TestServer | undefined)?.close();
    await (b as TestServer | undefined)?.close();
    await (cluster as TestCluster | undefined)?.stop();
  });

  it('on every shard: one sequence per room, the same order on both processes, exclude-self', async () => {
    for (const { room } of rooms) {
      const pa = await connect(a, `/rooms/${room}`, 'proto');
      const pb = await connect(b, `/rooms/${room}`, 'json');
      const sends = [];
      for (let i = 0; i < 20; i++) sends.push(pa.request({ publish: { room, text: `a${i}` } }), pb.request({ publish: { room, text: `b${i}` } }));
      const seqs = (await Promise.all(sends)).map((r) => Number(r.publish?.seq)).sort((x, y) => x - y);
      assert.deepEqual(
        seqs,
        Array.from({ length: 40 }, (_, i) => i + 1),
        `${room}: seqs 1..40`,
      );
      const evA = (await pa.events(room, 40)).map((e) => `${String(e?.seq)}:${String(e?.text)}`);
      const evB = (await pb.events(room, 40)).map((e) => `${String(e?.seq)}:${String(e?.text)}`);
      assert.deepEqual(evA, evB, `${room}: same events, same order`);
      assert.deepEqual(
        evA.map((x) => Number.parseInt(x, 10)),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      const quiet = await pa.request({ publish: { room, text: 'not to me', excludeSelf: true } });
      const loud = await pb.request({ publish: { room, text: 'to all' } });
      assert.deepEqual([quiet.publish?.seq, loud.publish?.seq], [41, 42]);
      const bSees = await pb.events(room, 42);
      assert.deepEqual(
        bSees.slice(40).map((e) => e?.text),
        ['not to me', 'to all'],
      );
      await pa.waitFor((m) => m.event?.seq === 42, 'seq 42');
      assert.deepEqual(
        pa
          .eventsSoFar(room)
          .slice(40)
          .map((e) => e.seq),
        [42],
        'the publisher skips its exclude-self event',
      );
    }
  });

  it('a room without history: seq 0 with no listener, sequenced once another process listens (SHARDNUMSUB)', async () => {
    const room = 'nohist-x';
    const none = await httpRequest(a.http, 'POST', `/api/rooms/${room}/publish`, { headers: api, body: '{"text":"x"}' });
    assert.equal((none.json() as { seq?: number }).seq ?? 0, 0, 'nobody listens: seq 0');
    const member = await connect(b, `/rooms/${room}`);
    const res = await httpRequest(a.http, 'POST', `/api/rooms/${room}/publish`, { headers: api, body: '{"text":"y"}' });
    assert.equal(Number((res.json() as { seq?: number }).seq), 1, 'a process listens: sequenced');
    assert.equal((await member.events(room, 1))[0]?.text, 'y');
  });

  it('presence across processes', async () => {
    const room = rooms[1]?.room ?? '';
    const token = async (sub: string): Promise<string> => hsToken(SECRET, { sub });
    const watcher = await connect(a, `/rooms/${room}?token=${await token('watcher')}`, 'json');
    const ada = await connect(b, `/rooms/${room}?token=${await token('ada')}`);
    await watcher.waitFor((m) => m.presenceEvent?.action === PresenceAction.PRESENCE_ACTION_JOIN && m.presenceEvent.userId === 'ada', 'ada joins (from b)');
    const res = await httpRequest(a.http, 'GET', `/api/rooms/${room}/presence`, { headers: api });
    const users = (res.json() as { members: Array<{ userId: string }> }).members.map((m) => m.userId).sort();
    assert.ok(users.includes('ada') && users.includes('watcher'), JSON.stringify(users));
    ada.close();
    await watcher.waitFor((m) => m.presenceEvent?.action === PresenceAction.PRESENCE_ACTION_LEAVE && m.presenceEvent.userId === 'ada', 'ada leaves');
  });

  it('history and recovery: a rejoin on the other process gets what it missed', async () => {
    const room = rooms[2]?.room ?? '';
    const pub = await connect(a, `/rooms/${room}`);
    const member = await connect(b, `/ws`);
    const joined = await member.request({ join: { room } });
    const epoch = joined.join?.epoch ?? '';
    const start = Number(joined.join?.seq);
    for (let i = 0; i < 5; i++) await pub.request({ publish: { room, text: `h${i}` } });
    await member.events(room, 5);
    const last = start + 5;
    member.close();
    await member.closed;
    for (let i = 5; i < 8; i++) await pub.request({ publish: { room, text: `h${i}` } });
    const again = await connect(a, '/ws', 'json');
    const reply = await again.request({ join: { room, since: { epoch, seq: last }, previousConnId: member.connId } });
    assert.equal(reply.join?.recovered, true, JSON.stringify(reply.join));
    assert.equal(reply.join.missed, 3);
    assert.deepEqual(
      again.eventsSoFar(room).map((e) => e.text),
      ['h5', 'h6', 'h7'],
    );
    const hist = await httpRequest(b.http, 'GET', `/api/rooms/${room}/history?limit=2`, { headers: api });
    const body = hist.json() as { epoch: string; seq: number; events: Array<{ text: string }> };
    assert.equal(body.epoch, epoch);
    assert.deepEqual(
      body.events.map((e) => e.text),
      ['h6', 'h7'],
    );
  });

  it('admin disconnect and remove issued to one process act on the other', async () => {
    const room = rooms[0]?.room ?? '';
    const token = await hsToken(SECRET, { sub: 'kicked' });
    const onA = await connect(a, `/rooms/${room}?token=${token}`);
    const onB = await connect(b, `/rooms/${room}?token=${token}`, 'json');
    const res = await httpRequest(a.http, 'POST', '/api/users/kicked/disconnect', { headers: api, body: '{"reason":"bye"}' });
    assert.deepEqual(res.json(), { connections: 2 });
    for (const c of [onA, onB]) assert.deepEqual(await withTimeout(c.closed, 5000, 'disconnect'), { code: CloseCode.CLOSE_CODE_DISCONNECTED, reason: 'bye' });
    const t2 = await hsToken(SECRET, { sub: 'removed' });
    const r1 = await connect(a, `/rooms/${room}?token=${t2}`);
    const r2 = await connect(b, `/rooms/${room}?token=${t2}`);
    const rem = await httpRequest(b.http, 'POST', `/api/rooms/${room}/remove`, { headers: api, body: '{"userId":"removed","reason":"spam"}' });
    assert.deepEqual(rem.json(), { connections: 2 });
    for (const c of [r1, r2]) assert.deepEqual((await c.waitFor((m) => m.removed != null, 'removed')).removed, { room, reason: 'spam' });
  });

  it('the ticker publishes once per room and period on the cluster, not once per process', async () => {
    const options = { broker: 'redis-cluster' as const, redisNodes: cluster.seeds, redisPrefix: 'ticks:', tickMs: 100 };
    const t1 = await startServer(options);
    const t2 = await startServer(options);
    try {
      const c1 = await connect(t1, '/rooms/clock');
      const c2 = await connect(t2, '/rooms/clock', 'json');
      await sleep(1200);
      const ticks = c1.eventsSoFar('clock');
      assert.ok(ticks.length >= 5, `${String(ticks.length)} ticks in 1.2 s`);
      const slots = ticks.map((e) => Math.floor(Date.parse(e.text ?? '') / 100));
      assert.equal(new Set(slots).size, slots.length, `one tick per 100 ms period: ${slots.join(',')}`);
      const seen2 = new Set(c2.eventsSoFar('clock').map((e) => e.seq));
      assert.ok(
        ticks.slice(0, -2).every((e) => seen2.has(e.seq)),
        'both processes deliver the same ticks',
      );
    } finally {
      await t1.close();
      await t2.close();
    }
  });

  it('a room found on another master than the one that started its epoch gets a new epoch (members are told)', async () => {
    // What a promoted replica that lacks the last writes looks like to the script: the room's
    // node key names another master. (A real failover on localhost rarely loses writes.)
    const { room, owner } = rooms[1] ?? { room: '', owner: 0 };
    const onA = await connect(a, `/rooms/${room}`);
    const onB = await connect(b, `/rooms/${room}`, 'json');
    const first = await onA.request({ publish: { room, text: 'before' } });
    const before = Number(first.publish?.seq);
    await onB.waitFor((m) => m.event?.text === 'before', 'before');
    const epochKey = `${PREFIX}{${room}}:epoch`;
    const oldEpoch = (await redisCli(owner, 'GET', epochKey)).trim();
    await redisCli(owner, 'SET', `${PREFIX}{${room}}:node`, 'another-master');
    const after = await onA.request({ publish: { room, text: 'after' } });
    assert.equal(Number(after.publish?.seq), 1, `a new epoch starts at 1 (was at ${String(before)})`);
    const newEpoch = (await redisCli(owner, 'GET', epochKey)).trim();
    assert.notEqual(newEpoch, oldEpoch);
    for (const c of [onA, onB]) {
      const reset = await c.waitFor((m) => m.streamReset?.room === room, 'stream reset');
      assert.equal(reset.streamReset?.epoch, newEpoch);
      await c.waitFor((m) => m.event?.text === 'after', 'the event after the reset');
    }
  });

  it('failover: kill -9 the master of a busy room; the replica takes over, publishes resume, no acknowledged event is lost without a reset', async () => {
    const { room, slot, owner } = rooms[0] ?? { room: '', slot: 0, owner: 0 };
    const members = [
      await connect(a, `/rooms/${room}`),
      await connect(b, `/rooms/${room}`, 'json'),
      await connect(a, `/rooms/${room}`, 'json'),
      await connect(b, `/rooms/${room}`),
    ];
    // Arrival time of each event at the first member, to measure the gap.
    const arrivals: number[] = [];
    const watch = members[0] as TestClient;
    const origin = watch.received.length;
    const timer = setInterval(() => {
      while (watch.received.length > origin + arrivals.length) arrivals.push(Date.now());
    }, 2);
    const publishers = [await connect(a, `/rooms/${room}`), await connect(b, `/rooms/${room}`)];
    let running = true;
    const acked: string[] = [];
    let failed = 0;
    const pumps = publishers.map(async (p, i) => {
      let n = 0;
      while (running) {
        const text = `p${i}-${n++}`;
        const r = await p.request({ publish: { room, text } });
        if (r.error !== undefined && r.error !== null) {
          failed += 1;
          await sleep(20);
        } else acked.push(text);
      }
    });
    await until('publishes before the kill', () => acked.length >= 100, 10_000);
    const node = cluster.nodes.find((n) => n.port === owner);
    assert.ok(node, 'the owning master');
    const killedAt = Date.now();
    const ackedAtKill = acked.length;
    await node.kill();
    const promoted = await cluster.failedOver(slot, owner);
    await until('publishes after the failover', () => acked.length >= ackedAtKill + 100, 20_000);
    running = false;
    await Promise.all(pumps);
    const end = await publishers[0]?.request({ publish: { room, text: 'end' } });
    assert.equal(end?.error ?? undefined, undefined);
    acked.push('end');
    for (const m of members) await m.waitFor((x) => x.event?.text === 'end', 'the last event', 10_000);
    clearInterval(timer);
    while (watch.received.length > origin + arrivals.length) arrivals.push(Date.now());
    // The longest silence after the kill at the watching member.
    let gap = 0;
    let prev = killedAt;
    for (const t of arrivals) {
      if (t < killedAt) continue;
      gap = Math.max(gap, t - prev);
      prev = t;
    }
    const resets = members.map((m) => m.received.filter((x: ServerMessage) => x.streamReset?.room === room).length);
    console.log(
      `# failover: master ${owner} killed, replica ${promoted} promoted; delivery stopped for ${gap} ms; ${failed} publishes answered with an error meanwhile; ${acked.length} acknowledged; stream resets per member: ${resets.join(',')}`,
    );
    for (const m of members) {
      const texts = new Set(m.eventsSoFar(room).map((e) => e.text));
      const resets = m.received.filter((x: ServerMessage) => x.streamReset?.room === room).length;
      const lost = acked.filter((t) => !texts.has(t));
      assert.ok(
        lost.length === 0 || resets > 0,
        `${m.connId}: ${lost.length} acknowledged events missing and no stream reset (e.g. ${lost.slice(0, 3).join(',')})`,
      );
      // Within one epoch no seq repeats and they only go up.
      let epochSeqs: number[] = [];
      for (const x of m.received) {
        if (x.streamReset?.room === room) epochSeqs = [];
        else if (x.event?.room === room) {
          const s = Number(x.event.seq);
          assert.ok(epochSeqs.length === 0 || s > (epochSeqs.at(-1) ?? 0), `${m.connId}: seq ${s} after ${String(epochSeqs.at(-1))}`);
          epochSeqs.push(s);
        }
      }
    }
  });
});

/**
 * A stand-in for a Redis 6 cluster node (only 7.0 is installed here): answers HELLO and INFO the
 * way Redis 6.2 does, OK to anything else.
 */
async function fakeRedis6(): Promise<{ port: number; close: () => void }> {
  const net = await import('node:net');
  const server = net.createServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const head = /^\*(\d+)\r\n/.exec(buf);
        if (head === null) return;
        let at = head[0].length;
        const args: string[] = [];
        for (let i = 0; i < Number(head[1]); i++) {
          const len = /^\$(\d+)\r\n/.exec(buf.slice(at));
          if (len === null || buf.length < at + len[0].length + Number(len[1]) + 2) return;
          at += len[0].length;
          args.push(buf.slice(at, at + Number(len[1])));
          at += Number(len[1]) + 2;
        }
        buf = buf.slice(at);
        const cmd = (args[0] ?? '').toLowerCase();
        if (cmd === 'hello')
          sock.write(
            '%7\r\n+server\r\n+redis\r\n+version\r\n+6.2.14\r\n+proto\r\n:3\r\n+id\r\n:1\r\n+mode\r\n+cluster\r\n+role\r\n+master\r\n+modules\r\n*0\r\n',
          );
        else if (cmd === 'info') {
          const text = 'redis_version:6.2.14\r\nredis_mode:cluster\r\nloading:0\r\n';
          sock.write(`$${String(text.length)}\r\n${text}\r\n`);
        } else sock.write('+OK\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address !== null ? address.port : 0, close: () => server.close() };
}

describe('broker=redis-cluster start-up errors', { skip: missing }, () => {
  it('a node older than Redis 7 (no sharded pub/sub)', async () => {
    const old = await fakeRedis6();
    try {
      await assert.rejects(
        startServer({ broker: 'redis-cluster', redisNodes: [`127.0.0.1:${String(old.port)}`] }),
        /runs Redis 6\.2\.14: broker=redis-cluster needs Redis 7 or newer/,
      );
    } finally {
      old.close();
    }
  });

  it('a seed that is not a cluster, a node that refuses the credentials, no seeds', async () => {
    const plain = await startRedis();
    const locked = await startRedis({ args: ['--requirepass', 'right-password'] });
    try {
      await assert.rejects(startServer({ broker: 'redis-cluster', redisNodes: [`127.0.0.1:${plain.port}`] }), /is not part of a Redis Cluster/);
      await assert.rejects(startServer({ broker: 'redis-cluster', redisNodes: [`redis://:wrong@127.0.0.1:${locked.port}`] }), /refused authentication/);
      await assert.rejects(startServer({ broker: 'redis-cluster', redisNodes: [`127.0.0.1:${locked.port}`] }), /refused authentication/);
      await assert.rejects(startServer({ broker: 'redis-cluster', redisNodes: ['127.0.0.1:1'] }), /no Redis Cluster seed node answers/);
      await assert.rejects(startServer({ broker: 'redis-cluster' }), /needs redisNodes/);
    } finally {
      await plain.stop();
      await locked.stop();
    }
  });
});
