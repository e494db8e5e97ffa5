/**
 * Oversized HTTP bodies over raw TCP, to see whether the server stops reading after its 413.
 *
 *   node --import tsx test/body-flood.ts --port 9100 [--ms 15000]
 *
 * Two requests to POST /api/rooms/x/publish: a 100 MB body with Content-Length, then a chunked
 * upload streamed for up to `ms`. For each it prints the status line received, when it came and
 * when the server closed the connection (ms after the request began, -1: never), and how many
 * bytes the client managed to write: an upper bound of what the server read.
 */
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string' }, ms: { type: 'string', default: '15000' }, host: { type: 'string', default: '127.0.0.1' } },
});
const port = Number(values.port);
const ms = Number(values.ms);

interface Outcome {
  status: string;
  statusMs: number;
  closedMs: number;
  writtenMB: number;
}

/** Sends `head`, then `next()` chunks until it returns undefined, the server closes, or `ms` pass. */
function upload(head: string, next: () => Buffer | undefined): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect(port, values.host);
    const t0 = performance.now();
    let got = '';
    let statusMs = -1;
    let closedMs = -1;
    let written = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      s.destroy();
      resolve({
        status: got.split('\r\n')[0] ?? '',
        statusMs: Math.round(statusMs),
        closedMs: Math.round(closedMs),
        writtenMB: Math.round(written / 1e5) / 10,
      });
    };
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (statusMs < 0) statusMs = performance.now() - t0;
    });
    s.on('error', () => {
      // The close follows.
    });
    s.on('close', () => {
      closedMs = performance.now() - t0;
      finish();
    });
    s.write(head);
    // Write in small batches and yield between them, so replies are read while sending.
    const pump = (): void => {
      for (let i = 0; i < 16; i++) {
        if (done || s.destroyed) return;
        if (performance.now() - t0 >= ms) {
          setTimeout(finish, 500);
          return;
        }
        const chunk = next();
        if (chunk === undefined) {
          setTimeout(finish, 2000);
          return;
        }
        written += chunk.length;
        if (!s.write(chunk)) {
          s.once('drain', () => setImmediate(pump));
          return;
        }
      }
      setImmediate(pump);
    };
    pump();
  });
}

const block = Buffer.alloc(64 * 1024, 0x61);
const total = 100 * 1024 * 1024;
let sent = 0;
const fixed = await upload(`POST /api/rooms/x/publish HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`, () => {
  if (sent >= total) return undefined;
  sent += block.length;
  return block;
});
process.stdout.write(`100 MB body (Content-Length): ${JSON.stringify(fixed)}\n`);
const chunk = Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from('\r\n')]);
const chunked = await upload('POST /api/rooms/x/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', () => chunk);
process.stdout.write(`chunked upload, up to ${ms} ms: ${JSON.stringify(chunked)}\n`);
