/**
 * A replay larger than the send buffer may take at once, against a fake socket whose buffered
 * amount the test controls: it waits for drains, keeps the order (replay, then the live events
 * that came meanwhile), and a connection that never drains is closed as a slow consumer once
 * the held live events pass maxBackpressure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { configFrom } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { decodeProto } from '../../src/protocol/codec.js';
import { createContext } from '../../src/server/app.js';
import { type Conn, inRoom, type SocketData } from '../../src/server/connections.js';
import type { ServerContext } from '../../src/server/context.js';
import { recoverJoin } from '../../src/server/recovery.js';

interface FakeSocket {
  ws: WebSocket<SocketData>;
  conn: Conn;
  /** Seqs of the events sent to it, in order. */
  seqs: number[];
  buffered: number;
  ended: number | undefined;
}

async function setUp(): Promise<{ ctx: ServerContext; sock: FakeSocket; publish: (n: number) => void }> {
  const config = configFrom({
    logLevel: 'silent',
    maxPayloadBytes: 4096,
    maxFrameBytes: 8192,
    maxBackpressure: 16_384,
    history: [{ rooms: '*', size: 1000, ttlSec: 60 }],
  });
  const app = { publish: () => true } as unknown as TemplatedApp;
  const { ctx, handlers } = createContext(config, app, { log: createLogger(config) });
  await ctx.broker.start(handlers);
  const conn = ctx.conns.create('proto', undefined, '127.0.0.1', ctx.auth.anonymous());
  const sock: FakeSocket = { ws: undefined as unknown as WebSocket<SocketData>, conn, seqs: [], buffered: 0, ended: undefined };
  sock.ws = {
    getUserData: () => ({ conn }),
    getBufferedAmount: () => sock.buffered,
    send: (frame: Uint8Array) => {
      const m = decodeProto('ServerMessage', new Uint8Array(frame));
      if (m.event != null) sock.seqs.push(Number(m.event.seq));
      sock.buffered += frame.byteLength;
      return 1;
    },
    subscribe: () => true,
    cork: (fn: () => void) => fn(),
    end: (code: number) => {
      sock.ended = code;
      conn.closed = true;
    },
  } as unknown as WebSocket<SocketData>;
  conn.ws = sock.ws;
  ctx.conns.add(conn);
  let text = 0;
  const publish = (n: number): void => {
    for (let i = 0; i < n; i += 1)
      void ctx.broker.publish({
        room: 'r',
        timeUs: Date.now() * 1000,
        text: `${(text += 1)}`.padEnd(3000, '.'),
        connId: '',
        userId: '',
        source: '',
        excludeSelf: false,
      });
  };
  return { ctx, sock, publish };
}

describe('paced replay', () => {
  it('waits for drains, then sends the live events held meanwhile, in order, before joining', async () => {
    const { ctx, sock, publish } = await setUp();
    const epoch = (ctx.broker.stream('r') as { epoch: string }).epoch;
    publish(60);
    const result = recoverJoin(ctx, sock.conn, 'r', { epoch, seq: 0 }, '');
    assert.ok(result instanceof Promise, 'too big to send at once: paced');
    assert.ok(sock.seqs.length < 60, `stopped at the buffer mark after ${sock.seqs.length}`);
    publish(5);
    let drains = 0;
    let settled = false as boolean; // a callback sets it
    void result.then(() => (settled = true));
    while (!settled && drains < 100) {
      sock.buffered = 0;
      ctx.recoveries.resume(sock.conn.id);
      drains += 1;
      await Promise.resolve();
    }
    const outcome = await result;
    assert.ok(drains > 5, `${drains} drains`);
    assert.deepEqual(
      sock.seqs,
      Array.from({ length: 65 }, (_, i) => i + 1),
      'replay then live, no gap, no duplicate',
    );
    assert.equal(outcome.recovered, true);
    assert.equal(outcome.missed, 60);
    assert.equal(outcome.seq, 65);
    assert.ok(inRoom(sock.conn, 'r'), 'in the room once everything is out');
  });

  it('a connection that never drains is closed with 4000 once the held live events pass maxBackpressure', async () => {
    const { ctx, sock, publish } = await setUp();
    const epoch = (ctx.broker.stream('r') as { epoch: string }).epoch;
    publish(60);
    const result = recoverJoin(ctx, sock.conn, 'r', { epoch, seq: 0 }, '');
    assert.ok(result instanceof Promise);
    const failed = result.then(
      () => 'resolved',
      (err: unknown) => (err as Error).message,
    );
    publish(4);
    assert.equal(sock.ended, undefined, 'under the limit: still waiting');
    publish(4);
    assert.equal(sock.ended, 4000, 'past maxBackpressure of held events: a slow consumer');
    assert.match(await failed, /slow consumer/);
    assert.equal(ctx.stats.closed.slow_consumer, 1);
    assert.ok(!inRoom(sock.conn, 'r'));
    assert.equal(ctx.recoveries.has('r', sock.conn.id), false, 'nothing left behind');
  });
});
