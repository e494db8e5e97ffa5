/**
 * A flooding client in its own process, so its pacing does not depend on the server's event loop
 * (a flooder inside the test process would send in clumps whenever the server is busy).
 *
 *   node --import tsx test/flooder.ts --url ws://127.0.0.1:9001/ws --rate 5000 --ms 10000
 *     [--reconnect] [--local-address 127.0.0.2]
 *
 * Sends `echo` frames at `rate` per second, spread evenly (a few per millisecond; what falls due
 * during a stall of this process is skipped, not sent in a clump), for `ms`.
 * With --reconnect it opens a new connection whenever one closes, at once, until the time is up.
 * Prints one JSON line: frames sent, echoes answered (frames the server processed), RATE_LIMITED
 * replies, connections opened, closes by code, and when the first close came (ms after start).
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { decodeProto, encodeProto } from '../src/protocol/codec.js';
import { SUBPROTOCOLS } from '../src/protocol/types.js';
import { ErrorCode } from '../src/protocol/errors.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    rate: { type: 'string', default: '5000' },
    ms: { type: 'string', default: '10000' },
    reconnect: { type: 'boolean', default: false },
    'local-address': { type: 'string' },
  },
});
const url = values.url ?? '';
const rate = Number(values.rate);
const ms = Number(values.ms);
const frame = encodeProto('ClientMessage', { id: 1, echo: { text: 'flood' } });

const result = { sent: 0, processed: 0, rateLimited: 0, opened: 0, closes: {} as Record<string, number>, firstCloseMs: -1, firstCloseReason: '' };
const t0 = performance.now();
let ws: WebSocket | undefined;

function open(): void {
  const sock = new WebSocket(url, [SUBPROTOCOLS.proto], values['local-address'] ? { localAddress: values['local-address'] } : {});
  ws = sock;
  sock.on('open', () => (result.opened += 1));
  sock.on('message', (data: Buffer) => {
    const m = decodeProto('ServerMessage', new Uint8Array(data));
    if (m.echo != null) result.processed += 1;
    else if (m.error?.code === ErrorCode.ERROR_CODE_RATE_LIMITED) result.rateLimited += 1;
  });
  sock.on('error', () => {
    // The close event follows; it is what is counted.
  });
  sock.on('close', (code, reason) => {
    result.closes[code] = (result.closes[code] ?? 0) + 1;
    if (result.firstCloseMs < 0) {
      result.firstCloseMs = Math.round(performance.now() - t0);
      result.firstCloseReason = reason.toString();
    }
    ws = undefined;
    if (values.reconnect && performance.now() - t0 < ms) open();
  });
}

open();
/** Frames scheduled so far (sent, or skipped while no connection was open). */
let scheduled = 0;
const timer = setInterval(() => {
  const elapsed = performance.now() - t0;
  if (elapsed >= ms || (!values.reconnect && ws === undefined)) {
    clearInterval(timer);
    ws?.close();
    // Let the last replies arrive before reporting.
    setTimeout(() => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    }, 300);
    return;
  }
  const due = Math.floor((elapsed * rate) / 1000);
  // After a stall, skip what fell due rather than send it in one clump: the rate stays even.
  scheduled = Math.max(scheduled, due - Math.ceil((3 * rate) / 1000));
  // Frames that fall due while no connection is open are skipped, as a real flooder's would be.
  const sock = ws;
  if (sock?.readyState !== WebSocket.OPEN) scheduled = due;
  else
    for (; scheduled < due; scheduled++) {
      sock.send(frame);
      result.sent += 1;
    }
}, 1);
