/**
 * Broker scenario: many rooms, publishes spread over them, through the memory broker, one Redis
 * and a 3-master Redis Cluster (no replicas). Two brokers (two "processes" in this Node process,
 * each with every room open) publish alternately; each event's delivery is timed on the other
 * broker. Prints publishes/s through the broker, delivery latency p50/p99 and the p99 added over
 * the memory broker, and the CPU each redis-server and this Node process used.
 *
 *   node --import tsx bench/broker-redis.ts [--rooms 300] [--publishes 20000] [--concurrency 64]
 *
 * On a 2-core machine the Node process (both brokers, the publishers) and the redis-servers
 * share the cores: the numbers show the cost per publish and where CPU goes, not the scaling of
 * a cluster whose masters each have a core of their own.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Broker, SequencedPublication } from '../src/broker/broker.js';
import { createMemoryBroker } from '../src/broker/broker-memory.js';
import { createRedisBroker } from '../src/broker/broker-redis.js';
import { HistoryRules } from '../src/config/history-rules.js';
import { createLogger } from '../src/log.js';
import { startRedis, startRedisCluster } from '../test/redis-servers.js';

const { values } = parseArgs({ options: { rooms: { type: 'string' }, publishes: { type: 'string' }, concurrency: { type: 'string' } } });
const ROOMS = Number(values.rooms ?? 300);
const PUBLISHES = Number(values.publishes ?? 20_000);
const CONCURRENCY = Number(values.concurrency ?? 64);
const log = createLogger({ logLevel: 'silent', logFormat: 'json' });
const history = new HistoryRules([{ rooms: '*', size: 100, ttlSec: 300 }]);

/** CPU seconds (user + system) a process has used so far. */
function cpuOf(pid: number): number {
  const fields =
    readFileSync(`/proc/${String(pid)}/stat`, 'utf8')
      .split(') ')[1]
      ?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Result {
  name: string;
  perSec: number;
  p50: number;
  p99: number;
  redisCpu: number[];
  nodeCpu: number;
  seconds: number;
}

async function scenario(name: string, brokers: [Broker, Broker], pids: number[]): Promise<Result> {
  const started = new Map<string, { at: bigint; from: number }>();
  const latencies: number[] = [];
  let delivered = 0;
  let allDelivered: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    allDelivered = resolve;
  });
  const handlers = (me: number) => ({
    deliver: (p: SequencedPublication) => {
      const s = started.get(p.connId);
      if (s === undefined || s.from === me) return;
      latencies.push(Number(process.hrtime.bigint() - s.at) / 1e6);
      started.delete(p.connId);
      delivered += 1;
      if (delivered === PUBLISHES) allDelivered();
    },
    presence: () => undefined,
    reset: () => undefined,
  });
  await brokers[0].start(handlers(0));
  if (brokers[1] !== brokers[0]) await brokers[1].start(handlers(1));
  const rooms = Array.from({ length: ROOMS }, (_, i) => `room-${String(i)}`);
  for (const b of new Set(brokers)) {
    for (const room of rooms) b.roomOpened(room);
    await Promise.all(
      rooms.map(async (room) => {
        await b.stream(room);
      }),
    );
  }
  const cpu0 = pids.map(cpuOf);
  const node0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let next = 0;
  const memory = brokers[0] === brokers[1];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < PUBLISHES) {
        const i = next++;
        const from = i % 2;
        const connId = `c${String(i)}`;
        // With one in-process broker, "the other process" is the same one.
        started.set(connId, { at: process.hrtime.bigint(), from: memory ? -1 : from });
        await brokers[from]?.publish({
          room: rooms[i % ROOMS] ?? '',
          timeUs: Date.now() * 1000,
          text: 'x'.repeat(100),
          connId,
          userId: '',
          excludeSelf: false,
        });
      }
    }),
  );
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const node = process.cpuUsage(node0);
  const redisCpu = pids.map((pid, i) => (cpuOf(pid) - (cpu0[i] ?? 0)) / seconds);
  for (const b of new Set(brokers)) await b.close();
  latencies.sort((x, y) => x - y);
  const pct = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? Number.NaN;
  if (delivered < PUBLISHES) console.warn(`${name}: only ${String(delivered)} of ${String(PUBLISHES)} delivered`);
  return { name, perSec: PUBLISHES / seconds, p50: pct(0.5), p99: pct(0.99), redisCpu, nodeCpu: (node.user + node.system) / 1e6 / seconds, seconds };
}

const results: Result[] = [];
const mem = createMemoryBroker({ history, maxBytes: 64 * 1024 * 1024 });
results.push(await scenario('memory (one process)', [mem, mem], []));

const redis = await startRedis();
try {
  const make = (): Broker => createRedisBroker({ url: redis.url, prefix: 'bench:', log, history });
  results.push(await scenario('one Redis', [make(), make()], [redis.pid]));
} finally {
  await redis.stop();
}

const cluster = await startRedisCluster({ masters: 3, replicas: 0 });
try {
  const make = (): Broker => createRedisBroker({ nodes: cluster.seeds, prefix: 'bench:', log, history });
  results.push(
    await scenario(
      'Redis Cluster, 3 masters',
      [make(), make()],
      cluster.nodes.map((n) => n.pid),
    ),
  );
} finally {
  await cluster.stop();
}

const base = results[0]?.p99 ?? 0;
console.log(
  `broker scenario: ${String(ROOMS)} rooms, ${String(PUBLISHES)} publishes (100-byte text, history 100), ${String(CONCURRENCY)} in flight, two brokers`,
);
console.log('| broker | publishes/s | p50 ms | p99 ms | added p99 ms | redis-server CPU (cores) | node CPU (cores) |');
console.log('| --- | ---: | ---: | ---: | ---: | --- | ---: |');
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.perSec.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.p99 - base).toFixed(2)} | ${r.redisCpu.length === 0 ? '-' : r.redisCpu.map((c) => c.toFixed(2)).join(' / ')} | ${r.nodeCpu.toFixed(2)} |`,
  );
}
