/**
 * A recovery-storm process (../harness/storm.ts): either members of the one room, or the steady
 * publisher. Node only (the C receiver does not speak this scenario).
 *
 * Members connect to `/rooms/<room>` and keep, per socket, the connection id and stream position
 * (epoch, seq) from the welcome and every event's seq. On `storm-drop` every socket is destroyed
 * at once (no close frame: the server sees 1006, as after a network cut), then each reconnects
 * to `/ws`, reads its new welcome and sends `Join{room, since: (epoch, last seq),
 * previous_conn_id}`; the replayed events come as ordinary events before the JoinReply. Every
 * event is checked against the socket's last seq: a seq at or below it is a duplicate, a jump
 * past last + 1 counts the events in between as missing. A JoinReply that did not recover (and a
 * StreamReset) is a resync: the socket takes the reply's position, and the loss is counted there,
 * not as missing.
 *
 * "Caught up": per seq s, how many of this process's sockets have seen s or later; the time the
 * last one did is kept, so the runner can ask for the moment every socket had a given seq.
 *
 * The publisher publishes steadily (one member socket, exclude_self), timing each publish from
 * request to reply, and reports the latencies before, during and after the storm.
 */
import { SUBPROTOCOLS } from '../../src/protocol/types.js';
import { pool, serve, tell } from './child.js';
import type { PhaseLatency } from '../types.js';
import type { FromStorm, ServerAddress, StormConnect } from './ipc.js';
import { makePayload, nowNs } from './payload.js';
import { Opcode } from './frame.js';
import { publishFrame, readStormFrame, rejoinMessage, wasRecovered } from './storm-wire.js';
import { connectWs, type WsClient } from './wsclient.js';

const WELCOME_TIMEOUT_MS = 30_000;
const RECOVERY_NAMES: Record<number, string> = { 0: 'unspecified', 1: 'recovered', 2: 'epoch_changed', 3: 'too_old' };

function send(m: FromStorm): void {
  tell(m);
}

// ---- members ----

let room = 'r0';
let servers: ServerAddress[] = [];
let localAddresses: string[] = [];
let concurrency = 64;
let globalIndex: number[] = [];
let clients: Array<WsClient | undefined> = [];
/** Per socket: the connection it replaces on its next rejoin, and its stream position. */
let connIds: string[] = [];
let epochs: string[] = [];
let lastSeq = new Float64Array(0);
/** Per socket: a drop in progress, so its close is expected; which connection is its current one. */
let dropping: boolean[] = [];
let generation: number[] = [];
/** Per seq: sockets that have seen it (or a later one); when the last one did. */
const reached: number[] = [];
const fullAt: number[] = [];
let target: number | undefined;
let chunkNs = 0;
let missing = 0;
let duplicates = 0;
let recovered = 0;
const resync: Record<string, number> = {};
let replayed = 0;
let resets = 0;
let errors = 0;
let firstError: string | undefined;
let closing = false;
const closes: Record<string, number> = {};
/** Per socket: resolves the rejoin in flight with the JoinReply. */
let joinWaiters: Array<(() => void) | undefined> = [];
let lastJoinNs = 0;

function checkTarget(): void {
  if (target === undefined) return;
  const at = fullAt[target];
  if (at === undefined) return;
  target = undefined;
  send({ type: 'storm-caught', atNs: at });
}

/** Socket k has now seen every seq up to `to` (it had seen up to `from`). */
function credit(from: number, to: number): void {
  for (let s = from + 1; s <= to; s++) {
    const n = (reached[s] ?? 0) + 1;
    reached[s] = n;
    if (n === clients.length && fullAt[s] === undefined) fullAt[s] = chunkNs;
  }
  checkTarget();
}

/** The socket jumps to (epoch, seq) without the events in between: a resync, not a gap. */
function jump(k: number, epoch: string, seq: number): void {
  epochs[k] = epoch;
  const last = lastSeq[k] as number;
  if (seq > last) credit(last, seq);
  lastSeq[k] = seq;
}

function onEvent(k: number, seq: number): void {
  const last = lastSeq[k] as number;
  if (seq <= last) {
    duplicates += 1;
    return;
  }
  if (seq > last + 1) missing += seq - last - 1;
  lastSeq[k] = seq;
  credit(last, seq);
}

function noteError(message: string): void {
  errors += 1;
  firstError ??= message;
}

/** The frame handler of socket k; `rejoining`: its welcome comes from `/ws` and asks for the rejoin. */
function handlerFor(k: number, rejoining: boolean): (c: WsClient, opcode: number, buf: Buffer, start: number, end: number) => void {
  return (c, _opcode, buf, start, end) => {
    const f = readStormFrame(buf, start, end);
    switch (f.kind) {
      case 'event':
        onEvent(k, f.seq);
        return;
      case 'welcome':
        if (rejoining) {
          c.send(Opcode.binary, rejoinMessage(k + 1, room, { epoch: epochs[k] as string, seq: lastSeq[k] as number }, connIds[k] as string));
        } else {
          epochs[k] = f.epoch;
          if (f.seq > 0) jump(k, f.epoch, f.seq);
        }
        connIds[k] = f.connId;
        joinWaiters[k]?.call(undefined);
        return;
      case 'join':
        lastJoinNs = Math.max(lastJoinNs, chunkNs);
        if (wasRecovered(f)) {
          recovered += 1;
          replayed += f.missed;
          epochs[k] = f.epoch;
          // The reply's seq is the last event sent before it: anything past ours never came.
          const last = lastSeq[k] as number;
          if (f.seq > last) {
            missing += f.seq - last;
            lastSeq[k] = f.seq;
            credit(last, f.seq);
          }
        } else {
          const why = RECOVERY_NAMES[f.recovery] ?? String(f.recovery);
          resync[why] = (resync[why] ?? 0) + 1;
          jump(k, f.epoch, f.seq);
        }
        joinWaiters[k]?.call(undefined);
        return;
      case 'reset':
        resets += 1;
        jump(k, f.epoch, f.seq);
        return;
      case 'error':
        noteError(`error reply: ${f.message}`);
        return;
      default:
        return;
    }
  };
}

function onChunk(): void {
  chunkNs = nowNs();
}

function closeHandler(k: number, gen: number): (code: number, error?: Error) => void {
  return (code, error) => {
    // A dropped socket's close may come after its replacement opened.
    if (closing || dropping[k] === true || generation[k] !== gen) return;
    closes[code] = (closes[code] ?? 0) + 1;
    if (error !== undefined) noteError(error.message);
  };
}

/** Opens socket k and waits for its welcome (a first join) or its rejoin's JoinReply. */
async function open(k: number, server: ServerAddress, path: string, rejoining: boolean, localAddress: string): Promise<void> {
  const gen = (generation[k] ?? 0) + 1;
  generation[k] = gen;
  dropping[k] = false;
  let settle: (() => void) | undefined;
  const answered = new Promise<void>((resolve) => (settle = resolve));
  // The welcome settles an initial join; a rejoin waits for its JoinReply (the welcome comes first).
  let welcomes = 0;
  joinWaiters[k] = () => {
    welcomes += 1;
    if (!rejoining || welcomes === 2) settle?.();
  };
  const client = await connectWs(
    { host: server.host, port: server.port, path, protocol: SUBPROTOCOLS.proto, localAddress },
    { onChunk, onFrame: handlerFor(k, rejoining), onClose: closeHandler(k, gen) },
  );
  clients[k] = client;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      answered,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${rejoining ? 'JoinReply' : 'welcome'} within ${WELCOME_TIMEOUT_MS} ms`)), WELCOME_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    joinWaiters[k] = undefined;
  }
}

async function connectMembers(m: StormConnect): Promise<void> {
  room = m.room;
  servers = m.servers;
  localAddresses = m.localAddresses;
  concurrency = m.concurrency;
  globalIndex = m.members;
  const n = m.members.length;
  clients = new Array<WsClient | undefined>(n).fill(undefined);
  connIds = new Array<string>(n).fill('');
  epochs = new Array<string>(n).fill('');
  lastSeq = new Float64Array(n);
  dropping = new Array<boolean>(n).fill(false);
  generation = new Array<number>(n).fill(0);
  joinWaiters = new Array<(() => void) | undefined>(n).fill(undefined);
  let connected = 0;
  let failed = 0;
  let first: string | undefined;
  const progress = setInterval(() => send({ type: 'progress', connected }), 500);
  await pool(m.members, concurrency, async (g, k) => {
    try {
      await open(k, servers[g % servers.length] as ServerAddress, `/rooms/${room}`, false, localAddresses[g % localAddresses.length] as string);
      connected += 1;
    } catch (err) {
      clients[k]?.socket.destroy();
      failed += 1;
      first ??= (err as Error).message;
    }
  });
  clearInterval(progress);
  send({ type: 'storm-connected', connected, failed, firstError: first });
}

async function drop(shift: number): Promise<void> {
  // All at once: every socket is gone before the first reconnects.
  for (let k = 0; k < clients.length; k++) {
    dropping[k] = true;
    clients[k]?.socket.destroy();
  }
  let rejoined = 0;
  let failed = 0;
  let first: string | undefined;
  await pool(globalIndex, concurrency, async (g, k) => {
    try {
      await open(k, servers[(g + shift) % servers.length] as ServerAddress, '/ws', true, localAddresses[g % localAddresses.length] as string);
      rejoined += 1;
    } catch (err) {
      clients[k]?.socket.destroy();
      failed += 1;
      first ??= (err as Error).message;
    }
  });
  send({ type: 'storm-rejoined', lastNs: lastJoinNs, rejoined, failed, firstError: first });
}

async function finalReport(seq: number, waitMs: number): Promise<void> {
  const deadline = performance.now() + waitMs;
  const behind = (): number => lastSeq.reduce((n, s) => n + (s < seq ? 1 : 0), 0);
  while (behind() > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // Sockets short of the final seq are missing the rest.
  let short = 0;
  for (const s of lastSeq) if (s < seq) short += seq - s;
  send({
    type: 'storm-report',
    sockets: clients.length,
    complete: clients.length - behind(),
    missing: missing + short,
    duplicates,
    recovered,
    resync,
    replayed,
    resets,
    errors,
    firstError,
    closes,
  });
}

// ---- publisher ----

let publisher: WsClient | undefined;
let publishTimer: NodeJS.Timeout | undefined;
let publishing = false;
let nextId = 1;
let sent = 0;
let ackSeq = 0;
let pubErrors = 0;
/** Send time (ns) by request id, until its reply. */
const inFlight = new Map<number, number>();
const sendNs: number[] = [];
const latencyUs: number[] = [];

async function connectPublisher(server: ServerAddress, r: string, localAddress: string): Promise<void> {
  let welcomed: (() => void) | undefined;
  const welcome = new Promise<void>((resolve) => (welcomed = resolve));
  publisher = await connectWs(
    { host: server.host, port: server.port, path: `/rooms/${r}`, protocol: SUBPROTOCOLS.proto, localAddress },
    {
      onFrame: (_c, _opcode, buf, start, end) => {
        const f = readStormFrame(buf, start, end);
        if (f.kind === 'welcome') welcomed?.();
        else if (f.kind === 'publish' || f.kind === 'error') {
          const at = inFlight.get(f.id);
          if (at === undefined) return;
          inFlight.delete(f.id);
          if (f.kind === 'error') {
            pubErrors += 1;
            return;
          }
          sendNs.push(at);
          latencyUs.push((nowNs() - at) / 1000);
          ackSeq = Math.max(ackSeq, f.seq);
        }
      },
      onClose: (code) => {
        if (!closing) closes[code] = (closes[code] ?? 0) + 1;
      },
    },
  );
  room = r;
  await welcome;
  send({ type: 'storm-connected', connected: 1, failed: 0, firstError: undefined });
}

function startPublishing(rate: number, payloadBytes: number): void {
  const payload = makePayload(payloadBytes);
  const start = nowNs();
  const intervalNs = 1e9 / rate;
  publishing = true;
  const step = (): void => {
    if (!publishing || publisher === undefined) return;
    // Open loop: every publish due by now goes out, whether or not the last was answered.
    const due = Math.floor((nowNs() - start) / intervalNs) + 1;
    while (sent < due) {
      const id = nextId++;
      inFlight.set(id, nowNs());
      publisher.socket.write(publishFrame(id, room, payload));
      sent += 1;
    }
    const nextDue = start + sent * intervalNs;
    publishTimer = setTimeout(step, Math.max(0, (nextDue - nowNs()) / 1e6));
  };
  step();
}

function phase(from: number, to: number): PhaseLatency {
  const xs: number[] = [];
  for (let i = 0; i < sendNs.length; i++) {
    const t = sendNs[i] as number;
    if (t >= from && t < to) xs.push(latencyUs[i] as number);
  }
  xs.sort((a, b) => a - b);
  const at = (q: number): number => (xs.length === 0 ? 0 : (xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] as number));
  return { p50: Math.round(at(0.5)), p99: Math.round(at(0.99)), max: Math.round(xs[xs.length - 1] ?? 0), count: xs.length };
}

async function stopPublishing(stormStartNs: number, stormEndNs: number): Promise<void> {
  publishing = false;
  clearTimeout(publishTimer);
  const deadline = performance.now() + 10_000;
  while (inFlight.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  send({
    type: 'storm-stopped',
    seq: ackSeq,
    sent,
    before: phase(0, stormStartNs),
    during: phase(stormStartNs, stormEndNs + 1),
    after: phase(stormEndNs + 1, Infinity),
    errors: pubErrors,
    unanswered: inFlight.size,
  });
}

serve(async (m) => {
  switch (m.type) {
    case 'storm-connect':
      await connectMembers(m);
      return;
    case 'storm-drop':
      await drop(m.shift);
      return;
    case 'storm-target':
      target = m.seq;
      checkTarget();
      return;
    case 'storm-final':
      await finalReport(m.seq, m.waitMs);
      return;
    case 'storm-publisher':
      await connectPublisher(m.server, m.room, m.localAddress);
      return;
    case 'storm-publish':
      startPublishing(m.rate, m.payloadBytes);
      return;
    case 'storm-seq':
      send({ type: 'storm-seq', seq: ackSeq });
      return;
    case 'storm-stop':
      await stopPublishing(m.stormStartNs, m.stormEndNs);
      return;
    case 'close':
      closing = true;
      publishing = false;
      clearTimeout(publishTimer);
      publisher?.socket.destroy();
      for (const c of clients) c?.socket.destroy();
      process.exit(0);
      return;
    default:
      return;
  }
});
