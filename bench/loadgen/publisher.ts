/**
 * The publisher process: one member socket per room, publishing on a fixed schedule.
 *
 * Open loop: publish i is due at start + (i div burst) * burst / rate, is stamped with that
 * intended time (not the time it actually leaves), and goes out whether or not the server kept
 * up, so a stall anywhere shows as latency instead of slowing the load down. Publish i goes to
 * room i mod rooms; a burst is written with one syscall per socket (cork), so the server reads
 * it in one loop iteration. Waiting is precise without spinning a core: a timer until about
 * 2 ms before the due time, then Atomics.wait for the rest (sub-millisecond), then a short spin.
 */
import * as hdr from 'hdr-histogram-js';
import { serve, tell } from './child.js';
import { FrameKind, roomName } from './dialect.js';
import { DIALECTS } from './dialects.js';
import type { ConnectPublisher, FromPublisher, PublishPlan } from './ipc.js';
import { makePayload, nowNs, type Stamp, writeStamp } from './payload.js';
import { latencyHistogram } from './recorder.js';
import { connectWs, type WsClient } from './wsclient.js';

const sockets: WsClient[] = [];
let peer: ConnectPublisher['server']['peer'] = 'roomcast';
let errors = 0;
let closing = false;
const closes: Record<string, number> = {};
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function send(m: FromPublisher): void {
  tell(m);
}

async function connect(m: ConnectPublisher): Promise<void> {
  peer = m.server.peer;
  const dialect = DIALECTS[peer];
  const scratch: Stamp = { timeNs: 0, index: 0, room: 0 };
  await Promise.all(
    Array.from({ length: m.rooms }, async (_, room) => {
      const { path, protocol } = dialect.member(roomName(room), 'proto');
      let welcomed: (() => void) | undefined;
      const welcome = new Promise<void>((resolve) => (welcomed = resolve));
      const client = await connectWs(
        { host: m.server.host, port: m.server.port, path, protocol, localAddress: m.localAddress },
        {
          onFrame: (c, opcode, buf, start, end) => {
            const kind = dialect.read(c, opcode, buf, start, end, scratch);
            if (kind === FrameKind.welcome) welcomed?.();
            else if (kind === FrameKind.error) errors += 1;
          },
          onClose: (code) => {
            if (!closing) closes[code] = (closes[code] ?? 0) + 1;
          },
        },
      );
      await welcome;
      sockets[room] = client;
    }),
  );
  send({ type: 'connected' });
}

/** Blocks until CLOCK_MONOTONIC reaches `dueNs` (for waits under a few ms). */
function waitUntil(dueNs: number): void {
  const left = dueNs - nowNs();
  // Atomics.wait oversleeps by ~0.07 ms here; stop short of that and spin the rest.
  if (left > 150_000) Atomics.wait(sleeper, 0, 0, (left - 100_000) / 1e6);
  while (nowNs() < dueNs) {
    // spin: at most ~0.1 ms per publish
  }
}

function publish(plan: PublishPlan): Promise<void> {
  const dialect = DIALECTS[peer];
  const payload = makePayload(plan.payloadBytes);
  const lateness = latencyHistogram();
  const start = BigInt(plan.startNs);
  const startNum = Number(start);
  const burstNs = (plan.burst * 1e9) / plan.rate;
  const rooms = sockets.length;
  let sent = 0;
  // Often enough that even a one-second run shows one; the runner prints at most one a second.
  const progress = setInterval(() => send({ type: 'progress', sent }), 250);

  return new Promise((resolve) => {
    const step = (): void => {
      if (sent >= plan.total) {
        clearInterval(progress);
        send({ type: 'done', sent, lateness: hdr.encodeIntoCompressedBase64(lateness), errors, closes });
        resolve();
        return;
      }
      const burstIndex = Math.floor(sent / plan.burst);
      const offsetNs = Math.round(burstIndex * burstNs);
      const dueNs = startNum + offsetNs;
      const left = dueNs - nowNs();
      if (left > 2_000_000) {
        setTimeout(step, Math.floor((left - 1_500_000) / 1e6));
        return;
      }
      waitUntil(dueNs);
      lateness.recordValue(Math.max(1, Math.round((nowNs() - dueNs) / 1000)));
      const intended = start + BigInt(offsetNs);
      const n = Math.min(plan.burst, plan.total - sent);
      const touched = new Set<WsClient>();
      for (let j = 0; j < n; j++) {
        const i = sent + j;
        const room = i % rooms;
        const client = sockets[room] as WsClient;
        if (!touched.has(client)) {
          client.socket.cork();
          touched.add(client);
        }
        writeStamp(payload, intended, i, room);
        for (const frame of dialect.publish(roomName(room), payload, (i % 0xfffffffe) + 1)) client.socket.write(frame);
      }
      for (const c of touched) c.socket.uncork();
      sent += n;
      // Let replies and pings in between publishes.
      setImmediate(step);
    };
    step();
  });
}

serve(async (m) => {
  switch (m.type) {
    case 'connect':
      if ('rooms' in m) await connect(m);
      return;
    case 'publish':
      await publish(m);
      return;
    case 'close':
      closing = true;
      for (const c of sockets) c.socket.destroy();
      process.exit(0);
      return;
    default:
      return;
  }
});
