/**
 * Several server processes sharing rooms through a real redis-server: events, sequence numbers,
 * exclude-self, presence and the HTTP API across processes; Redis going away.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PresenceAction } from '../../src/protocol/types.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { hsToken, httpRequest, requireTool, sleep, startRedis, startServer, TestClient, type TestRedis, type TestServer, withTimeout } from '../helpers.js';
import { CloseCode } from '../../src/protocol/errors.js';

const missing = requireTool('redis-server');

describe('broker=redis', { skip: missing }, () => {
  let redis: TestRedis;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    redis = await startRedis();
    const options = { broker: 'redis' as const, redisUrl: redis.url, redisPrefix: 'test:', presenceEvents: ['*'] };
    a = await startServer(options);
    b = await startServer(options);
  });
  after(async () => {
    // before() may have failed before it assigned these.
    await (a as TestServer | undefined)?.close();
    await (b as TestServer | undefined)?.close();
    await (redis as TestRedis | undefined)?.stop();
  });

  it('an event published on one process reaches members on both, with one sequence', async () => {
    const onA = await TestClient.connect(a.url('/rooms/shared'), 'proto');
    const onB = await TestClient.connect(b.url('/rooms/shared'), 'json');
    const onB2 = await TestClient.connect(b.url('/rooms/shared'), 'proto');
    const r1 = await onA.request({ publish: { room: 'shared', text: 'from A' } });
    const r2 = await onB.request({ publish: { room: 'shared', data: new Uint8Array([7, 7]) } });
    assert.deepEqual([r1.publish?.seq, r2.publish?.seq], [1, 2]);
    for (const c of [onA, onB, onB2]) {
      const evs = await c.events('shared', 2);
      assert.deepEqual(
        evs.map((e) => e?.seq),
        [1, 2],
      );
      assert.equal(evs[0]?.text, 'from A');
      assert.equal(evs[0].connId, onA.connId);
      assert.deepEqual([...(evs[1]?.data ?? [])], [7, 7]);
    }
    for (const c of [onA, onB, onB2]) c.close();
  });

  it('sequence numbers stay unique and ordered under concurrent publishes from both processes', async () => {
    const pa = await TestClient.connect(a.url('/rooms/race'), 'proto');
    const pb = await TestClient.connect(b.url('/rooms/race'), 'proto');
    const sends = [];
    for (let i = 0; i < 50; i++) {
      sends.push(pa.request({ publish: { room: 'race', text: `a${i}` } }));
      sends.push(pb.request({ publish: { room: 'race', text: `b${i}` } }));
    }
    const seqs = (await Promise.all(sends)).map((r) => Number(r.publish?.seq)).sort((x, y) => x - y);
    assert.deepEqual(
      seqs,
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    const evA = (await pa.events('race', 100)).map((e) => `${String(e?.seq)}${String(e?.text)}`);
    const evB = (await pb.events('race', 100)).map((e) => `${String(e?.seq)}${String(e?.text)}`);
    assert.deepEqual(evA, evB, 'both processes deliver the same events in the same order');
    assert.deepEqual(
      evA.map((x) => Number.parseInt(x, 10)),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    pa.close();
    pb.close();
  });

  it('excludeSelf leaves out only the sender, across processes', async () => {
    const sender = await TestClient.connect(a.url('/rooms/noself'), 'json');
    const sameProcess = await TestClient.connect(a.url('/rooms/noself'), 'proto');
    const otherProcess = await TestClient.connect(b.url('/rooms/noself'), 'json');
    await sender.request({ publish: { room: 'noself', text: 'not to me', excludeSelf: true } });
    await otherProcess.request({ publish: { room: 'noself', text: 'marker' } });
    for (const c of [sameProcess, otherProcess])
      assert.deepEqual(
        (await c.events('noself', 2)).map((e) => e?.text),
        ['not to me', 'marker'],
      );
    assert.deepEqual(
      (await sender.events('noself', 1)).map((e) => e?.text),
      ['marker'],
    );
    for (const c of [sender, sameProcess, otherProcess]) c.close();
  });

  it('the HTTP API on one process publishes to members on the other', async () => {
    const c = await TestClient.connect(b.url('/rooms/http'), 'proto');
    const res = await httpRequest(a.http, 'POST', '/api/rooms/http/publish', { body: '{"text":"via A"}' });
    assert.deepEqual(res.json(), { room: 'http', seq: '1' });
    const j = await TestClient.connect(b.url('/rooms/http'), 'json');
    const res2 = await httpRequest(a.http, 'POST', '/api/rooms/http/publish', { body: '{"text":"named","source":"billing"}' });
    assert.deepEqual(res2.json(), { room: 'http', seq: '2' });
    const evs = await c.events('http', 2);
    assert.equal(evs[0]?.text, 'via A');
    assert.deepEqual(
      evs.map((e) => e?.source),
      ['http', 'billing'],
      'source crosses processes in the forwarded bytes',
    );
    assert.equal((await j.events('http', 1))[0]?.source, 'billing', 'and survives the decode for JSON members');
    j.close();
    const empty = await httpRequest(a.http, 'POST', '/api/rooms/nobody-here/publish', { body: '{"text":"x"}' });
    assert.deepEqual(empty.json(), { room: 'nobody-here', seq: '1' }, 'rooms keep history by default: sequenced and stored with nobody listening');
    c.close();
  });

  it('presence spans processes: queries, counts and join/leave events', async () => {
    const x1 = await TestClient.connect(a.url('/rooms/pres'), 'proto');
    const x2 = await TestClient.connect(b.url('/rooms/pres'), 'json');
    const p = await x1.request({ presenceStats: { room: 'pres' } });
    assert.deepEqual(p.presenceStats, { room: 'pres', connections: 2, users: 1 }, 'two anonymous connections, one (empty) user id');
    const members = await x2.request({ presence: { room: 'pres' } });
    assert.deepEqual([...(members.presence?.members?.[0]?.connIds ?? [])].sort(), [x1.connId, x2.connId].sort());
    await x1.waitFor(
      (m) => m.presenceEvent?.connId === x2.connId && m.presenceEvent.action === PresenceAction.PRESENCE_ACTION_JOIN,
      'join from the other process',
    );
    x2.close();
    await x1.waitFor(
      (m) => m.presenceEvent?.connId === x2.connId && m.presenceEvent.action === PresenceAction.PRESENCE_ACTION_LEAVE,
      'leave from the other process',
    );
    await sleep(50);
    const after1 = await x1.request({ presenceStats: { room: 'pres' } });
    assert.equal(after1.presenceStats?.connections, 1);
    x1.close();
  });

  it('presence drops the entries of a dead process, even thousands at once', async () => {
    const { Redis } = await import('ioredis');
    const probe = new Redis(redis.url);
    try {
      // 9000 connections of a process that died a minute ago: their expiry times have passed.
      const past = Date.now() - 60_000;
      const m = probe.multi();
      for (let i = 0; i < 9000; i++) {
        m.hset('test:presence:{ghosts}', `dead-${i}`, `ghost-${i % 50}`);
        m.zadd('test:presence-exp:{ghosts}', past, `dead-${i}`);
      }
      await m.exec();
      const live = await TestClient.connect(a.url('/rooms/ghosts'), 'proto');
      const stats = await live.request({ presenceStats: { room: 'ghosts' } });
      assert.deepEqual(stats.presenceStats, { room: 'ghosts', connections: 1, users: 1 });
      assert.equal(await probe.hlen('test:presence:{ghosts}'), 1);
      live.close();
    } finally {
      probe.disconnect();
    }
  });

  it('a process unsubscribes from a room when its last local member leaves', async () => {
    const { Redis } = await import('ioredis');
    const probe = new Redis(redis.url);
    try {
      const numsub = async () => Number(((await probe.pubsub('NUMSUB', 'test:{sub}:ch')) as [string, unknown])[1]);
      const c1 = await TestClient.connect(a.url('/rooms/sub'), 'proto');
      const c2 = await TestClient.connect(b.url('/rooms/sub'), 'proto');
      assert.equal(await numsub(), 2);
      c1.close();
      await c1.closed;
      for (let i = 0; i < 50 && (await numsub()) !== 1; i++) await sleep(20);
      assert.equal(await numsub(), 1);
      c2.close();
    } finally {
      probe.disconnect();
    }
  });

  it('the ticker publishes once per room and period, not once per process', async () => {
    const options = { broker: 'redis' as const, redisUrl: redis.url, redisPrefix: 'ticks:', tickMs: 100 };
    const t1 = await startServer(options);
    const t2 = await startServer(options);
    try {
      const c1 = await TestClient.connect(t1.url('/rooms/clock'), 'proto');
      const c2 = await TestClient.connect(t2.url('/rooms/clock'), 'json');
      await sleep(1500);
      const ticks = c1.eventsSoFar('clock');
      assert.ok(ticks.length >= 5, `${ticks.length} ticks in 1.5 s`);
      const slots = ticks.map((e) => Math.floor(Date.parse(e.text ?? '') / 100));
      assert.equal(new Set(slots).size, slots.length, `one tick per 100 ms period: ${slots.join(',')}`);
      const seen2 = new Set(c2.eventsSoFar('clock').map((e) => e.seq));
      assert.ok(
        ticks.slice(0, -2).every((e) => seen2.has(e.seq)),
        'both processes deliver the same ticks',
      );
      c1.close();
      c2.close();
    } finally {
      await t1.close();
      await t2.close();
    }
  });

  it('when Redis goes away, publishes fail with ERROR_CODE_INTERNAL instead of hanging', async () => {
    const own = await startRedis();
    const srv = await startServer({ broker: 'redis', redisUrl: own.url });
    try {
      const c = await TestClient.connect(srv.url('/rooms/doomed'), 'proto');
      await own.stop();
      const r = await c.request({ publish: { room: 'doomed', text: 'x' } });
      assert.equal(r.error?.code, ErrorCode.ERROR_CODE_INTERNAL);
      const join = await c.request({ join: { room: 'never' } });
      assert.equal(join.error?.code, ErrorCode.ERROR_CODE_INTERNAL);
      const after = await c.request({ publish: { room: 'never', text: 'x' } });
      assert.equal(after.error?.code, ErrorCode.ERROR_CODE_NOT_A_MEMBER, 'a failed join leaves the connection out of the room');
      c.close();
    } finally {
      await srv.close();
    }
  });
});

describe('broker=redis: admin actions reach every process', { skip: missing }, () => {
  const SECRET = 'admin-redis-secret-0123456789abcdef';
  it('disconnect and remove issued to one process close and remove the user on the other; a process that does not answer in time is not counted', async () => {
    const redis = await startRedis();
    const options = {
      broker: 'redis' as const,
      redisUrl: redis.url,
      redisPrefix: 'adm:',
      authSecret: SECRET,
      apiKey: 'admin-redis-api-key-0123',
      anonymous: 'allow' as const,
      adminReplyMs: 300,
    };
    const headers = { authorization: 'Bearer admin-redis-api-key-0123' };
    const a = await startServer(options);
    const b = await startServer(options);
    const { Redis } = await import('ioredis');
    const silent = new Redis(redis.url, { lazyConnect: true });
    try {
      const token = await hsToken(SECRET, { sub: 'kicked' });
      const onA = await TestClient.connect(a.url(`/rooms/x?token=${token}`));
      const onB = await TestClient.connect(b.url(`/rooms/x?token=${token}`), 'json');
      const onB2 = await TestClient.connect(b.url(`/rooms/y?token=${token}`));
      const t0 = Date.now();
      const res = await httpRequest(a.http, 'POST', '/api/users/kicked/disconnect', { headers, body: '{"reason":"bye","reconnect":true}' });
      assert.deepEqual(res.json(), { connections: 3 });
      assert.ok(Date.now() - t0 < 300, 'every process answered: no wait for the timeout');
      for (const c of [onA, onB, onB2])
        assert.deepEqual(await withTimeout(c.closed, 5000, 'disconnect'), { code: CloseCode.CLOSE_CODE_RECONNECT, reason: 'bye' });

      const t2 = await hsToken(SECRET, { sub: 'removed' });
      const r1 = await TestClient.connect(a.url(`/rooms/x?token=${t2}`));
      const r2 = await TestClient.connect(b.url(`/rooms/x?token=${t2}`));
      const other = await TestClient.connect(b.url(`/rooms/y?token=${t2}`));
      // A third subscriber that never answers: the reply comes after adminReplyMs, counting the others.
      await silent.connect();
      await silent.subscribe('adm:{control}:admin');
      const t1 = Date.now();
      const rem = await httpRequest(b.http, 'POST', '/api/rooms/x/remove', { headers, body: '{"userId":"removed","reason":"spam"}' });
      assert.deepEqual(rem.json(), { connections: 2 });
      assert.ok(Date.now() - t1 >= 250, 'waited for the silent process');
      for (const c of [r1, r2]) assert.deepEqual((await c.waitFor((m) => m.removed != null, 'removed')).removed, { room: 'x', reason: 'spam' });
      assert.equal((await other.request({ publish: { room: 'y', text: 'still here' } })).publish?.seq, 1, 'the user stays in the other room');
      for (const c of [r1, r2, other]) c.close();
    } finally {
      silent.disconnect();
      await a.close();
      await b.close();
      await redis.stop();
    }
  });
});

describe('broker=redis start-up', { skip: missing }, () => {
  it('fails to start with a clear message when Redis is unreachable', async () => {
    await assert.rejects(startServer({ broker: 'redis', redisUrl: 'redis://127.0.0.1:1' }), /cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/);
    await assert.rejects(
      startServer({ broker: 'redis', redisUrl: 'redis://app:hunter2@127.0.0.1:1' }),
      (err: Error) => err.message.includes('app:***@127.0.0.1:1') && !err.message.includes('hunter2'),
    );
  });
});
