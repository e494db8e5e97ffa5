/**
 * Memory per idle connection, measured the way the bench measures it (run-case.ts): the server's
 * RSS growth per socket once every socket is open, read from /proc 300 ms after the last one
 * opened, over the RSS it had when it started listening. For roomcast it also reads the V8 heap
 * from /metrics at both points, to tell the JS heap's share from uWS's native one.
 *
 *   node --import tsx bench/memory.ts [--sockets 10000,19000] [--peer roomcast,uws]
 *                                     [--mode anonymous,token,rooms10] [--settle-ms 300]
 *                                     [--heap-snapshot DIR]  (a V8 heap snapshot of each server, all open)
 *
 * Modes (roomcast; uWS.js takes `anonymous` only, as its baseline):
 *   anonymous  `/rooms/r0` with no token, protobuf, one room
 *   token      the same with `?token=` (HS256, a user of its own per socket, expiring in an hour)
 *   rooms10    anonymous, in `r0` from the URL plus `join` of r1..r9 (10 rooms per socket)
 *
 * Sockets are held by this process (at most 19,900: the open-file limit), spread over source
 * addresses 127.0.0.2-17; every server is on 127.0.0.1, started fresh per case and stopped after
 * it. Each case is bounded (connects 2 minutes, the whole case 4 minutes), then everything stops.
 */
import { createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';
import { encodeProto } from '../src/protocol/codec.js';
import { SUBPROTOCOLS } from '../src/protocol/types.js';
import { pool } from './loadgen/child.js';
import { Opcode } from './loadgen/frame.js';
import { connectWs, type WsClient } from './loadgen/wsclient.js';
import { readProc } from './harness/procstat.js';
import { MAX_SOCKETS_PER_PROCESS } from './harness/run-case.js';
import { startServer, type ServerProcess } from './harness/server-process.js';

const MODES = ['anonymous', 'token', 'rooms10'] as const;
type Mode = (typeof MODES)[number];
type Peer = 'roomcast' | 'uws';
const ADDRESSES = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);
const SECRET = 'memory-bench-secret-0123456789abcdef';
const CONNECT_TIMEOUT_MS = 120_000;
const CASE_TIMEOUT_MS = 240_000;

/** One measured case. */
export interface MemoryResult {
  peer: Peer;
  mode: Mode;
  sockets: number;
  /** RSS when listening, and with every socket open (bytes). */
  baselineRss: number;
  rss: number;
  /** (rss - baselineRss) / sockets. */
  perConnection: number;
  /** V8 heap used growth per socket (roomcast only; not garbage-collected first, so an upper bound). */
  heapPerConnection: number | undefined;
  connectSeconds: number;
}

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

/** An HS256 token for `sub` (what a backend would hand out), valid for an hour. */
function token(sub: string, admin = false): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + 3600, ...(admin ? { admin } : {}) }));
  const sig = createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

async function heapUsed(server: ServerProcess): Promise<number | undefined> {
  if (server.peer !== 'roomcast') return undefined;
  const headers = { authorization: `Bearer ${token('memory-bench', true)}` };
  const res = await fetch(`http://${server.host}:${server.port}/metrics`, { headers, signal: AbortSignal.timeout(10_000) });
  const m = /^nodejs_heap_size_used_bytes (\d+)/m.exec(await res.text());
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Opens `n` sockets and waits for each to be in its rooms (welcome, then 9 join replies in rooms10). */
async function openSockets(server: ServerProcess, mode: Mode, n: number, clients: WsClient[]): Promise<void> {
  const joins = Array.from({ length: 9 }, (_, i) => encodeProto('ClientMessage', { id: i + 1, join: { room: `r${i + 1}` } }));
  let failed: Error | undefined;
  await pool(
    Array.from({ length: n }, (_, i) => i),
    64,
    async (i) => {
      if (failed !== undefined) return;
      const path = mode === 'token' ? `/rooms/r0?token=${token(`user-${i}`)}` : '/rooms/r0';
      const want = mode === 'rooms10' ? 10 : 1;
      await new Promise<void>((resolve, reject) => {
        let frames = 0;
        const timer = setTimeout(() => reject(new Error(`socket ${i}: no welcome within 30 s`)), 30_000);
        connectWs(
          {
            host: server.host,
            port: server.port,
            path,
            protocol: server.peer === 'roomcast' ? SUBPROTOCOLS.proto : undefined,
            localAddress: ADDRESSES[i % ADDRESSES.length],
          },
          {
            onFrame: (client, opcode) => {
              if (opcode !== Opcode.binary && opcode !== Opcode.text) return;
              frames += 1;
              if (frames === 1 && mode === 'rooms10') for (const j of joins) client.send(Opcode.binary, j);
              if (frames === want) {
                clearTimeout(timer);
                resolve();
              }
            },
            onClose: (code) => {
              clearTimeout(timer);
              reject(new Error(`socket ${i} closed with ${code} while opening`));
            },
          },
        ).then(
          (c) => clients.push(c),
          (err: unknown) => {
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      }).catch((err: unknown) => {
        failed ??= err as Error;
      });
    },
  );
  if (failed !== undefined) throw failed;
}

/** Measures one case; stops its server whatever happens. */
export async function measure(peer: Peer, mode: Mode, sockets: number, settleMs = 300, snapshotDir?: string): Promise<MemoryResult> {
  const flags = mode === 'token' ? ['--auth-secret', SECRET] : [];
  const nodeArgs = [
    ...(process.env.MEMORY_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
    ...(snapshotDir === undefined ? [] : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`]),
  ];
  const server = await startServer(peer, { roomcastFlags: flags, nodeArgs });
  const clients: WsClient[] = [];
  const guard = setTimeout(() => void server.stop(), CASE_TIMEOUT_MS);
  try {
    await sleep(settleMs);
    const baselineRss = readProc(server.pid)?.rss ?? 0;
    const heap0 = await heapUsed(server);
    const t0 = performance.now();
    await Promise.race([
      openSockets(server, mode, sockets, clients),
      sleep(CONNECT_TIMEOUT_MS).then(() => {
        throw new Error(`${sockets} sockets not open within ${CONNECT_TIMEOUT_MS / 1000} s`);
      }),
    ]);
    const connectSeconds = (performance.now() - t0) / 1000;
    await sleep(settleMs);
    const rss = readProc(server.pid)?.rss ?? 0;
    const heap1 = await heapUsed(server);
    if (snapshotDir !== undefined) {
      // Node writes the snapshot synchronously on the signal; the next request answers after it.
      process.kill(server.pid, 'SIGUSR2');
      await sleep(1000);
      await heapUsed(server).catch(() => undefined);
    }
    return {
      peer,
      mode,
      sockets,
      baselineRss,
      rss,
      perConnection: Math.max(0, (rss - baselineRss) / sockets),
      heapPerConnection: heap0 === undefined || heap1 === undefined ? undefined : (heap1 - heap0) / sockets,
      connectSeconds,
    };
  } finally {
    clearTimeout(guard);
    for (const c of clients) c.socket.destroy();
    await server.stop();
  }
}

function kb(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / 1024).toFixed(2)} KB`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sockets: { type: 'string', default: '10000,19000' },
      peer: { type: 'string', default: 'roomcast,uws' },
      mode: { type: 'string', default: MODES.join(',') },
      'settle-ms': { type: 'string', default: '300' },
      'heap-snapshot': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'node --import tsx bench/memory.ts [--sockets 10000,19000] [--peer roomcast,uws] [--mode anonymous,token,rooms10] [--settle-ms 300] [--heap-snapshot DIR]\n',
    );
    return;
  }
  const counts = values.sockets.split(',').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_SOCKETS_PER_PROCESS)) throw new Error(`--sockets: integers 1-${MAX_SOCKETS_PER_PROCESS}`);
  const peers = values.peer.split(',');
  if (!peers.every((p): p is Peer => p === 'roomcast' || p === 'uws')) throw new Error('--peer: roomcast and/or uws');
  const modes = values.mode.split(',') as Mode[];
  if (modes.some((m) => !MODES.includes(m))) throw new Error(`--mode: ${MODES.join(', ')}`);
  const settle = Number(values['settle-ms']);

  const rows = [['sockets', 'peer', 'mode', 'per conn (RSS)', 'heap/conn', 'baseline RSS', 'RSS', 'connect s']];
  for (const n of counts) {
    for (const peer of peers) {
      for (const mode of modes) {
        if (peer === 'uws' && mode !== 'anonymous') continue;
        process.stderr.write(`${peer} ${mode} ${n} sockets...\n`);
        const r = await measure(peer, mode, n, settle, values['heap-snapshot']);
        rows.push([
          String(n),
          peer,
          mode,
          kb(r.perConnection),
          kb(r.heapPerConnection ?? undefined),
          `${(r.baselineRss / 2 ** 20).toFixed(1)} MB`,
          `${(r.rss / 2 ** 20).toFixed(1)} MB`,
          r.connectSeconds.toFixed(1),
        ]);
      }
    }
  }
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  for (const r of rows) process.stdout.write(`${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
