/**
 * The Redis broker on a real redis-server, at the broker level (two broker instances = two
 * processes): sequencing and epochs across processes, history reads, gap repair after the
 * subscriber loses its connection, outage logging.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Broker, BrokerHandlers, HistoryRead, Publication, StreamPosition } from '../../src/broker/broker.js';
import { HistoryRules } from '../../src/config/history-rules.js';
import { createRedisBroker, type RedisBrokerCounters, type RedisBrokerOptions } from '../../src/broker/broker-redis.js';
import { decodeProto } from '../../src/protocol/codec.js';
import { requireTool, sleep, startRedis, startServer, TestClient, type TestRedis } from '../helpers.js';

const missing = requireTool('redis-server');

const silent = pino({ level: 'silent' });

/** What one broker (process) handed to its server. */
interface Seen {
  /** `room seq` per delivery, `reset room epoch:seq` per reset. */
  log: string[];
  deliveries: Map<string, number[]>;
}

type TestBroker = Broker & { readonly counters: RedisBrokerCounters };

async function broker(url: string, options: Partial<RedisBrokerOptions> = {}): Promise<{ b: TestBroker; seen: Seen }> {
  const seen: Seen = { log: [], deliveries: new Map() };
  const handlers: BrokerHandlers = {
    deliver: (p) => {
      seen.log.push(`${p.room} ${p.seq}${p.excludeSelf ? ` x${p.connId}` : ''}`);
      const list = seen.deliveries.get(p.room) ?? [];
      list.push(p.seq);
      seen.deliveries.set(p.room, list);
    },
    presence: () => {},
    reset: (room, pos) => seen.log.push(`reset ${room} ${pos.epoch}:${pos.seq}`),
  };
  const b = createRedisBroker({
    url,
    prefix: 't:',
    log: silent,
    history: new HistoryRules([
      { rooms: 'big:*', size: 100_000, ttlSec: 600 },
      { rooms: 'none:*', size: 0, ttlSec: 0 },
      { rooms: '*', size: 5, ttlSec: 60 },
    ]),
    ...options,
  });
  await b.start(handlers);
  return { b, seen };
}

const pub = (room: string, text: string, extra: Partial<Publication> = {}): Publication => ({
  room,
  timeUs: Date.now() * 1000,
  text,
  connId: 'c1',
  userId: '',
  excludeSelf: false,
  ...extra,
});

const texts = (r: HistoryRead): string[] => r.events.map((e) => decodeProto('ServerMessage', e.frame).event?.text ?? '?');

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('Redis broker: streams, epochs, history', { skip: missing }, () => {
  let redis: TestRedis;
  let probe: Redis;
  before(async () => {
    redis = await startRedis();
    probe = new Redis(redis.url);
  });
  after(async () => {
    // before() may have failed before it assigned these.
    (probe as Redis | undefined)?.disconnect();
    await (redis as TestRedis | undefined)?.stop();
  });

  it('two processes share one sequence and one epoch; every key of a room shares one hash tag', async () => {
    const { b: a, seen: sa } = await broker(redis.url);
    const { b: b2, seen: sb } = await broker(redis.url);
    try {
      a.roomOpened('seq');
      b2.roomOpened('seq');
      const pa = await a.stream('seq');
      const pb = await b2.stream('seq');
      assert.deepEqual(pa, pb, 'the first stream() made the epoch, the second read it');
      assert.match(pa.epoch, /^[0-9a-f]{16}$/);
      assert.equal(pa.seq, 0);
      const seqs = await Promise.all(Array.from({ length: 40 }, (_, i) => Promise.resolve((i % 2 === 0 ? a : b2).publish(pub('seq', `m${i}`)))));
      assert.deepEqual(
        [...seqs].sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      await until('both deliver 40', () => sa.deliveries.get('seq')?.length === 40 && sb.deliveries.get('seq')?.length === 40);
      assert.deepEqual(
        sa.deliveries.get('seq'),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      assert.deepEqual(sb.deliveries.get('seq'), sa.deliveries.get('seq'));
      assert.deepEqual(await a.stream('seq'), { epoch: pa.epoch, seq: 40 });
      const keys = (await probe.keys('t:{seq}*')).sort();
      assert.deepEqual(keys, ['t:{seq}:epoch', 't:{seq}:seq', 't:{seq}:stream']);
      // Redis Cluster hashes only the part between the first '{' and the next '}'.
      const tag = (key: string): string => key.slice(key.indexOf('{') + 1, key.indexOf('}', key.indexOf('{')));
      assert.deepEqual(new Set([...keys, 't:{seq}:ch'].map(tag)), new Set(['seq']), 'one hash tag, so one cluster slot, for all');
      assert.equal(Number(((await probe.pubsub('NUMSUB', 't:{seq}:ch')) as [string, unknown])[1]), 2, 'the channel is where both listen');
      assert.equal(a.counters.gaps + b2.counters.gaps, 0);
    } finally {
      await a.close();
      await b2.close();
    }
  });

  it('a room with history is sequenced and stored with nobody listening; one without is not', async () => {
    const { b } = await broker(redis.url);
    try {
      assert.equal(await b.publish(pub('lonely', 'one')), 1);
      assert.equal(await b.publish(pub('lonely', 'two')), 2);
      const r = await b.history('lonely', { limit: 10, reverse: false });
      assert.deepEqual(texts(r), ['one', 'two']);
      assert.equal(r.seq, 2);
      assert.equal(await b.publish(pub('none:x', 'lost')), 0, 'no history, no listener: seq 0 as before');
      assert.equal(await probe.exists('t:{none:x}:seq'), 0);
      b.roomOpened('none:x');
      await b.stream('none:x');
      assert.equal(await b.publish(pub('none:x', 'heard')), 1);
      assert.equal(await probe.exists('t:{none:x}:stream'), 0, 'no stream for a room without history');
    } finally {
      await b.close();
    }
  });

  it('history: newest or oldest first, since, limit; the frame is the complete event with seq; exclude flag kept', async () => {
    const { b } = await broker(redis.url);
    try {
      for (let i = 1; i <= 8; i++) await b.publish(pub('hist', `e${i}`, i === 7 ? { excludeSelf: true, connId: 'sender' } : {}));
      const { epoch } = await b.stream('hist');
      const newest = await b.history('hist', { limit: 3, reverse: true });
      assert.deepEqual(texts(newest), ['e8', 'e7', 'e6']);
      assert.deepEqual(texts(await b.history('hist', { limit: 3, reverse: false })), ['e6', 'e7', 'e8']);
      assert.deepEqual(texts(await b.history('hist', { limit: 50, reverse: false })), ['e4', 'e5', 'e6', 'e7', 'e8'], 'size 5 kept');
      const e7 = newest.events[1];
      assert.equal(e7?.seq, 7);
      assert.equal(e7.excludeSelf, true);
      assert.equal(e7.connId, 'sender');
      const decoded = decodeProto('ServerMessage', e7.frame).event;
      assert.equal(Number(decoded?.seq), 7);
      assert.equal(decoded?.room, 'hist');
      assert.equal(decoded.connId, 'sender');
      const since = await b.history('hist', { since: { epoch, seq: 5 }, limit: 1, reverse: false });
      assert.deepEqual({ complete: since.complete, miss: since.miss, seq: since.seq, epoch: since.epoch }, { complete: true, miss: undefined, seq: 8, epoch });
      assert.deepEqual(texts(since), ['e6', 'e7', 'e8'], 'complete: every event after since, whatever the limit');
      const upToDate = await b.history('hist', { since: { epoch, seq: 8 }, limit: 10, reverse: false });
      assert.deepEqual([upToDate.complete, upToDate.events.length], [true, 0]);
      const tooOld = await b.history('hist', { since: { epoch, seq: 1 }, limit: 2, reverse: false });
      assert.deepEqual([tooOld.complete, tooOld.miss, texts(tooOld)], [false, 'too_old', ['e4', 'e5']]);
      const otherEpoch = await b.history('hist', { since: { epoch: 'ffffffffffffffff', seq: 7 }, limit: 10, reverse: false });
      assert.deepEqual([otherEpoch.complete, otherEpoch.miss, otherEpoch.epoch, otherEpoch.seq], [false, 'epoch_changed', epoch, 8]);
      const ahead = await b.history('hist', { since: { epoch, seq: 99 }, limit: 10, reverse: false });
      assert.equal(ahead.miss, 'epoch_changed', 'a position past the end belongs to another life of the stream');
    } finally {
      await b.close();
    }
  });

  it('history: events past their TTL are too old; keys lost mean a new epoch', async () => {
    let clock = Date.now();
    const { b } = await broker(redis.url, { now: () => clock });
    try {
      for (let i = 1; i <= 3; i++) await b.publish(pub('aging', `a${i}`));
      const { epoch } = await b.stream('aging');
      clock += 61_000;
      const read = await b.history('aging', { since: { epoch, seq: 1 }, limit: 10, reverse: false });
      assert.deepEqual([read.complete, read.miss, read.events.length], [false, 'too_old', 0]);
      assert.equal((await b.history('aging', { limit: 10, reverse: false })).events.length, 0);
      await probe.del('t:{aging}:seq', 't:{aging}:epoch');
      const gone = await b.history('aging', { since: { epoch, seq: 3 }, limit: 10, reverse: false });
      assert.equal(gone.miss, 'epoch_changed');
      assert.equal(await b.publish(pub('aging', 'fresh')), 1, 'the sequence starts over...');
      const now = await b.stream('aging');
      assert.notEqual(now.epoch, epoch, '...under a new epoch');
      clock = Date.now();
      assert.deepEqual(texts(await b.history('aging', { limit: 10, reverse: false })), ['fresh'], 'the old stream went with the old epoch');
      await probe.del('t:{aging}:seq');
      assert.equal(await b.publish(pub('aging', 'again')), 1);
      assert.notEqual((await b.stream('aging')).epoch, now.epoch, 'a lost seq key alone also means a new epoch');
    } finally {
      await b.close();
    }
  });

  it('a process whose subscriber loses its connection repairs the gap: every seq once, in order', async () => {
    const { b: a, seen: sa } = await broker(redis.url);
    const { b: b2, seen: sb } = await broker(redis.url);
    try {
      const room = 'big:gap';
      a.roomOpened(room);
      b2.roomOpened(room);
      await a.stream(room);
      await b2.stream(room);
      const total = 3000;
      let sent = 0;
      const publisher = (async () => {
        while (sent < total) {
          const batch = [];
          for (let i = 0; i < 20 && sent < total; i++, sent++) batch.push(Promise.resolve((sent % 2 === 0 ? a : b2).publish(pub(room, `p${sent}`))));
          await Promise.all(batch);
        }
      })();
      for (const at of [500, 1500, 2500]) {
        await until(`${at} sent`, () => sent >= at);
        // Both processes' subscribers drop: what is published until they are back is not sent to them.
        await probe.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      }
      await publisher;
      const all = Array.from({ length: total }, (_, i) => i + 1);
      await until('both deliver everything', () => sa.deliveries.get(room)?.length === total && sb.deliveries.get(room)?.length === total, 20_000);
      assert.deepEqual(sa.deliveries.get(room), all);
      assert.deepEqual(sb.deliveries.get(room), all);
      const c = [a.counters, b2.counters];
      assert.ok(
        c.every((x) => x.gaps > 0 && x.repairedEvents > 0),
        `every process repaired: ${JSON.stringify(c)}`,
      );
      assert.ok(
        c.every((x) => x.resets === 0),
        'nothing had to be given up',
      );
      assert.ok(!sa.log.some((l) => l.startsWith('reset')) && !sb.log.some((l) => l.startsWith('reset')));
    } finally {
      await a.close();
      await b2.close();
    }
  });

  it('a gap the stream cannot fill any more is announced with a reset, then delivery goes on', async () => {
    const { b: a, seen } = await broker(redis.url);
    const { b: other } = await broker(redis.url);
    try {
      const room = 'small';
      a.roomOpened(room);
      const start: StreamPosition = await a.stream(room);
      await a.publish(pub(room, 'first'));
      await until('first', () => seen.deliveries.get(room)?.length === 1);
      // a's subscriber is away while 8 events go by (history keeps 5): it misses them all.
      await probe.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      for (let i = 0; i < 8; i++) await other.publish(pub(room, `while away ${i}`));
      await until('repair or reset', () => seen.deliveries.get(room)?.at(-1) === 9);
      assert.deepEqual(seen.log, [`${room} 1`, `reset ${room} ${start.epoch}:4`, `${room} 5`, `${room} 6`, `${room} 7`, `${room} 8`, `${room} 9`]);
      await a.publish(pub(room, 'after'));
      await until('after', () => seen.deliveries.get(room)?.at(-1) === 10);
    } finally {
      await a.close();
      await other.close();
    }
  });
});

describe('Redis broker: Redis going back in time', { skip: missing }, () => {
  it('a seq behind what was delivered (lost writes) moves the room to a new epoch, announced', async () => {
    const redis = await startRedis();
    const probe = new Redis(redis.url);
    const { b, seen } = await broker(redis.url);
    try {
      b.roomOpened('rewind');
      const { epoch } = await b.stream('rewind');
      for (let i = 0; i < 5; i++) await b.publish(pub('rewind', `r${i}`));
      await until('5 delivered', () => seen.deliveries.get('rewind')?.length === 5);
      // As after a restart from an AOF that lacks the last writes: the same epoch, an older seq.
      await probe.set('t:{rewind}:seq', 2);
      await probe.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await until('reset', () => seen.log.some((l) => l.startsWith('reset')));
      const now = await b.stream('rewind');
      assert.notEqual(now.epoch, epoch);
      assert.deepEqual(seen.log.slice(5), [`reset rewind ${now.epoch}:0`]);
      assert.equal(await b.publish(pub('rewind', 'next')), 1);
      await until('next', () => seen.deliveries.get('rewind')?.length === 6);
      assert.deepEqual(seen.log.slice(6), ['rewind 1']);
    } finally {
      await b.close();
      probe.disconnect();
      await redis.stop();
    }
  });
});

describe('Redis broker: an outage is logged once, not once per failed publish', { skip: missing }, () => {
  it('one error when Redis goes away, a count while it is away, one line when it is back', async () => {
    const own = await startRedis();
    const lines: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    const log = pino({ level: 'info' }, sink);
    const { b } = await broker(own.url, { log, outageReportMs: 300 });
    try {
      assert.equal(await b.publish(pub('o', 'fine')), 1);
      await own.kill();
      let failed = 0;
      for (let i = 0; i < 100; i++) {
        await Promise.resolve(b.publish(pub('o', 'x'))).catch((err: unknown) => {
          failed += 1;
          assert.equal((err as { reported?: boolean }).reported, true, 'marked as reported: callers do not log it again');
        });
        await sleep(5);
      }
      assert.equal(failed, 100);
      const restarted = await startRedis({ port: own.port });
      try {
        let ok = false;
        for (let i = 0; i < 100 && !ok; i++) {
          ok = await Promise.resolve(b.publish(pub('o', 'back'))).then(
            () => true,
            () => false,
          );
          if (!ok) await sleep(100);
        }
        assert.ok(ok, 'publishes work again');
        await sleep(50);
        const errors = lines.filter((l) => l.level >= 50);
        assert.equal(errors.length, 1, `one error line: ${JSON.stringify(errors)}`);
        const counts = lines.filter((l) => l.msg.includes('operations failed while Redis is unavailable'));
        assert.ok(counts.length >= 1, 'a periodic count');
        assert.equal(lines.filter((l) => l.msg.includes('Redis is back')).length, 1);
        assert.ok(lines.length <= 10, `a handful of lines, not one per publish: ${lines.length}`);
        assert.ok(b.counters.unavailable >= 100);
      } finally {
        await restarted.stop();
      }
    } finally {
      await b.close();
    }
  });

  it('a server whose Redis is away logs the outage, not each failed publish', async () => {
    const own = await startRedis();
    const lines: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    const srv = await startServer({ broker: 'redis', redisUrl: own.url, logLevel: 'info' }, { log: pino({ level: 'info' }, sink) });
    try {
      const c = await TestClient.connect(srv.url('/rooms/down'), 'proto');
      await own.kill();
      for (let i = 0; i < 60; i++) {
        const r = await c.request({ publish: { room: 'down', text: 'x' } });
        assert.ok(r.error !== undefined, 'fails while Redis is away');
      }
      c.close();
      const errors = lines.filter((l) => l.level >= 50);
      assert.equal(errors.length, 1, `one error line for 60 failed publishes: ${JSON.stringify(errors.map((l) => l.msg))}`);
    } finally {
      await srv.close();
    }
  });
});
