/**
 * The client SDK against the real server: both encodings side by side, typed events and errors,
 * exclude-self, a clean close, no reconnect after a close code that forbids it, and a server
 * restart that the client rides out (reconnect, rejoin, waiting commands, timeouts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClientEvents,
  type ClientOptions,
  CloseCode,
  createClient,
  DisconnectedError,
  ErrorCode,
  type RoomcastClient,
  type RoomEvent,
  ServerError,
  TimeoutError,
} from '../../src/client/index.js';
import { WebSocket } from 'ws';
import { next, until } from '../client-helpers.js';
import { sleep, startServer, type TestServer } from '../helpers.js';

/** Collects a client's room events. */
function collect(c: RoomcastClient): RoomEvent[] {
  const events: RoomEvent[] = [];
  c.on('event', (e) => events.push(e));
  return events;
}

const clients: RoomcastClient[] = [];
/** createClient, remembered so that a failed test cannot leave a client reconnecting forever. */
function track(c: RoomcastClient): RoomcastClient {
  clients.push(c);
  return c;
}
after(() => Promise.all(clients.map((c) => c.close())));

describe('the SDK against the server', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ maxPayloadBytes: 1024, maxFrameBytes: 2048 });
  });
  after(() => srv.close());

  const open = async (options: Partial<ClientOptions>, path = '/ws'): Promise<RoomcastClient> => {
    const c = track(createClient({ url: srv.url(path), ...options }));
    await c.connect();
    return c;
  };

  it('protobuf and JSON clients share a room: typed events, bytes and text, exclude-self', async () => {
    const p = await open({ encoding: 'proto' }, '/rooms/mixed');
    const j = await open({ encoding: 'json', rooms: ['mixed'] });
    assert.deepEqual(p.rooms, ['mixed']);
    assert.deepEqual(j.rooms, ['mixed']);
    const pe = collect(p);
    const je = collect(j);
    const before = Date.now() * 1000;
    assert.deepEqual(await p.publish('mixed', 'from proto'), { room: 'mixed', seq: 1 });
    assert.deepEqual(await j.publish('mixed', new Uint8Array([0, 1, 254, 255])), { room: 'mixed', seq: 2 });
    assert.deepEqual(await j.publish('mixed', 'json, not to itself', { excludeSelf: true }), { room: 'mixed', seq: 3 });
    await until(() => pe.length === 3 && je.length === 2, 'every event');

    assert.deepEqual(
      pe.map((e) => [e.seq, e.text, e.data, e.fromSelf]),
      [
        [1, 'from proto', undefined, true],
        [2, undefined, new Uint8Array([0, 1, 254, 255]), false],
        [3, 'json, not to itself', undefined, false],
      ],
    );
    assert.deepEqual(
      je.map((e) => [e.seq, e.text, e.data, e.fromSelf]),
      [
        [1, 'from proto', undefined, false],
        [2, undefined, new Uint8Array([0, 1, 254, 255]), true],
      ],
    );
    for (const e of [...pe, ...je]) {
      assert.equal(typeof e.seq, 'number');
      assert.ok(e.timeUs >= before && e.timeUs <= Date.now() * 1000 + 1000, `timeUs ${e.timeUs} is now, in microseconds, as a number`);
    }
    assert.equal(pe[1]?.connId, j.connId);
    assert.equal(p.position('mixed')?.seq, 3);
    assert.equal(j.position('mixed')?.seq, 3, 'its own exclude_self publish (never received) moved its position');
    await p.close();
    await j.close();
  });

  it('echoes text and bytes in both encodings', async () => {
    for (const encoding of ['proto', 'json'] as const) {
      const c = await open({ encoding });
      assert.equal(await c.echo('héllo ✓'), 'héllo ✓');
      assert.deepEqual(await c.echo(new Uint8Array([9, 0, 200])), new Uint8Array([9, 0, 200]));
      await c.close();
    }
  });

  it('rejects refused commands with a ServerError carrying the ErrorCode; the connection lives on', async () => {
    for (const encoding of ['proto', 'json'] as const) {
      const c = await open({ encoding });
      const code = async (p: Promise<unknown>): Promise<number> => {
        const err = await p.then(
          () => assert.fail('should have been refused'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ServerError, String(err));
        return err.code;
      };
      assert.equal(await code(c.publish('not-joined', 'x')), ErrorCode.ERROR_CODE_NOT_A_MEMBER);
      assert.equal(await code(c.join('bad name')), ErrorCode.ERROR_CODE_BAD_ROOM_NAME);
      await c.join('limits');
      assert.equal(await code(c.publish('limits', 'x'.repeat(1025))), ErrorCode.ERROR_CODE_PAYLOAD_TOO_LARGE);
      await c.leave('limits');
      assert.deepEqual(c.rooms, []);
      assert.equal(await code(c.leave('limits')), ErrorCode.ERROR_CODE_NOT_A_MEMBER);
      assert.equal(c.state, 'open');
      await c.close();
    }
  });

  it('sends connect, refresh, presence and presenceStats in a form the server reads', async () => {
    // The server answers these once authentication and presence land; until then it must at
    // least recognise each command (not MALFORMED_FRAME) and answer it. One client per command:
    // a server that checks tokens may close the connection over a made-up one (4502).
    const calls: Array<[string, (c: RoomcastClient) => Promise<unknown>]> = [
      ['connect', (c) => c.authenticate('header.payload.signature')],
      ['refresh', (c) => c.refresh('header.payload.signature')],
      ['presence', (c) => c.presence('pres')],
      ['presenceStats', (c) => c.presenceStats('pres')],
    ];
    for (const encoding of ['proto', 'json'] as const) {
      for (const [name, call] of calls) {
        const c = await open({ encoding, rooms: ['pres'], reconnect: false });
        const outcome = await call(c).catch((e: unknown) => e);
        if (outcome instanceof ServerError) {
          assert.notEqual(outcome.code, ErrorCode.ERROR_CODE_MALFORMED_FRAME, `${name}: ${outcome.message}`);
          if (outcome.code === ErrorCode.ERROR_CODE_UNKNOWN_COMMAND) assert.match(outcome.message, new RegExp(`"${name}"`));
        } else if (outcome instanceof DisconnectedError) {
          assert.equal(outcome.code, CloseCode.CLOSE_CODE_UNAUTHENTICATED, `${name}: ${outcome.message}`);
        } else {
          assert.ok(!(outcome instanceof Error), `${name}: ${String(outcome)}`);
        }
        await c.close();
      }
    }
  });

  it('closes cleanly: close command, code 1000, no reconnect, waiting commands fail', async () => {
    const c = await open({});
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    const disconnects: Array<ClientEvents['disconnect']> = [];
    c.on('disconnect', (d) => disconnects.push(d));
    const info = await c.close('bye');
    assert.equal(info.code, 1000);
    assert.equal(c.state, 'closed');
    assert.deepEqual(states, ['closed']);
    assert.deepEqual(disconnects, [], 'a clean close is not a disconnect');
    await assert.rejects(c.echo('x'), DisconnectedError);
    await until(() => srv.server.connectionCount === 0, 'the server to drop the connection');
  });

  it('does not reconnect after 1009 (a frame over maxFrameBytes)', async () => {
    const c = await open({ reconnect: { initialDelayMs: 5 } }, '/rooms/big');
    const closed = next(c, 'close');
    const err = await c.publish('big', 'y'.repeat(3000)).catch((e: unknown) => e);
    assert.ok(err instanceof DisconnectedError && err.code === 1009, String(err));
    assert.equal((await closed).code, 1009);
    assert.equal(c.state, 'closed');
  });
});

describe('a server restart', () => {
  it('reconnects, rejoins URL and command rooms, reports the resume point, and delivers what waited', async () => {
    let srv = await startServer();
    // The restarted server cannot have the old port back at once (the closed connections keep
    // it in TIME_WAIT), so it listens on a new one, and a WebSocket class that dials whichever
    // port is current stands in for the load balancer a real deployment has in front.
    const firstPort = srv.port;
    let currentPort = srv.port;
    class Dialer extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url.replace(`:${firstPort}/`, `:${currentPort}/`), protocols);
      }
    }
    const c = track(createClient({ url: srv.url('/rooms/url-room'), encoding: 'json', reconnect: { initialDelayMs: 20, maxDelayMs: 100 }, WebSocket: Dialer }));
    const events = collect(c);
    await c.connect();
    await c.join('cmd-room');
    const publisher = track(createClient({ url: srv.url(), rooms: ['cmd-room', 'url-room'], reconnect: false }));
    await publisher.connect();
    await publisher.publish('cmd-room', 'one');
    await publisher.publish('cmd-room', 'two');
    await publisher.publish('url-room', 'three');
    await until(() => events.length === 3, 'the first events');
    assert.equal(c.position('cmd-room')?.seq, 2);

    const publisherClosed = next(publisher, 'close');
    const disconnect = next(c, 'disconnect');
    await srv.close();
    assert.deepEqual({ ...(await disconnect), delayMs: 0 }, { code: 1001, reason: 'server shutting down', reconnect: true, delayMs: 0 });
    assert.equal((await publisherClosed).code, 1001, 'reconnect: false gives up at once');
    assert.equal(c.state, 'reconnecting');

    // Commands wait for the reconnect, each up to its own timeout.
    const waited = c.publish('cmd-room', 'sent after the restart');
    const tooShort = c.echo('gives up', { timeoutMs: 30 });
    await assert.rejects(tooShort, TimeoutError);

    const rejoins: Array<ClientEvents['rejoin']> = [];
    c.on('rejoin', (r) => rejoins.push(r));
    await sleep(150); // a few failed attempts against the closed port
    const reopened = next(c, 'open');
    srv = await startServer();
    currentPort = srv.port;
    assert.equal((await reopened).reconnected, true);
    assert.deepEqual(await waited, { room: 'cmd-room', seq: 1 }, 'the new server counts afresh');
    // The in-memory streams died with the server: both rooms resync (new epochs), from seq 0.
    assert.deepEqual(rejoins.map((r) => [r.room, r.since?.seq, r.position?.seq, r.recovery]).sort(), [
      ['cmd-room', 2, 0, 'epoch_changed'],
      ['url-room', 1, 0, 'epoch_changed'],
    ]);
    for (const r of rejoins) assert.notEqual(r.position?.epoch, r.since?.epoch);
    assert.deepEqual(c.rooms.sort(), ['cmd-room', 'url-room']);

    // The server really has it in both rooms again.
    const other = track(createClient({ url: srv.url(), rooms: ['cmd-room', 'url-room'] }));
    await other.connect();
    await other.publish('url-room', 'after');
    await other.publish('cmd-room', 'after');
    await until(() => events.filter((e) => e.text === 'after').length === 2, 'events in both rooms after the restart');
    await other.close();
    await c.close();
    await srv.close();
  });
});
