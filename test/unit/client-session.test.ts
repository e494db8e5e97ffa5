/**
 * The client SDK against a scripted peer (test/peer.ts): what the real server cannot be made to
 * do on cue. Timeouts, every close code of the catalogue, tokens (URL and `connect` command),
 * replies and pushes of commands the server does not implement yet, commands waiting through a
 * reconnect.
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
  shouldReconnect,
  TimeoutError,
} from '../../src/client/index.js';
import type { DecodedCommand } from '../../src/protocol/client-frame.js';
import { PresenceAction, RecoveryResult } from '../../src/protocol/types.js';
import { next } from '../client-helpers.js';
import { withTimeout } from '../helpers.js';
import { Peer, type PeerConnection } from '../peer.js';

const FAST = { reconnect: { initialDelayMs: 5, maxDelayMs: 20 }, requestTimeoutMs: 2000, connectTimeoutMs: 2000 };

/** Answers the room commands as the server would (seq 0, no events). */
function answerRooms(c: PeerConnection): void {
  c.onCommand = (cmd: DecodedCommand) => {
    if (c.answerClose(cmd)) return;
    const m = cmd.message;
    if (m.join) c.send({ id: cmd.id, join: { room: m.join.room, seq: 0, epoch: 'e0' } });
    if (m.leave) c.send({ id: cmd.id, leave: { room: m.leave.room } });
    if (m.publish) c.send({ id: cmd.id, publish: { room: m.publish.room, seq: 1 } });
    if (m.echo) c.send({ id: cmd.id, echo: m.echo });
  };
}

const clients: RoomcastClient[] = [];
function client(peer: Peer, options: Partial<ClientOptions> = {}, path = '/ws'): RoomcastClient {
  const c = createClient({ url: peer.url(path), ...FAST, ...options });
  clients.push(c);
  return c;
}

// After a failure, nothing may keep running (a client would reconnect forever).
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Peer.closeAll();
});

describe('timeouts', () => {
  let peer: Peer;
  before(async () => {
    peer = await Peer.start();
  });
  after(() => peer.close());

  it('rejects a command nobody answers with a TimeoutError; the connection lives on', async () => {
    const c = client(peer);
    await c.connect();
    const conn = peer.connections.at(-1) as PeerConnection;
    const err = await c.echo('anyone?', { timeoutMs: 50 }).catch((e: unknown) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.command, 'echo');
    assert.equal(c.state, 'open');
    // A late reply finds nobody; the next command is answered normally.
    const late = await conn.command(0);
    conn.send({ id: late.id, echo: { text: 'late' } });
    answerRooms(conn);
    assert.equal(await c.echo('now'), 'now');
    await c.close();
  });

  it('gives up on a connection that never sends its Welcome, retries, and stops after maxAttempts', async () => {
    const silent = await Peer.start(() => {});
    const c = client(silent, { connectTimeoutMs: 50, reconnect: { initialDelayMs: 5, maxAttempts: 2 } });
    const disconnects: Array<ClientEvents['disconnect']> = [];
    c.on('disconnect', (d) => disconnects.push(d));
    const err = await c.connect().catch((e: unknown) => e);
    assert.ok(err instanceof DisconnectedError, String(err));
    assert.equal(silent.connections.length, 3, 'the first attempt and two retries');
    assert.deepEqual(
      disconnects.map((d) => [d.code, d.reconnect]),
      [
        [1006, true],
        [1006, true],
        [1006, false],
      ],
    );
    assert.match(disconnects[0]?.reason ?? '', /not ready within 50 ms/);
    assert.equal(c.state, 'closed');
    await silent.close();
  });
});

describe('close codes drive reconnects', () => {
  let peer: Peer;
  before(async () => {
    peer = await Peer.start();
  });
  after(() => peer.close());

  const reconnects = [1001, 1011, 4000, 4001, 4002, 4003];
  const stops = [1000, 1009, 4500, 4501, 4502, 4503, 4504];

  it('the catalogue agrees with this test about which codes reconnect', () => {
    for (const code of reconnects) assert.equal(shouldReconnect(code), true, `${code}`);
    for (const code of stops) assert.equal(shouldReconnect(code), false, `${code}`);
    const named = Object.values(CloseCode).filter((v) => typeof v === 'number' && v !== CloseCode.CLOSE_CODE_UNSPECIFIED);
    assert.deepEqual([...reconnects, ...stops].sort(), named.sort(), 'every close code of the proto is covered');
  });

  for (const code of reconnects) {
    it(`reconnects after ${code}`, async () => {
      const c = client(peer);
      await c.connect();
      const first = peer.connections.length;
      const disconnect = next(c, 'disconnect');
      (peer.connections.at(-1) as PeerConnection).close(code, 'test');
      assert.deepEqual({ ...(await disconnect), delayMs: 0 }, { code, reason: 'test', reconnect: true, delayMs: 0 });
      const open = await next(c, 'open');
      assert.equal(open.reconnected, true);
      assert.equal(peer.connections.length, first + 1);
      await c.close();
    });
  }

  it('reconnects after a connection dropped without a close frame (1006)', async () => {
    const c = client(peer);
    await c.connect();
    const disconnect = next(c, 'disconnect');
    (peer.connections.at(-1) as PeerConnection).ws.terminate();
    assert.equal((await disconnect).code, 1006);
    assert.equal((await next(c, 'open')).reconnected, true);
    await c.close();
  });

  for (const code of stops) {
    it(`stops after ${code}`, async () => {
      const c = client(peer);
      await c.connect();
      const first = peer.connections.length;
      const closed = next(c, 'close');
      const pending = c.echo('unanswered').catch((e: unknown) => e);
      (peer.connections.at(-1) as PeerConnection).close(code, 'bye');
      assert.deepEqual(await closed, { code, reason: 'bye' });
      assert.equal(c.state, 'closed', 'decided at once: no reconnect is scheduled');
      const err = await pending;
      assert.ok(err instanceof DisconnectedError && err.code === code, String(err));
      await assert.rejects(c.echo('after'), /the client is closed/);
      assert.equal(peer.connections.length, first);
    });
  }
});

describe('tokens', () => {
  it('sends a fresh token from the token function in the URL of every connection', async () => {
    const peer = await Peer.start((c) => c.welcome({ userId: `user-of-${String(new URL(c.url, 'ws://x').searchParams.get('token'))}` }));
    let n = 0;
    const c = client(peer, { token: () => Promise.resolve(`t${++n}`) }, '/rooms/lobby?x=1');
    const w = await c.connect();
    assert.equal(peer.connections[0]?.url, '/rooms/lobby?x=1&token=t1');
    assert.equal(w.userId, 'user-of-t1');
    assert.equal(c.userId, 'user-of-t1');
    peer.connections[0].close(CloseCode.CLOSE_CODE_TOKEN_EXPIRED, 'token expired');
    await next(c, 'open');
    // Reconnects go to /ws (the client rejoins the URL's room itself, with since), query kept.
    assert.equal(peer.connections[1]?.url, '/ws?x=1&token=t2');
    await c.close();
    await peer.close();
  });

  it('with tokenTransport "command" sends connect first, then rejoins, then the commands that waited', async () => {
    const peer = await Peer.start((c) => {
      c.welcome({ authRequired: true });
      c.onCommand = (cmd) => {
        if (c.answerClose(cmd)) return;
        const m = cmd.message;
        if (m.connect) c.send({ id: cmd.id, connect: { userId: `u-${String(m.connect.token)}`, expiresAtUs: 1_800_000_000_000_000 } });
        else if (m.join) c.send({ id: cmd.id, join: { room: m.join.room, seq: 0 } });
        else if (m.echo) c.send({ id: cmd.id, echo: m.echo });
        else if (m.refresh) c.send({ id: cmd.id, refresh: { expiresAtUs: 1_900_000_000_000_000 } });
      };
    });
    const c = client(peer, { token: 'jwt-1', tokenTransport: 'command', rooms: ['a', 'b'] });
    const echoed = c.connect().then(() => c.echo('hi'));
    assert.equal(await echoed, 'hi');
    const conn = peer.connections[0] as PeerConnection;
    assert.equal(conn.url, '/ws', 'no token in the URL');
    assert.deepEqual(
      conn.received.map((r) => r.command),
      ['connect', 'join', 'join', 'echo'],
    );
    assert.equal(conn.received[0]?.message.connect?.token, 'jwt-1');
    assert.equal(c.userId, 'u-jwt-1');
    assert.deepEqual(await c.refresh('jwt-2'), { expiresAtUs: 1_900_000_000_000_000 });
    assert.equal((await conn.command(4)).message.refresh?.token, 'jwt-2');
    // A later connection authenticates with the token given to refresh.
    conn.close(4003);
    await next(c, 'open');
    assert.equal(peer.connections[1]?.received[0]?.message.connect?.token, 'jwt-2');
    await c.close();
    await peer.close();
  });

  it('stops (4502) when the server refuses the token of the connect command', async () => {
    const peer = await Peer.start((c) => {
      c.welcome({ authRequired: true });
      c.onCommand = (cmd) => c.send({ id: cmd.id, error: { code: ErrorCode.ERROR_CODE_TOKEN_EXPIRED, message: 'token expired' } });
    });
    const c = client(peer, { token: 'old', tokenTransport: 'command' });
    const serverError = next(c, 'serverError');
    const err = await c.connect().catch((e: unknown) => e);
    assert.ok(err instanceof DisconnectedError && err.code === (CloseCode.CLOSE_CODE_UNAUTHENTICATED as number), String(err));
    assert.equal((await serverError).code, ErrorCode.ERROR_CODE_TOKEN_EXPIRED);
    assert.equal(c.state, 'closed');
    assert.equal(peer.connections.length, 1, 'no retry with a refused token');
    await peer.close();
  });
});

describe('commands the server does not implement yet, and pushes', () => {
  it('maps the replies of connect, refresh, presence and presenceStats to typed results, in both encodings', async () => {
    for (const encoding of ['proto', 'json'] as const) {
      const peer = await Peer.start((c) => {
        c.welcome();
        c.onCommand = (cmd) => {
          if (c.answerClose(cmd)) return;
          const m = cmd.message;
          if (m.connect) c.send({ id: cmd.id, connect: { userId: 'ada', expiresAtUs: 1_800_000_000_000_000 } });
          if (m.refresh) c.send({ id: cmd.id, refresh: { expiresAtUs: 1_900_000_000_000_000 } });
          if (m.presence) {
            c.send({
              id: cmd.id,
              presence: {
                room: m.presence.room,
                members: [
                  { userId: 'ada', connIds: ['c1', 'c2'] },
                  { userId: 'bob', connIds: ['c3'] },
                ],
              },
            });
          }
          if (m.presenceStats) c.send({ id: cmd.id, presenceStats: { room: m.presenceStats.room, connections: 3, users: 2 } });
        };
      });
      const c = client(peer, { encoding });
      await c.connect();
      assert.equal(peer.connections[0]?.encoding, encoding);
      assert.deepEqual(await c.authenticate('jwt'), { userId: 'ada', expiresAtUs: 1_800_000_000_000_000 });
      assert.equal(c.userId, 'ada');
      assert.deepEqual(await c.refresh('jwt2'), { expiresAtUs: 1_900_000_000_000_000 });
      assert.deepEqual(await c.presence('lobby'), {
        room: 'lobby',
        members: [
          { userId: 'ada', connIds: ['c1', 'c2'] },
          { userId: 'bob', connIds: ['c3'] },
        ],
      });
      assert.deepEqual(await c.presenceStats('lobby'), { room: 'lobby', connections: 3, users: 2 });
      await assert.rejects(createClient({ url: peer.url() }).refresh(), /no token/);
      await c.close();
      await peer.close();
    }
  });

  it('emits presence changes, removals (and forgets the room), stray errors and unreadable frames', async () => {
    const peer = await Peer.start((c) => {
      c.welcome({ rooms: [{ room: 'lobby', seq: 5, epoch: 'e' }] });
      answerRooms(c);
    });
    const c = client(peer, { encoding: 'json' }, '/rooms/lobby');
    await c.connect();
    assert.deepEqual(c.rooms, ['lobby']);
    assert.deepEqual(c.position('lobby'), { epoch: 'e', seq: 5 });
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- this checks the deprecated alias itself
    assert.equal(c.lastSeq('lobby'), 5, 'the deprecated alias');
    const conn = peer.connections[0] as PeerConnection;

    const presence = next(c, 'presence');
    conn.send({ presenceEvent: { room: 'lobby', action: PresenceAction.PRESENCE_ACTION_JOIN, userId: 'ada', connId: 'c9' } });
    assert.deepEqual(await presence, { room: 'lobby', action: 'join', userId: 'ada', connId: 'c9' });

    const event = next(c, 'event');
    conn.ws.send('{"event":{"room":"lobby","seq":"6","timeUs":"1795676197834812","data":"AQID","connId":"c9","userId":"ada","futureField":1}}');
    assert.deepEqual(await event, {
      room: 'lobby',
      seq: 6,
      timeUs: 1795676197834812,
      data: new Uint8Array([1, 2, 3]),
      connId: 'c9',
      userId: 'ada',
      fromSelf: false,
    });
    assert.deepEqual(c.position('lobby'), { epoch: 'e', seq: 6 });

    const removed = next(c, 'removed');
    conn.send({ removed: { room: 'lobby', reason: 'kicked' } });
    assert.deepEqual(await removed, { room: 'lobby', reason: 'kicked' });
    assert.deepEqual(c.rooms, [], 'a removed room is not rejoined');

    const stray = next(c, 'serverError');
    conn.send({ error: { code: ErrorCode.ERROR_CODE_MALFORMED_FRAME, message: 'bad frame' } });
    assert.equal((await stray).code, ErrorCode.ERROR_CODE_MALFORMED_FRAME);

    const unreadable = next(c, 'frameError');
    conn.ws.send('{"event": ');
    assert.match((await unreadable).message, /not a ServerMessage/);
    assert.equal(await c.echo('still here'), 'still here');
    await c.close();
    await peer.close();
  });
});

describe('commands across a reconnect', () => {
  it('fails commands in flight, keeps new ones until the rooms are rejoined, and reports the rejoin', async () => {
    const peer = await Peer.start((c) => c.welcome());
    const c = client(peer, { reconnect: { initialDelayMs: 50 } });
    await c.connect();
    const conn0 = peer.connections[0] as PeerConnection;
    answerRooms(conn0);
    await c.join('a');
    await c.join('b');
    conn0.send({ event: { room: 'a', seq: 3, text: 'x' } });
    await next(c, 'event');
    const inFlight = c.presenceStats('a'); // answerRooms leaves it unanswered
    await conn0.command(2);
    const disconnect = next(c, 'disconnect');
    conn0.close(CloseCode.CLOSE_CODE_RECONNECT);
    await disconnect;
    const err = await inFlight.catch((e: unknown) => e);
    assert.ok(err instanceof DisconnectedError && err.code === 4003, String(err));
    assert.equal(c.state, 'reconnecting');
    const waiting = c.publish('a', 'after the reconnect');
    const rejoins: Array<ClientEvents['rejoin']> = [];
    c.on('rejoin', (r) => rejoins.push(r));
    const conn1 = await peer.connection(1);
    conn1.onCommand = (cmd) => {
      if (conn1.answerClose(cmd)) return;
      if (cmd.message.join?.room === 'a')
        conn1.send({ id: cmd.id, join: { room: 'a', seq: 7, epoch: 'e0', recovery: RecoveryResult.RECOVERY_RESULT_TOO_OLD } });
      if (cmd.message.join?.room === 'b') conn1.send({ id: cmd.id, error: { code: ErrorCode.ERROR_CODE_PERMISSION_DENIED, message: 'no' } });
      if (cmd.message.publish) conn1.send({ id: cmd.id, publish: { room: 'a', seq: 8 } });
    };
    assert.deepEqual(await waiting, { room: 'a', seq: 8 });
    assert.deepEqual(
      conn1.received.map((r) => r.command),
      ['join', 'join', 'publish'],
      'rejoins go first',
    );
    assert.deepEqual(
      rejoins.map((r) => [r.room, r.since, r.position, r.recovery, r.error?.code]),
      [
        ['a', { epoch: 'e0', seq: 3 }, { epoch: 'e0', seq: 7 }, 'too_old', undefined],
        ['b', { epoch: 'e0', seq: 0 }, undefined, 'none', ErrorCode.ERROR_CODE_PERMISSION_DENIED],
      ],
    );
    assert.deepEqual(c.rooms, ['a'], 'a room that could not be rejoined is dropped');
    await c.close();
    await peer.close();
  });

  it('refuses commands before connect() and after close(); close() does not hang on a silent server', async () => {
    const peer = await Peer.start((c) => {
      c.welcome();
      c.onCommand = () => {}; // not even `close`
    });
    const c = client(peer, { closeTimeoutMs: 30 });
    await assert.rejects(c.join('a'), (e: Error) => e instanceof DisconnectedError && e.message.includes('call connect() first'));
    await c.connect();
    const info = await withTimeout(c.close('done'), 5000, 'close');
    assert.deepEqual(info, { code: 1000, reason: 'done' });
    assert.equal(peer.connections[0]?.received[0]?.message.close?.reason, 'done', 'the close command was sent');
    assert.equal((await peer.connections[0].closed).code, 1000);
    await assert.rejects(c.join('b'), (e: Error) => e instanceof DisconnectedError && e.message.includes('the client is closed'));
    assert.deepEqual(await c.close(), info, 'closing twice is harmless');
    await peer.close();
  });
});
