/**
 * The chaos run (`npm run chaos`): two roomcast processes on one real Redis, everything at once
 * for a while, then a per-member account of what was delivered.
 *
 * - redis-server (no persistence) on a free port; two roomcast processes (`dist/cli.js`, or
 *   `src/cli.ts` with `--server src`) with `--broker redis`, on 127.0.0.1.
 * - Steady publishers: on each process, one SDK client per room, publishing at `--rate` events/s
 *   (each event's text names it: `p:<publisher>:<n>`). Their acknowledged publishes are the truth.
 * - Members: SDK clients (`src/client`) in every room, half proto and half JSON, whose sockets are
 *   cut at random (`--churn-ms`); each reconnect goes to the other process and recovers with
 *   `since` (or gets a `resync`).
 * - A slow consumer (a raw client in every room that stops reading), a reconnecting flooder
 *   (publishes far past the rate limit, is closed with 4501, comes back), a fuzzer (random bytes,
 *   random JSON, random text), each from its own address in 127.0.0.0/8 so the per-address
 *   limits meet them and not the members.
 * - Redis killed (-9) `--redis-kills` times, restarted on the same port after `--redis-down-ms`.
 *
 * Then the publishers stop, each publishes one last marker, and every member gets time to catch
 * up. Per member and room, each acknowledged event is: received, not expected (at or before the
 * member's first join position), missing with notice (at or before the position of a `resync`
 * the member got: the SDK said "everything before here may be lost"), or SILENTLY missing.
 * Positions are compared as (Redis life, seq): each room's epoch per Redis life is read from
 * Redis before every kill and at the end, and an acknowledged event belongs to the life during
 * which its acknowledgement arrived (a publish cannot be acknowledged while Redis is down).
 * A notice in a later life covers every event of the earlier ones.
 *
 * Exit code 1 when any member silently missed an acknowledged event or the SDK handed one event
 * to the application twice; 2 when the run itself failed. Everything started here is killed at
 * the end, on failure, and on SIGINT/SIGTERM; a hard deadline ends the run in any case.
 *
 *   npm run chaos -- --duration 300 --members 16 --rooms 4 --rate 25 --json chaos.json
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { RoomcastClient, type StreamPosition, type WebSocketConstructor } from '../src/client/index.js';
import { encodeJson, encodeProto } from '../src/protocol/codec.js';
import { SUBPROTOCOLS } from '../src/protocol/types.js';
import { freePort, startRedis, type TestRedis } from '../test/redis-servers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    rooms: { type: 'string', default: '3' },
    members: { type: 'string', default: '6' },
    rate: { type: 'string', default: '20' },
    'payload-bytes': { type: 'string', default: '200' },
    'churn-ms': { type: 'string', default: '5000' },
    'redis-kills': { type: 'string', default: '2' },
    'redis-down-ms': { type: 'string', default: '1500' },
    history: { type: 'string', default: '*/2000/300' },
    'max-backpressure': { type: 'string', default: '262144' },
    'drain-ms': { type: 'string', default: '15000' },
    server: { type: 'string', default: 'dist' },
    json: { type: 'string' },
    'inject-faults': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  process.stdout.write(`Usage: npm run chaos -- [options]

  --duration <s>          seconds of chaos (default 60)
  --rooms <n>             rooms (default 3)
  --members <n>           SDK members, spread over both processes (default 6)
  --rate <n>              events/s of each publisher (one per room and process; default 20)
  --payload-bytes <n>     size of each event's text (default 200)
  --churn-ms <ms>         mean time between two cuts of a member's socket; 0 = none (default 5000)
  --redis-kills <n>       kill -9 and restart Redis this many times (default 2)
  --redis-down-ms <ms>    how long Redis stays down each time (default 1500)
  --history <rules>       the servers' --history (default */2000/300)
  --max-backpressure <n>  the servers' --max-backpressure (default 262144: the slow consumer is met sooner)
  --drain-ms <ms>         how long members may take to catch up at the end (default 15000)
  --server dist|src       run dist/cli.js (default; \`npm run build\` first) or src/cli.ts through tsx
  --json <file>           also write the report as JSON
  --inject-faults         self-check of the account: member m0 pretends it never got 5 events of the
                          first room and got one twice (the run must then fail with 5 silent, 1 duplicate)
  --quiet                 no progress lines on stderr
`);
  process.exit(0);
}

function int(name: keyof typeof args, min: number): number {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`chaos: --${name} must be an integer >= ${min}, got ${String(args[name])}\n`);
    process.exit(2);
  }
  return n;
}

const DURATION_MS = int('duration', 1) * 1000;
const ROOMS = Array.from({ length: int('rooms', 1) }, (_, i) => `chaos-${i}`);
const MEMBERS = int('members', 1);
const RATE = int('rate', 1);
const PAYLOAD_BYTES = int('payload-bytes', 16);
const CHURN_MS = int('churn-ms', 0);
const REDIS_KILLS = int('redis-kills', 0);
const REDIS_DOWN_MS = int('redis-down-ms', 100);
const DRAIN_MS = int('drain-ms', 1000);
const MAX_BACKPRESSURE = int('max-backpressure', 1024);
const PREFIX = 'chaos:';
/** The members' address; the raw troublemakers each get their own. */
const MEMBER_ADDRESS = '127.0.0.1';
const FLOODER_ADDRESS = '127.0.0.3';
const FUZZER_ADDRESS = '127.0.0.4';
const SLOW_ADDRESS = '127.0.0.5';
/** However the run goes, it ends by then. */
const HARD_DEADLINE_MS = DURATION_MS + DRAIN_MS + 60_000;

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
function progress(line: string): void {
  if (!args.quiet) process.stderr.write(`[chaos ${elapsed()}] ${line}\n`);
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes: what this run started, killed whatever happens.

const children = new Set<ChildProcess>();
/** The redis-server of this run (killed and restarted during it). */
let redis: TestRedis | undefined;
function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (redis !== undefined) {
    try {
      process.kill(redis.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(2);
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect(port, '127.0.0.1', () => {
      sock.end();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

/** Each room's (epoch, seq) in Redis now ('' / 0 where it has none). */
function redisPositions(port: number): Map<string, StreamPosition> {
  const keys = ROOMS.flatMap((r) => [`${PREFIX}{${r}}:epoch`, `${PREFIX}{${r}}:seq`]);
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--raw', 'MGET', ...keys], { encoding: 'utf8', timeout: 5000 });
  const lines = r.stdout.split('\n');
  const out = new Map<string, StreamPosition>();
  ROOMS.forEach((room, i) => out.set(room, { epoch: lines[2 * i] ?? '', seq: Number(lines[2 * i + 1] ?? 0) || 0 }));
  return out;
}

interface Server {
  name: string;
  child: ChildProcess;
  port: number;
  log: string[];
}

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROOMCAST_')));
}

async function startServer(name: string, redisPort: number): Promise<Server> {
  const port = await freePort();
  const entry = args.server === 'src' ? ['--import', 'tsx', join(ROOT, 'src/cli.ts')] : [join(ROOT, 'dist/cli.js')];
  const flags = [
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--broker',
    'redis',
    '--redis-url',
    `redis://127.0.0.1:${redisPort}`,
    '--redis-prefix',
    PREFIX,
    '--history',
    args.history,
    '--max-backpressure',
    String(MAX_BACKPRESSURE),
    '--log-format',
    'json',
    '--log-level',
    'warn',
  ];
  const child = spawn(process.execPath, [...entry, ...flags], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const log: string[] = [];
  const keep = (d: Buffer): void => {
    for (const line of d.toString().split('\n')) if (line !== '') log.push(line);
    if (log.length > 2000) log.splice(0, log.length - 2000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const deadline = Date.now() + 20_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) before listening:\n${log.join('\n')}`);
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within 20 s`);
    await sleep(100);
  }
  return { name, child, port, log };
}

/** The server's own count of ended connections by close code, and of stream resets and recoveries (from /metrics). */
async function serverCounts(port: number): Promise<Record<string, number>> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const out: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const m = /^roomcast_(disconnects_total\{code="(\d+)"\}|stream_resets_total|recoveries_total\{result="(\w+)"\}|replayed_events_total) ([\d.e+]+)$/.exec(
        line,
      );
      if (m === null) continue;
      const key = m[2] !== undefined ? `close ${m[2]}` : m[3] !== undefined ? `recovery ${m[3]}` : (m[1] ?? '');
      out[key] = Number(m[4]);
    }
    return out;
  } catch (err) {
    return { [`metrics unreadable: ${(err as Error).message}`]: 0 };
  }
}

/** Resident set size of a process, in MiB (from /proc). */
function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Truth: acknowledged publishes, and Redis lives.

interface Acked {
  id: string;
  room: string;
  seq: number;
  ackAt: number;
  life: number;
}

/** When each Redis life began (life 0 at the start); a publish acknowledged after `lifeStarts[i]` belongs to life i or later. */
const lifeStarts: number[] = [];
/** Per Redis life, each room's epoch in that life (read just before the kill, and at the end). */
const lifeEpochs: Array<Map<string, StreamPosition>> = [];
const lifeAt = (t: number): number => {
  let life = 0;
  for (let i = 0; i < lifeStarts.length; i++) if ((lifeStarts[i] ?? Infinity) <= t) life = i;
  return life;
};

const acked: Acked[] = [];
const publishCounts = { sent: 0, acked: 0, refused: 0, disconnected: 0, zeroSeq: 0 };

/** First time anybody saw each epoch of each room (fallback life for an epoch Redis was never seen holding). */
const epochFirstSeen = new Map<string, number>();
function sawEpoch(room: string, epoch: string): void {
  const k = `${room}\u0000${epoch}`;
  if (!epochFirstSeen.has(k)) epochFirstSeen.set(k, Date.now());
}
const unknownEpochs = new Set<string>();
function lifeOfEpoch(room: string, epoch: string): number {
  for (let i = 0; i < lifeEpochs.length; i++) if (lifeEpochs[i]?.get(room)?.epoch === epoch) return i;
  unknownEpochs.add(`${room}/${epoch}`);
  return lifeAt(epochFirstSeen.get(`${room}\u0000${epoch}`) ?? Date.now());
}

// ---------------------------------------------------------------------------------------------
// SDK members (publishers are members too).

interface Received {
  count: number;
  /** The client's position when it handed the event over (the epoch it attributes it to). */
  at: StreamPosition;
  /** When it was handed over, in the order of everything this member saw (events and notices). */
  order: number;
  /** Each time it was handed over: its seq, the client's position then, when, and which process (for the report). */
  seen: string[];
}

/** "Events before `position` may be lost": a `resync`, or the reply to a join the application made itself. */
interface Notice {
  reason: string;
  position: StreamPosition;
  /** When it came (see {@link Received.order}). */
  order: number;
}

/** Orders everything members see: events and notices. */
let arrivals = 0;

interface Member {
  name: string;
  client: RoomcastClient;
  encoding: 'proto' | 'json';
  socket: WebSocket | undefined;
  /** Per room: events by id. */
  received: Map<string, Map<string, Received>>;
  /** Per room: the first join position. */
  firstJoin: Map<string, StreamPosition>;
  /** Per room: every notice that events before a position may be lost (resync, or a join by the application). */
  resyncs: Map<string, Notice[]>;
  /** Per room: when the server took the client out of it (removed); not rejoined. */
  leftAt: Map<string, number>;
  /** Rejoins the SDK gave up on (the room dropped, rejoin.error), by error code name. */
  droppedRooms: Map<string, number>;
  closedAt: number | undefined;
  closes: Map<number, number>;
  recoveredRejoins: number;
  other: number;
  churnTimer: ReturnType<typeof setTimeout> | undefined;
}

const members: Member[] = [];
/** Events of the first room m0 has seen (for --inject-faults). */
let injected = 0;

function bump(m: Map<number, number>, code: number): void {
  m.set(code, (m.get(code) ?? 0) + 1);
}

/** A `ws` WebSocket that goes to the processes in turn (a reconnect lands on the other one), from `address`. */
function roamingSocket(ports: number[], address: string, start: number, onSocket: (ws: WebSocket) => void): WebSocketConstructor {
  let next = start;
  return class Roaming extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      const u = new URL(url);
      u.port = String(ports[next++ % ports.length]);
      super(u.toString(), protocols, { localAddress: address });
      onSocket(this);
    }
  };
}

async function startMember(name: string, ports: number[], start: number, encoding: 'proto' | 'json', rooms: string[]): Promise<Member> {
  const m: Member = {
    name,
    encoding,
    socket: undefined,
    received: new Map(rooms.map((r) => [r, new Map<string, Received>()])),
    firstJoin: new Map(),
    resyncs: new Map(rooms.map((r) => [r, []])),
    leftAt: new Map(),
    droppedRooms: new Map(),
    closedAt: undefined,
    closes: new Map(),
    recoveredRejoins: 0,
    other: 0,
    churnTimer: undefined,
    client: undefined as unknown as RoomcastClient,
  };
  const WS = roamingSocket(ports, MEMBER_ADDRESS, start, (ws) => (m.socket = ws));
  const client = new RoomcastClient({
    url: `ws://127.0.0.1:${String(ports[0])}/ws`,
    encoding,
    rooms,
    WebSocket: WS,
    requestTimeoutMs: 5000,
    reconnect: { initialDelayMs: 100, maxDelayMs: 2000, factor: 2, jitter: 0.5, maxAttempts: Infinity },
  });
  m.client = client;
  client.on('event', (e) => {
    const byId = m.received.get(e.room);
    const pos = client.position(e.room);
    if (pos !== undefined) sawEpoch(e.room, pos.epoch);
    if (byId === undefined || !e.text?.startsWith('p:')) {
      m.other += 1;
      return;
    }
    const id = e.text.slice(0, e.text.indexOf('|'));
    let copies = 1;
    if (args['inject-faults'] && m.name === 'm0' && e.room === ROOMS[0]) {
      injected += 1;
      if (injected >= 5 && injected < 10) return;
      if (injected === 12) copies = 2;
    }
    const r = byId.get(id);
    const seen = `seq ${e.seq} as ${pos?.epoch ?? '?'}/${pos?.seq ?? '?'} at ${elapsed()}${m.socket === undefined ? '' : ` on :${new URL(m.socket.url).port}`}`;
    if (r !== undefined) {
      r.count += copies;
      r.seen.push(seen);
    } else byId.set(id, { count: copies, at: pos ?? { epoch: '?', seq: e.seq }, order: arrivals++, seen: [seen] });
  });
  client.on('rejoin', (r) => {
    if (r.position !== undefined) sawEpoch(r.room, r.position.epoch);
    if (r.error !== undefined) {
      // The SDK dropped the room (e.g. the rejoin met a Redis outage: INTERNAL). An application
      // is told so by this event and joins again; the new join's position is its notice that
      // everything before it may be lost.
      m.droppedRooms.set(r.error.codeName, (m.droppedRooms.get(r.error.codeName) ?? 0) + 1);
      void joinAgain(m, r.room);
    } else if (r.since === undefined && !m.firstJoin.has(r.room) && r.position !== undefined) m.firstJoin.set(r.room, r.position);
  });
  client.on('recovered', () => (m.recoveredRejoins += 1));
  client.on('resync', (r) => {
    sawEpoch(r.room, r.position.epoch);
    m.resyncs.get(r.room)?.push({ reason: r.reason, position: r.position, order: arrivals++ });
  });
  client.on('removed', (r) => m.leftAt.set(r.room, Date.now()));
  client.on('disconnect', (d) => bump(m.closes, d.code));
  client.on('close', () => (m.closedAt ??= Date.now()));
  await client.connect();
  members.push(m);
  return m;
}

/** Joins `room` again after the SDK dropped it, until that works; the join reply is a notice. */
async function joinAgain(m: Member, room: string): Promise<void> {
  while (m.closedAt === undefined) {
    try {
      // The client is out of the room until the server runs this join, and the server sends the
      // reply before any event of the room: the notice ranks before them, whenever the reply's
      // promise settles.
      const order = arrivals++;
      const j = await m.client.join(room, { timeoutMs: 3000 });
      sawEpoch(room, j.epoch);
      m.resyncs.get(room)?.push({ reason: 'joined_again', position: { epoch: j.epoch, seq: j.seq }, order });
      return;
    } catch {
      await sleep(250);
    }
  }
}

function churn(m: Member): void {
  if (CHURN_MS === 0) return;
  m.churnTimer = setTimeout(
    () => {
      m.socket?.terminate();
      churn(m);
    },
    CHURN_MS / 2 + Math.random() * CHURN_MS,
  );
}

// ---------------------------------------------------------------------------------------------
// Publishers.

interface Publisher {
  name: string;
  member: Member;
  room: string;
  n: number;
}

const PAD = 'x'.repeat(PAYLOAD_BYTES);

async function publishOne(p: Publisher): Promise<void> {
  const id = `p:${p.name}:${p.n++}`;
  publishCounts.sent += 1;
  try {
    const r = await p.member.client.publish(p.room, `${id}|${PAD}`.slice(0, Math.max(PAYLOAD_BYTES, id.length + 1)), { timeoutMs: 3000 });
    const ackAt = Date.now();
    if (r.seq === 0) {
      publishCounts.zeroSeq += 1;
      return;
    }
    publishCounts.acked += 1;
    acked.push({ id, room: p.room, seq: r.seq, ackAt, life: lifeAt(ackAt) });
  } catch (err) {
    if ((err as Error).name === 'ServerError') publishCounts.refused += 1;
    else publishCounts.disconnected += 1;
  }
}

async function runPublisher(p: Publisher, until: () => boolean): Promise<void> {
  const interval = 1000 / RATE;
  let due = Date.now();
  while (!until()) {
    await publishOne(p);
    due += interval;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    else due = Date.now();
  }
}

// ---------------------------------------------------------------------------------------------
// Raw troublemakers.

interface RawStats {
  connections: number;
  refusedUpgrades: number;
  closes: Map<number, number>;
  framesSent: number;
}

function rawStats(): RawStats {
  return { connections: 0, refusedUpgrades: 0, closes: new Map(), framesSent: 0 };
}

/** The raw connections still open, each with a way to give up waiting for its close. */
const rawOpen = new Map<WebSocket, () => void>();
let rawStopped = false;

/** Cuts every raw connection; one whose close does not come within a second counts as closed. */
function cutRaw(): void {
  rawStopped = true;
  for (const [ws, giveUp] of rawOpen) {
    ws.terminate();
    setTimeout(giveUp, 1000);
  }
}

/** One raw connection's life: `run` gets the open socket; resolves once it is closed. */
function rawConnection(
  port: number,
  address: string,
  encoding: 'proto' | 'json',
  stats: RawStats,
  run: (ws: WebSocket, send: (m: object) => void) => void,
): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, [SUBPROTOCOLS[encoding]], { localAddress: address });
    rawOpen.set(ws, () => {
      rawOpen.delete(ws);
      resolve();
    });
    let id = 1;
    const send = (m: object): void => {
      if (ws.readyState !== WebSocket.OPEN) return;
      const cmd = { ...m, id: id++ };
      ws.send(encoding === 'proto' ? encodeProto('ClientMessage', cmd) : encodeJson('ClientMessage', cmd));
      stats.framesSent += 1;
    };
    let opened = false;
    ws.on('open', () => {
      opened = true;
      stats.connections += 1;
      if (rawStopped) ws.terminate();
      else run(ws, send);
    });
    ws.on('unexpected-response', (_req, res) => {
      stats.refusedUpgrades += 1;
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      if (opened) bump(stats.closes, code);
      rawOpen.delete(ws);
      resolve();
    });
  });
}

async function loop(stop: () => boolean, pauseMs: number, body: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; !stop(); i++) {
    await body(i);
    if (!stop()) await sleep(pauseMs);
  }
}

/**
 * Joins every room, then stops reading, and asks for the rooms' history now and then (replies
 * it never reads either, so its send buffer fills in seconds, not minutes): the server should
 * close it with 4000.
 */
async function slowConsumer(ports: number[], stats: RawStats, stop: () => boolean): Promise<void> {
  await loop(stop, 1000, (i) =>
    rawConnection(ports[i % ports.length] ?? 0, SLOW_ADDRESS, 'proto', stats, (ws, send) => {
      for (const room of ROOMS) send({ join: { room } });
      setTimeout(() => (ws as unknown as { _socket?: { pause(): void } })._socket?.pause(), 200);
      const ask = setInterval(() => {
        for (const room of ROOMS) send({ history: { room, limit: 1000 } });
      }, 100);
      ws.on('close', () => clearInterval(ask));
    }),
  );
}

/** Joins the first room and publishes far past the rate limit until it is closed (4501). */
async function flooder(ports: number[], stats: RawStats, stop: () => boolean): Promise<void> {
  await loop(stop, 300, (i) =>
    rawConnection(ports[i % ports.length] ?? 0, FLOODER_ADDRESS, i % 2 === 0 ? 'proto' : 'json', stats, (ws, send) => {
      send({ join: { room: ROOMS[0] } });
      let n = 0;
      const blast = (): void => {
        if (ws.readyState !== WebSocket.OPEN || stop()) return;
        for (let k = 0; k < 100; k++) send({ publish: { room: ROOMS[0], text: `f:${i}:${n++}` } });
        setTimeout(blast, 20);
      };
      setTimeout(blast, 50);
    }),
  );
}

const COMMAND_KEYS = ['publish', 'join', 'leave', 'echo', 'presence', 'history', 'connect', 'refresh', 'close', 'presenceStats', 'id'];

function randomJson(depth: number): unknown {
  const kind = randomInt(depth > 2 ? 4 : 6);
  if (kind === 0) return randomInt(-1e9, 1e9) / (randomInt(2) === 0 ? 1 : 7);
  if (kind === 1) return randomBytes(randomInt(12)).toString('latin1');
  if (kind === 2) return randomInt(2) === 0;
  if (kind === 3) return null;
  if (kind === 4) return Array.from({ length: randomInt(4) }, () => randomJson(depth + 1));
  const o: Record<string, unknown> = {};
  for (let k = randomInt(4); k > 0; k--) {
    const key = randomInt(2) === 0 ? (COMMAND_KEYS[randomInt(COMMAND_KEYS.length)] ?? 'x') : randomBytes(3).toString('hex');
    o[key] = randomInt(3) === 0 && depth === 0 ? { room: ROOMS[randomInt(ROOMS.length)], text: 'fuzz', since: randomJson(depth + 2) } : randomJson(depth + 1);
  }
  return o;
}

/** Random frames: bytes, JSON, text with invalid UTF-8; reconnects after every close. */
async function fuzzer(ports: number[], stats: RawStats, stop: () => boolean): Promise<void> {
  await loop(stop, 200, (i) =>
    rawConnection(ports[i % ports.length] ?? 0, FUZZER_ADDRESS, i % 2 === 0 ? 'proto' : 'json', stats, (ws) => {
      const fire = (): void => {
        if (ws.readyState !== WebSocket.OPEN || stop()) return;
        const kind = randomInt(10);
        if (kind < 4) ws.send(randomBytes(randomInt(200)), { binary: true });
        else if (kind < 8) ws.send(JSON.stringify(randomJson(0)));
        else if (kind < 9) ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
        else ws.send(randomBytes(randomInt(64)).toString('latin1'));
        stats.framesSent += 1;
        setTimeout(fire, 10 + randomInt(40));
      };
      fire();
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The account.

interface RoomAccount {
  room: string;
  received: number;
  missingNoticed: number;
  missingSilent: number;
  duplicates: number;
  notExpected: number;
  afterLeaving: number;
  epochMismatch: number;
  resyncs: number;
  silentExamples: string[];
  duplicateExamples: string[];
}

interface MemberAccount {
  name: string;
  encoding: string;
  received: number;
  missingNoticed: number;
  missingSilent: number;
  duplicates: number;
  notExpected: number;
  epochMismatch: number;
  afterLeaving: number;
  resyncs: Record<string, number>;
  droppedRooms: Record<string, number>;
  recoveredRejoins: number;
  duplicatesDroppedBySdk: number;
  closes: Record<string, number>;
  closed: boolean;
  otherEvents: number;
  rooms: RoomAccount[];
}

const cmpPos = (a: [number, number], b: [number, number]): number => (a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1]);

function account(m: Member): MemberAccount {
  const rooms: RoomAccount[] = [];
  for (const [room, byId] of m.received) {
    const ra: RoomAccount = {
      room,
      received: 0,
      missingNoticed: 0,
      missingSilent: 0,
      duplicates: 0,
      notExpected: 0,
      afterLeaving: 0,
      epochMismatch: 0,
      resyncs: m.resyncs.get(room)?.length ?? 0,
      silentExamples: [],
      duplicateExamples: [],
    };
    const first = m.firstJoin.get(room);
    const start: [number, number] = first === undefined ? [Infinity, 0] : [lifeOfEpoch(room, first.epoch), first.seq];
    const notices = (m.resyncs.get(room) ?? []).map((r) => ({
      pos: [lifeOfEpoch(room, r.position.epoch), r.position.seq] as [number, number],
      order: r.order,
    }));
    const leftAt = Math.min(m.leftAt.get(room) ?? Infinity, m.closedAt ?? Infinity);
    for (const [id, r] of byId) {
      if (r.count <= 1) continue;
      ra.duplicates += r.count - 1;
      if (ra.duplicateExamples.length < 5) ra.duplicateExamples.push(`${id}: ${r.seen.join('; ')}`);
    }
    const mine = acked.filter((a) => a.room === room);
    // Per life, the received events by seq, and for each the earliest arrival of it or any later
    // one: whether the member was handed an event past a gap before it was told of the gap.
    const laterArrival = new Map<number, { seqs: number[]; firstAfter: number[] }>();
    for (const life of new Set(mine.map((a) => a.life))) {
      const got = mine
        .filter((a) => a.life === life && byId.has(a.id))
        .map((a) => ({ seq: a.seq, order: byId.get(a.id)?.order ?? 0 }))
        .sort((x, y) => x.seq - y.seq);
      const firstAfter = got.map((g) => g.order);
      for (let i = firstAfter.length - 2; i >= 0; i--) firstAfter[i] = Math.min(firstAfter[i] ?? Infinity, firstAfter[i + 1] ?? Infinity);
      laterArrival.set(life, { seqs: got.map((g) => g.seq), firstAfter });
    }
    /** Arrival of the first event handed over that comes after `pos` in its life (Infinity: none). */
    const skippedAt = (pos: [number, number]): number => {
      const l = laterArrival.get(pos[0]);
      if (l === undefined) return Infinity;
      let lo = 0;
      let hi = l.seqs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((l.seqs[mid] ?? 0) > pos[1]) hi = mid;
        else lo = mid + 1;
      }
      return l.firstAfter[lo] ?? Infinity;
    };
    for (const a of mine) {
      const pos: [number, number] = [a.life, a.seq];
      const got = byId.get(a.id);
      if (got !== undefined) {
        ra.received += 1;
        if (got.at.epoch !== '?' && lifeOfEpoch(room, got.at.epoch) !== a.life) ra.epochMismatch += 1;
        continue;
      }
      if (cmpPos(pos, start) <= 0) {
        ra.notExpected += 1;
        continue;
      }
      if (a.ackAt > leftAt) {
        ra.afterLeaving += 1;
        continue;
      }
      // Told in time: a notice covers it, and came before any later event of its epoch.
      const cover = notices.find((n) => cmpPos(n.pos, pos) >= 0);
      const skipped = skippedAt(pos);
      if (cover !== undefined && cover.order < skipped) {
        ra.missingNoticed += 1;
        continue;
      }
      ra.missingSilent += 1;
      if (ra.silentExamples.length < 5) {
        const why = cover === undefined ? 'no notice covers it' : 'a later event of its epoch came before the notice';
        ra.silentExamples.push(`${a.id} (life ${a.life}, seq ${a.seq}, acked at ${((a.ackAt - started) / 1000).toFixed(1)}s: ${why})`);
      }
    }
    rooms.push(ra);
  }
  const sum = (k: keyof RoomAccount): number => rooms.reduce((n, r) => n + (r[k] as number), 0);
  const resyncs: Record<string, number> = {};
  for (const list of m.resyncs.values()) for (const r of list) resyncs[r.reason] = (resyncs[r.reason] ?? 0) + 1;
  return {
    name: m.name,
    encoding: m.encoding,
    received: sum('received'),
    missingNoticed: sum('missingNoticed'),
    missingSilent: sum('missingSilent'),
    duplicates: sum('duplicates'),
    notExpected: sum('notExpected'),
    epochMismatch: sum('epochMismatch'),
    afterLeaving: sum('afterLeaving'),
    resyncs,
    droppedRooms: Object.fromEntries(m.droppedRooms),
    recoveredRejoins: m.recoveredRejoins,
    duplicatesDroppedBySdk: m.client.stats.duplicatesDropped,
    closes: Object.fromEntries(m.closes),
    closed: m.closedAt !== undefined,
    otherEvents: m.other,
    rooms,
  };
}

// ---------------------------------------------------------------------------------------------
// The run.

async function main(): Promise<number> {
  if (args.server !== 'dist' && args.server !== 'src') throw new Error(`--server must be dist or src, got ${args.server}`);
  if (args.server === 'dist' && !existsSync(join(ROOT, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` (or pass --server src)');
  const redisPort = await freePort();
  redis = await startRedis({ port: redisPort });
  lifeStarts.push(Date.now());
  const servers = [await startServer('A', redisPort), await startServer('B', redisPort)];
  const ports = servers.map((s) => s.port);
  progress(`redis on ${redisPort}, servers ${servers.map((s) => `${s.name} on ${s.port} (pid ${String(s.child.pid)})`).join(', ')}`);

  const memory: Array<{ t: number; rss: Record<string, number | undefined> }> = [];
  const sampleMemory = (): void => {
    memory.push({ t: Math.round((Date.now() - started) / 100) / 10, rss: Object.fromEntries(servers.map((s) => [s.name, rssMiB(s.child.pid)])) });
  };
  sampleMemory();
  const memoryTimer = setInterval(sampleMemory, 1000);

  // Members first (they join before anything is published), then publishers.
  for (let i = 0; i < MEMBERS; i++) await startMember(`m${i}`, ports, i, i % 2 === 0 ? 'proto' : 'json', ROOMS);
  const publishers: Publisher[] = [];
  for (const [si, s] of servers.entries()) {
    for (const room of ROOMS) {
      const member = await startMember(`pub-${s.name}-${room}`, [s.port], 0, si === 0 ? 'proto' : 'json', [room]);
      publishers.push({ name: `${s.name}${room.slice(room.indexOf('-'))}`, member, room, n: 0 });
    }
  }
  progress(`${MEMBERS} members and ${publishers.length} publishers connected; chaos for ${DURATION_MS / 1000} s`);

  const chaosEnds = Date.now() + DURATION_MS;
  let publishing = true;
  const chaosOver = (): boolean => Date.now() >= chaosEnds;
  const pubs = publishers.map((p) => runPublisher(p, () => !publishing));
  for (const m of members) if (!m.name.startsWith('pub-')) churn(m);

  const raw = { slow: rawStats(), flooder: rawStats(), fuzzer: rawStats() };
  const troublemakers = Promise.all([slowConsumer(ports, raw.slow, chaosOver), flooder(ports, raw.flooder, chaosOver), fuzzer(ports, raw.fuzzer, chaosOver)]);

  // Redis: killed and restarted at even intervals.
  const kills: Array<{ killedAt: number; restartedAt: number }> = [];
  for (let k = 1; k <= REDIS_KILLS; k++) {
    const at = started + ((chaosEnds - started) * k) / (REDIS_KILLS + 1);
    while (Date.now() < at) await sleep(Math.min(200, at - Date.now()));
    lifeEpochs.push(redisPositions(redisPort));
    const killedAt = Date.now();
    await redis.kill();
    progress(`redis killed (-9), ${kills.length + 1} of ${REDIS_KILLS}; acked so far ${publishCounts.acked}`);
    await sleep(REDIS_DOWN_MS);
    redis = await startRedis({ port: redisPort });
    lifeStarts.push(Date.now());
    kills.push({ killedAt: killedAt - started, restartedAt: Date.now() - started });
    progress('redis restarted on the same port');
  }
  while (!chaosOver()) await sleep(Math.min(200, chaosEnds - Date.now()));

  // Wind down: troublemakers go, churn stops, publishers stop and each sends a last marker.
  for (const m of members) clearTimeout(m.churnTimer);
  const wound = { down: false };
  void troublemakers.then(() => (wound.down = true));
  for (const giveUpAt = Date.now() + 10_000; !wound.down && Date.now() < giveUpAt;) {
    cutRaw();
    await sleep(200);
  }
  progress(`troublemakers stopped${wound.down ? '' : ' (not all of them closed in 10 s)'}`);
  publishing = false;
  await Promise.all(pubs);
  progress(`chaos over: published ${publishCounts.sent}, acked ${publishCounts.acked}; waiting for members to catch up`);
  const openBy = Date.now() + DRAIN_MS;
  while (Date.now() < openBy && members.some((m) => m.client.state !== 'open' && m.client.state !== 'closed')) await sleep(50);
  await Promise.all(publishers.map((p) => publishOne(p)));
  const markers = acked.slice(-publishers.length);
  const caughtUp = (): boolean =>
    members.every(
      (m) =>
        m.closedAt !== undefined ||
        markers.every((a) => {
          const byId = m.received.get(a.room);
          if (byId === undefined || m.leftAt.has(a.room)) return true;
          if (byId.has(a.id)) return true;
          const pos = m.client.position(a.room);
          return pos !== undefined && pos.seq >= a.seq;
        }),
    );
  while (Date.now() < openBy && !caughtUp()) await sleep(50);
  const drained = caughtUp();
  progress(drained ? 'every member caught up' : `members not caught up after ${DRAIN_MS} ms`);
  lifeEpochs.push(redisPositions(redisPort));
  clearInterval(memoryTimer);
  sampleMemory();

  const serverMetrics = Object.fromEntries(await Promise.all(servers.map(async (s) => [s.name, await serverCounts(s.port)] as const)));
  const accounts = members.map(account);
  const total = (k: keyof MemberAccount): number => accounts.reduce((n, a) => n + (a[k] as number), 0);
  const serverStates = servers.map((s) => ({ name: s.name, alive: s.child.exitCode === null && s.child.signalCode === null }));
  const report: Report = {
    options: {
      durationSec: DURATION_MS / 1000,
      rooms: ROOMS.length,
      members: MEMBERS,
      rate: RATE,
      payloadBytes: PAYLOAD_BYTES,
      churnMs: CHURN_MS,
      redisKills: REDIS_KILLS,
      redisDownMs: REDIS_DOWN_MS,
      history: args.history,
      maxBackpressure: MAX_BACKPRESSURE,
      server: args.server,
    },
    publishes: publishCounts,
    redis: { kills, lives: lifeEpochs.map((l) => Object.fromEntries(l)), unknownEpochs: [...unknownEpochs] },
    drained,
    servers: serverStates,
    serverMetrics,
    totals: {
      received: total('received'),
      missingNoticed: total('missingNoticed'),
      missingSilent: total('missingSilent'),
      duplicates: total('duplicates'),
      epochMismatch: total('epochMismatch'),
    },
    members: accounts,
    raw: Object.fromEntries(
      Object.entries(raw).map(([k, s]) => [
        k,
        { connections: s.connections, refusedUpgrades: s.refusedUpgrades, framesSent: s.framesSent, closes: Object.fromEntries(s.closes) },
      ]),
    ),
    memoryMiB: memory,
    serverWarnings: Object.fromEntries(servers.map((s) => [s.name, s.log.filter((l) => /"level":(50|60)/.test(l)).slice(-20)])),
  };

  await Promise.all(members.map((m) => m.client.close().catch(() => undefined)));
  if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report);
  const failed = report.totals.missingSilent > 0 || report.totals.duplicates > 0 || serverStates.some((s) => !s.alive);
  return failed ? 1 : 0;
}

/** What the run found (also written with --json). */
interface Report {
  options: Record<string, unknown>;
  publishes: typeof publishCounts;
  redis: { kills: Array<{ killedAt: number; restartedAt: number }>; lives: Array<Record<string, StreamPosition>>; unknownEpochs: string[] };
  drained: boolean;
  servers: Array<{ name: string; alive: boolean }>;
  serverMetrics: Record<string, Record<string, number>>;
  totals: { received: number; missingNoticed: number; missingSilent: number; duplicates: number; epochMismatch: number };
  members: MemberAccount[];
  raw: Record<string, { connections: number; refusedUpgrades: number; framesSent: number; closes: Record<string, number> }>;
  memoryMiB: Array<{ t: number; rss: Record<string, number | undefined> }>;
  serverWarnings: Record<string, string[]>;
}

function printReport(r: Report): void {
  const out: string[] = [];
  const o = r.options;
  out.push(
    `chaos: ${String(o.durationSec)} s, ${String(o.rooms)} rooms, ${String(o.members)} members, ${String(o.rate)} events/s per publisher, redis killed ${r.redis.kills.length}x`,
  );
  const p = r.publishes;
  out.push(`publishes: sent ${p.sent}, acked ${p.acked}, refused ${p.refused}, cut ${p.disconnected}, seq 0 ${p.zeroSeq}`);
  out.push(
    `redis kills (s): ${r.redis.kills.map((k) => `${(k.killedAt / 1000).toFixed(1)}-${(k.restartedAt / 1000).toFixed(1)}`).join(', ') || 'none'}${r.redis.unknownEpochs.length > 0 ? `; epochs never seen in Redis: ${r.redis.unknownEpochs.join(', ')}` : ''}`,
  );
  out.push(
    `members caught up at the end: ${r.drained ? 'yes' : 'NO'}; servers alive: ${r.servers.map((s) => `${s.name} ${s.alive ? 'yes' : 'NO'}`).join(', ')}`,
  );
  out.push('');
  const head = [
    'member',
    'enc',
    'received',
    'miss+notice',
    'SILENT',
    'dup',
    'not-exp',
    'epoch?',
    'notices',
    'rooms-dropped',
    'recovered',
    'sdk-dup-drop',
    'closes',
  ];
  const rows = r.members.map((m) => [
    m.name,
    m.encoding,
    String(m.received),
    String(m.missingNoticed),
    String(m.missingSilent),
    String(m.duplicates),
    String(m.notExpected),
    String(m.epochMismatch),
    Object.entries(m.resyncs)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ') || '-',
    Object.entries(m.droppedRooms)
      .map(([k, v]) => `${k.replace('ERROR_CODE_', '')}:${v}`)
      .join(' ') || '-',
    String(m.recoveredRejoins),
    String(m.duplicatesDroppedBySdk),
    Object.entries(m.closes)
      .map(([k, v]) => `${k}x${v}`)
      .join(' ') || '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  for (const row of [head, ...rows]) out.push(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
  out.push('');
  const t = r.totals;
  out.push(
    `totals: received ${t.received}, missing with notice ${t.missingNoticed}, SILENT ${t.missingSilent}, duplicates ${t.duplicates}, epoch mismatches ${t.epochMismatch}`,
  );
  for (const m of r.members)
    for (const room of m.rooms) if (room.silentExamples.length > 0) out.push(`  silent: ${m.name} ${room.room}: ${room.silentExamples.join('; ')}`);
  for (const m of r.members)
    for (const room of m.rooms) if (room.duplicateExamples.length > 0) out.push(`  duplicate: ${m.name} ${room.room}: ${room.duplicateExamples.join(' | ')}`);
  for (const [k, s] of Object.entries(r.raw)) {
    out.push(
      `${k}: ${s.connections} connections, ${s.refusedUpgrades} refused upgrades, ${s.framesSent} frames sent, closes ${
        Object.entries(s.closes)
          .map(([c, n]) => `${c}x${n}`)
          .join(' ') || '-'
      }`,
    );
  }
  const series = (name: string): string => {
    const vals = r.memoryMiB.map((x) => x.rss[name]).filter((v): v is number => v !== undefined);
    if (vals.length === 0) return `${name}: -`;
    const step = Math.max(1, Math.floor(vals.length / 10));
    const picks = vals.filter((_, i) => i % step === 0 || i === vals.length - 1).map((v) => v.toFixed(0));
    return `${name}: start ${(vals[0] ?? 0).toFixed(1)}, max ${Math.max(...vals).toFixed(1)}, end ${(vals.at(-1) ?? 0).toFixed(1)} MiB (${picks.join(' ')})`;
  };
  for (const [name, counts] of Object.entries(r.serverMetrics)) {
    out.push(
      `server ${name} (/metrics): ${Object.entries(counts)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}`,
    );
  }
  out.push(
    `server RSS: ${Object.keys(r.memoryMiB[0]?.rss ?? {})
      .map(series)
      .join('; ')}`,
  );
  for (const [name, lines] of Object.entries(r.serverWarnings))
    if (lines.length > 0) out.push(`server ${name} errors (last ${lines.length}):\n  ${lines.join('\n  ')}`);
  out.push(t.missingSilent === 0 && t.duplicates === 0 ? 'verdict: no silent loss, no duplicate' : 'verdict: FAILED (silent loss or duplicates)');
  process.stdout.write(`${out.join('\n')}\n`);
}

const hardStop = setTimeout(() => {
  process.stderr.write(`chaos: not finished after ${HARD_DEADLINE_MS / 1000} s: giving up\n`);
  killAll();
  process.exit(2);
}, HARD_DEADLINE_MS);
hardStop.unref();

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
    killAll();
    process.exit(2);
  },
);
