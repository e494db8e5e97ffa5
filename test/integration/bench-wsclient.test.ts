/**
 * The load generator's minimal WebSocket client against a real server (the `ws` library):
 * handshake with a subprotocol and a chosen source address, frames both ways, pings answered,
 * the server's close code reported, a refused handshake rejected.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { Opcode } from '../../bench/loadgen/frame.js';
import { connectWs } from '../../bench/loadgen/wsclient.js';
import { withTimeout } from '../helpers.js';

describe('bench WebSocket client', () => {
  let wss: WebSocketServer;
  let port = 0;
  const remotes: string[] = [];
  const pongs: string[] = [];
  const received: Array<[boolean, string]> = [];

  before(async () => {
    wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (offered) => (offered.has('bench.v1') ? 'bench.v1' : false),
      verifyClient: (info: { req: { url?: string } }) => info.req.url !== '/refuse',
    });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    port = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws, req) => {
      remotes.push(req.socket.remoteAddress ?? '');
      ws.on('pong', (data) => pongs.push(data.toString()));
      ws.on('message', (data: Buffer, isBinary) => {
        received.push([isBinary, data.toString()]);
        if (data.toString() === 'close me') ws.close(4000, 'slow');
      });
      ws.send('hello');
      ws.send(Buffer.alloc(70_000, 7));
      ws.ping('are you there');
    });
  });

  after(() => new Promise<void>((r) => wss.close(() => r())));

  it('connects, reads frames, answers pings and sends frames', async () => {
    const frames: Array<[number, number]> = [];
    let gotAll: () => void = () => {};
    const all = new Promise<void>((r) => (gotAll = r));
    const client = await connectWs(
      { host: '127.0.0.1', port, path: '/rooms/x', protocol: 'bench.v1', localAddress: '127.0.0.5' },
      {
        onFrame: (_c, opcode, _buf, start, end) => {
          frames.push([opcode, end - start]);
          if (frames.length === 2) gotAll();
        },
        onClose: () => {},
      },
    );
    assert.equal(client.protocol, 'bench.v1');
    await withTimeout(all, 5000, 'two frames');
    assert.deepEqual(frames, [
      [Opcode.text, 5],
      [Opcode.binary, 70_000],
    ]);
    client.send(Opcode.text, 'from the bench');
    client.send(Opcode.binary, Buffer.from([1, 2, 3]));
    const deadline = Date.now() + 5000;
    while ((received.length < 2 || pongs.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(received.slice(0, 2), [
      [false, 'from the bench'],
      [true, '\u0001\u0002\u0003'],
    ]);
    assert.deepEqual(pongs, ['are you there']);
    assert.ok(remotes.includes('127.0.0.5'), `source address used: ${remotes.join(',')}`);
    client.close();
  });

  it("reports the server's close code", async () => {
    let closed: (code: number) => void = () => {};
    const code = new Promise<number>((r) => (closed = r));
    const client = await connectWs({ host: '127.0.0.1', port, path: '/' }, { onFrame: () => {}, onClose: (c) => closed(c) });
    client.send(Opcode.text, 'close me');
    assert.equal(await withTimeout(code, 5000, 'close'), 4000);
  });

  it('rejects a refused handshake with the status line', async () => {
    await assert.rejects(
      connectWs({ host: '127.0.0.1', port, path: '/refuse' }, { onFrame: () => {}, onClose: () => {} }),
      /handshake refused: HTTP\/1\.1 401/,
    );
  });
});
