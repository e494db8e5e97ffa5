/**
 * A receiver process: holds many member sockets and records every delivery.
 *
 * Started by the runner (`fork`), told what to open (`connect`) and what to record (`measure`),
 * asked for counts while draining and for a report at the end. The clock is read once per
 * socket chunk, before parsing: every frame in a chunk arrived together.
 */
import { pool, serve, tell } from './child.js';
import { FrameKind, roomName } from './dialect.js';
import { DIALECTS } from './dialects.js';
import type { ConnectMembers, FromReceiver } from './ipc.js';
import { nowNs, type Stamp } from './payload.js';
import { DeliveryRecorder } from './recorder.js';
import { connectWs, type WsClient } from './wsclient.js';

const WELCOME_TIMEOUT_MS = 15_000;

const clients: WsClient[] = [];
const stamp: Stamp = { timeNs: 0, index: 0, room: 0 };
let chunkNs = 0;
let recorder: DeliveryRecorder | undefined;
let unmeasuredBeforePlan = 0;
let errors = 0;
let closing = false;
let firstReadError: string | undefined;
const closes: Record<string, number> = {};

function send(m: FromReceiver): void {
  tell(m);
}

async function connectAll(m: ConnectMembers): Promise<void> {
  const dialect = DIALECTS[m.server.peer];
  let connected = 0;
  let failed = 0;
  let firstError: string | undefined;
  const progress = setInterval(() => send({ type: 'progress', connected }), 500);
  const onChunk = (): void => {
    chunkNs = nowNs();
  };
  await pool(m.members, m.concurrency, async (member, i) => {
    const { path, protocol } = dialect.member(roomName(member.room), member.encoding);
    let welcomed: (() => void) | undefined;
    const welcome = new Promise<void>((resolve) => (welcomed = resolve));
    let client: WsClient | undefined;
    try {
      client = await connectWs(
        { host: m.server.host, port: m.server.port, path, protocol, localAddress: m.localAddresses[i % m.localAddresses.length] },
        {
          onChunk,
          onFrame: (c, opcode, buf, start, end) => {
            const kind = dialect.read(c, opcode, buf, start, end, stamp);
            if (kind === FrameKind.event) {
              if (recorder !== undefined) recorder.record(stamp, chunkNs);
              else unmeasuredBeforePlan += 1;
            } else if (kind === FrameKind.welcome) welcomed?.();
            else if (kind === FrameKind.error) errors += 1;
          },
          onClose: (code, error) => {
            if (closing) return;
            closes[code] = (closes[code] ?? 0) + 1;
            if (error !== undefined) firstReadError ??= error.stack ?? error.message;
          },
        },
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        welcome,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no welcome within ${WELCOME_TIMEOUT_MS} ms`)), WELCOME_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
      clients.push(client);
      connected += 1;
    } catch (err) {
      client?.socket.destroy();
      failed += 1;
      firstError ??= (err as Error).message;
    }
  });
  clearInterval(progress);
  send({ type: 'connected', connected, failed, firstError });
}

serve(async (m) => {
  switch (m.type) {
    case 'connect':
      if ('members' in m) await connectAll(m);
      return;
    case 'measure':
      recorder = new DeliveryRecorder(m);
      return;
    case 'count':
      send({ type: 'count', received: recorder?.measured ?? 0 });
      return;
    case 'report':
      send({
        type: 'report',
        windows: recorder?.report() ?? [],
        unmeasured: unmeasuredBeforePlan + (recorder?.unmeasured ?? 0),
        closes,
        errors,
        firstReadError,
      });
      return;
    case 'close':
      closing = true;
      for (const c of clients) c.socket.destroy();
      process.exit(0);
      return;
    default:
      return;
  }
});
