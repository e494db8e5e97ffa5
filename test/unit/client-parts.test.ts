/**
 * The client SDK's parts without sockets: backoff, the request table (ids, timeouts, typed
 * errors), the room set behind rejoin and resume, conversions to the public types, options.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { roomcast } from '../../src/gen/roomcast.js';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/client/backoff.js';
import { Emitter } from '../../src/client/emitter.js';
import { PRESENCE_ACTIONS, RECOVERY_RESULTS, toHistory, toNumber, toRecovery, toRoomEvent, toWelcome } from '../../src/client/convert.js';
import { DisconnectedError, RoomcastClientError, ServerError, TimeoutError } from '../../src/client/errors.js';
import { resolveOptions } from '../../src/client/options.js';
import { Requests } from '../../src/client/requests.js';
import { RoomSet } from '../../src/client/rooms.js';
import { urlWithoutRoom } from '../../src/client/socket.js';
import { urlWithToken } from '../../src/client/socket.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RecoveryResult } from '../../src/protocol/types.js';

describe('backoffDelay', () => {
  const o = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5 };

  it('doubles from the initial delay up to the cap, without jitter at random() = 0', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 50, 5000].map((a) => backoffDelay(a, o, () => 0)),
      [100, 200, 400, 800, 1000, 1000, 1000, 1000],
    );
  });

  it('takes up to `jitter` of the delay off at random', () => {
    assert.equal(
      backoffDelay(2, o, () => 0.999999),
      200,
    );
    assert.equal(
      backoffDelay(2, o, () => 0.5),
      300,
    );
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, o);
      assert.ok(d >= 400 && d <= 800, `delay ${d} within [400, 800]`);
    }
    assert.equal(
      backoffDelay(3, { ...o, jitter: 0 }, () => 0.7),
      800,
    );
  });

  it('has sane defaults', () => {
    assert.equal(
      backoffDelay(0, DEFAULT_BACKOFF, () => 0),
      DEFAULT_BACKOFF.initialDelayMs,
    );
    assert.equal(
      backoffDelay(100, DEFAULT_BACKOFF, () => 0),
      DEFAULT_BACKOFF.maxDelayMs,
    );
  });
});

describe('Requests', () => {
  it('numbers commands from 1, hands unsent ones out once in order, and settles replies by id', async () => {
    const r = new Requests();
    const a = r.add('join', { join: { room: 'a' } }, 1000, false);
    const b = r.add('echo', { echo: { text: 'x' } }, 1000, false);
    assert.deepEqual([a.message.id, b.message.id], [1, 2]);
    assert.ok(r.hasUnsent);
    assert.deepEqual(r.takeUnsent(), [
      { id: 1, join: { room: 'a' } },
      { id: 2, echo: { text: 'x' } },
    ]);
    assert.deepEqual(r.takeUnsent(), []);
    assert.equal(r.hasUnsent, false);
    assert.equal(r.settle({ id: 2, echo: { text: 'x' } }), true);
    assert.equal(r.settle({ id: 1, join: { room: 'a', seq: 4 } }), true);
    assert.deepEqual(await b.reply, { id: 2, echo: { text: 'x' } });
    assert.deepEqual(await a.reply, { id: 1, join: { room: 'a', seq: 4 } });
    assert.equal(r.settle({ id: 1, join: { room: 'a' } }), false, 'a second reply finds nobody');
    assert.equal(r.settle({ id: 0, error: { code: ErrorCode.ERROR_CODE_UNKNOWN_COMMAND } }), false, 'id 0 is never a reply');
    assert.equal(r.size, 0);
  });

  it('turns an Error reply into a ServerError carrying the code', async () => {
    const r = new Requests();
    const { reply } = r.add('publish', { publish: { room: 'x', text: 't' } }, 1000, true);
    r.settle({ id: 1, error: { code: ErrorCode.ERROR_CODE_NOT_A_MEMBER, message: 'join it first' } });
    const err = await reply.catch((e: unknown) => e);
    assert.ok(err instanceof ServerError && err instanceof RoomcastClientError);
    assert.equal(err.code, ErrorCode.ERROR_CODE_NOT_A_MEMBER);
    assert.equal(err.codeName, 'ERROR_CODE_NOT_A_MEMBER');
    assert.equal(err.command, 'publish');
    assert.match(err.message, /publish: ERROR_CODE_NOT_A_MEMBER: join it first/);
  });

  it('refuses a reply of the wrong kind rather than handing it over', async () => {
    const r = new Requests();
    const { reply } = r.add('join', { join: { room: 'x' } }, 1000, true);
    r.settle({ id: 1, leave: { room: 'x' } });
    await assert.rejects(reply, (e: Error) => e instanceof RoomcastClientError && e.message.includes('replied with leave'));
  });

  it('times a command out with a TimeoutError, and ignores its late reply', async () => {
    const r = new Requests();
    const { reply } = r.add('echo', { echo: { text: 'x' } }, 20, true);
    const err = await reply.catch((e: unknown) => e);
    assert.ok(err instanceof TimeoutError);
    assert.equal(err.timeoutMs, 20);
    assert.equal(r.size, 0);
    assert.equal(r.settle({ id: 1, echo: { text: 'x' } }), false);
  });

  it('fails sent commands when their connection drops, keeps unsent ones; failAll fails the rest', async () => {
    const r = new Requests();
    const sent = r.add('join', { join: { room: 'a' } }, 1000, true);
    const waiting = r.add('join', { join: { room: 'b' } }, 1000, false);
    r.failSent((c) => new DisconnectedError(c, 'gone', 1006));
    const e1 = await sent.reply.catch((e: unknown) => e);
    assert.ok(e1 instanceof DisconnectedError && e1.code === 1006);
    assert.equal(r.size, 1);
    assert.deepEqual(
      r.takeUnsent().map((m) => m.join?.room),
      ['b'],
    );
    r.failAll((c) => new DisconnectedError(c, 'closed'));
    await assert.rejects(waiting.reply, DisconnectedError);
    assert.equal(r.size, 0);
  });

  it('wraps ids at 2^32 - 1, skipping 0 and ids still waiting', async () => {
    const r = new Requests();
    const first = r.add('echo', {}, 1000, true); // id 1, still waiting
    (r as unknown as { nextId: number }).nextId = 2 ** 32 - 1;
    const last = r.add('echo', {}, 1000, true);
    const wrapped = r.add('echo', {}, 1000, true);
    assert.deepEqual([first.message.id, last.message.id, wrapped.message.id], [1, 2 ** 32 - 1, 2], 'wrapped past 0 and the waiting id 1');
    r.failAll((c) => new DisconnectedError(c, 'done'));
    for (const p of [first, last, wrapped]) await assert.rejects(p.reply, DisconnectedError);
  });
});

describe('RoomSet', () => {
  it('keeps a position per room: join replies set it, events move it, duplicates are told apart', () => {
    const s = new RoomSet();
    s.add('a');
    assert.equal(s.position('a'), undefined, 'no position before the join reply');
    assert.equal(s.event('a', 1), 'untracked');
    s.joined('a', { epoch: 'e1', seq: 0 });
    assert.deepEqual(s.position('a'), { epoch: 'e1', seq: 0 });
    assert.equal(s.event('a', 1), 'new');
    assert.equal(s.event('a', 3), 'new', 'a gap is not a duplicate');
    assert.equal(s.event('a', 3), 'duplicate');
    assert.equal(s.event('a', 2), 'duplicate');
    assert.deepEqual(s.position('a'), { epoch: 'e1', seq: 3 });
    assert.equal(s.event('ghost', 9), 'untracked');
    assert.equal(s.has('ghost'), false, 'events of rooms not joined do not create them');
    s.joined('b', { epoch: 'x', seq: 7 });
    assert.deepEqual(s.names(), ['a', 'b']);
    s.forget('a');
    assert.deepEqual(s.names(), ['b']);
  });

  it('a rejoin reply never moves the position back within an epoch, and adopts a new epoch', () => {
    const s = new RoomSet();
    s.joined('a', { epoch: 'e1', seq: 5 });
    s.event('a', 6); // replayed before the reply
    s.event('a', 7);
    s.joined('a', { epoch: 'e1', seq: 6 });
    assert.deepEqual(s.position('a'), { epoch: 'e1', seq: 7 });
    s.joined('a', { epoch: 'e1', seq: 9 }); // too old: the reply's position is ahead
    assert.deepEqual(s.position('a'), { epoch: 'e1', seq: 9 });
    s.joined('a', { epoch: 'e2', seq: 2 }); // epoch changed: seq starts over
    assert.deepEqual(s.position('a'), { epoch: 'e2', seq: 2 });
    assert.equal(s.event('a', 3), 'new');
    s.reset('a', { epoch: 'e3', seq: 0 });
    assert.deepEqual(s.position('a'), { epoch: 'e3', seq: 0 });
    const copy = s.position('a');
    if (copy !== undefined) copy.seq = 99;
    assert.deepEqual(s.position('a'), { epoch: 'e3', seq: 0 }, 'position() hands out a copy');
  });

  it('a join of a room already joined on this connection leaves the position alone (events may be in flight)', () => {
    const s = new RoomSet();
    s.joined('a', { epoch: 'e1', seq: 2 });
    s.joinedAgain('a', { epoch: 'e1', seq: 5 });
    assert.deepEqual(s.position('a'), { epoch: 'e1', seq: 2 });
    assert.equal(s.event('a', 3), 'new', 'event 3, sent before the reply, still arrives');
    s.joinedAgain('new', { epoch: 'n', seq: 4 });
    assert.deepEqual(s.position('new'), { epoch: 'n', seq: 4 });
  });

  it('an exclude_self publish moves the position only when it is the very next event', () => {
    const s = new RoomSet();
    s.joined('a', { epoch: 'e', seq: 4 });
    s.skipped('a', 6); // event 5 is still on its way
    assert.deepEqual(s.position('a'), { epoch: 'e', seq: 4 });
    assert.equal(s.event('a', 5), 'new');
    s.skipped('a', 6);
    assert.deepEqual(s.position('a'), { epoch: 'e', seq: 6 });
  });
});

describe('reconnect URL', () => {
  it('turns /rooms/<room> into /ws, keeping any prefix and the query', () => {
    assert.equal(urlWithoutRoom('ws://h:1/rooms/lobby'), 'ws://h:1/ws');
    assert.equal(urlWithoutRoom('wss://h/chat/rooms/a%20b?token=t&x=1'), 'wss://h/chat/ws?token=t&x=1');
    assert.equal(urlWithoutRoom('ws://h:1/ws?token=t'), 'ws://h:1/ws?token=t');
    assert.equal(urlWithoutRoom('ws://h:1/rooms/a/extra'), 'ws://h:1/rooms/a/extra', 'not a room URL: unchanged');
  });
});

describe('conversions', () => {
  it('reads 64-bit values given as numbers, decimal strings or Longs as numbers', () => {
    assert.equal(toNumber(5), 5);
    assert.equal(toNumber('1795676197834812'), 1795676197834812);
    assert.equal(toNumber(null), 0);
    assert.equal(toNumber(undefined), 0);
    assert.equal(toNumber({ toString: () => '42' }), 42);
  });

  it('makes room events exact: numbers, defaults, one payload, fromSelf', () => {
    const e = toRoomEvent({ room: 'r', seq: '3', timeUs: 17, text: 'hi', connId: 'me' } as never, 'me');
    assert.deepEqual(e, { room: 'r', seq: 3, timeUs: 17, text: 'hi', connId: 'me', userId: '', fromSelf: true });
    const server = toRoomEvent({ room: 'r', seq: 4, data: new Uint8Array([1]) }, '');
    assert.equal(server.fromSelf, false, 'an empty connId (server push) is never "self"');
    assert.deepEqual(server.data, new Uint8Array([1]));
    assert.equal('text' in server, false);
  });

  it('marks events of the previous connection as fromSelf (replays)', () => {
    assert.equal(toRoomEvent({ room: 'r', seq: 1, connId: 'old' }, 'new', 'old').fromSelf, true);
    assert.equal(toRoomEvent({ room: 'r', seq: 1, connId: 'other' }, 'new', 'old').fromSelf, false);
    assert.equal(toRoomEvent({ room: 'r', seq: 1, connId: '' }, '', '').fromSelf, false);
  });

  it('reads recovery outcomes and history replies', () => {
    assert.equal(toRecovery({ recovered: true, recovery: RecoveryResult.RECOVERY_RESULT_RECOVERED }), 'recovered');
    assert.equal(toRecovery({ recovered: false, recovery: RecoveryResult.RECOVERY_RESULT_EPOCH_CHANGED }), 'epoch_changed');
    assert.equal(toRecovery({ recovery: RecoveryResult.RECOVERY_RESULT_TOO_OLD }), 'too_old');
    assert.equal(toRecovery({}), 'unsupported', 'a server that does not answer the recovery');
    assert.equal(toRecovery({ recovery: RecoveryResult.RECOVERY_RESULT_RECOVERED }), 'unsupported', 'RECOVERED without recovered = true is not trusted');
    assert.equal(toRecovery({ recovery: 99 as never }), 'unsupported', 'a newer server');
    assert.deepEqual(
      toHistory({ room: 'r', epoch: 'e', seq: '9', events: [{ room: 'r', seq: 8, text: 't', connId: 'me' }], complete: true } as never, 'me', ''),
      {
        room: 'r',
        epoch: 'e',
        seq: 9,
        events: [{ room: 'r', seq: 8, timeUs: 0, text: 't', connId: 'me', userId: '', fromSelf: true }],
        complete: true,
      },
    );
    assert.deepEqual(toHistory({}, '', ''), { room: '', epoch: '', seq: 0, events: [], complete: false });
  });

  it('names every RecoveryResult of the proto', () => {
    assert.deepEqual(
      Object.entries(roomcast.v1.RecoveryResult).map(([k, v]) => [k.replace('RECOVERY_RESULT_', '').toLowerCase(), v]),
      Object.entries(RECOVERY_RESULTS).map(([v, name]) => [name === 'unsupported' ? 'unspecified' : name, Number(v)]),
    );
  });

  it('fills Welcome defaults', () => {
    assert.deepEqual(toWelcome({ connId: 'c', rooms: [{ room: 'a', seq: 2 }] }), {
      connId: 'c',
      rooms: [{ room: 'a', seq: 2, epoch: '' }],
      maxPayloadBytes: 0,
      userId: '',
      authRequired: false,
    });
  });

  it('names every PresenceAction of the proto', () => {
    const actions = Object.entries(roomcast.v1.PresenceAction).filter(([k]) => k !== 'PRESENCE_ACTION_UNSPECIFIED');
    assert.deepEqual(
      actions.map(([k, v]) => [k.replace('PRESENCE_ACTION_', '').toLowerCase(), v]),
      Object.entries(PRESENCE_ACTIONS).map(([v, name]) => [name, Number(v)]),
    );
  });
});

describe('options', () => {
  it('fills defaults', () => {
    const o = resolveOptions({ url: 'ws://h:1/ws' });
    assert.equal(o.encoding, 'proto');
    assert.equal(o.tokenTransport, 'url');
    assert.equal(o.requestTimeoutMs, 10_000);
    assert.deepEqual(o.reconnect, { ...DEFAULT_BACKOFF, maxAttempts: Infinity });
    assert.equal(resolveOptions({ url: 'wss://h/ws', reconnect: false }).reconnect, false);
  });

  it('rejects bad values with a message naming the option', () => {
    const bad: Array<[object, RegExp]> = [
      [{ url: 'http://h/ws' }, /url must use ws: or wss:/],
      [{ url: 'not a url' }, /url must be an absolute/],
      [{ url: 'ws://h/ws', encoding: 'xml' }, /encoding/],
      [{ url: 'ws://h/ws', tokenTransport: 'header' }, /tokenTransport/],
      [{ url: 'ws://h/ws', requestTimeoutMs: 0 }, /requestTimeoutMs/],
      [{ url: 'ws://h/ws', reconnect: { factor: 0.5 } }, /reconnect.factor/],
      [{ url: 'ws://h/ws', reconnect: { jitter: 2 } }, /reconnect.jitter/],
      [{ url: 'ws://h/ws', reconnect: { initialDelayMs: 10, maxDelayMs: 5 } }, /reconnect.maxDelayMs/],
      [{ url: 'ws://h/ws', reconnect: { maxAttempts: 0 } }, /reconnect.maxAttempts/],
    ];
    for (const [o, why] of bad)
      assert.throws(
        () => resolveOptions(o as never),
        (e: Error) => e instanceof TypeError && why.test(e.message),
        JSON.stringify(o),
      );
  });

  it('puts the token in the query string, replacing one already there', () => {
    assert.equal(urlWithToken('ws://h:1/rooms/a?x=1', 'a.b+c'), 'ws://h:1/rooms/a?x=1&token=a.b%2Bc');
    assert.equal(urlWithToken('ws://h:1/ws?token=old', 'new'), 'ws://h:1/ws?token=new');
    assert.equal(urlWithToken('ws://h:1/ws', undefined), 'ws://h:1/ws');
  });
});

describe('Emitter', () => {
  it('keeps calling listeners when one throws, and rethrows the error on its own', () => {
    class E extends Emitter<{ ping: number }> {
      fire(n: number): void {
        this.emit('ping', n);
      }
    }
    const e = new E();
    const seen: number[] = [];
    const thrown: unknown[] = [];
    const realQueue = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (f) => {
      try {
        f();
      } catch (err) {
        thrown.push(err);
      }
    };
    try {
      e.on('ping', () => {
        throw new Error('listener bug');
      });
      const off = e.on('ping', (n) => seen.push(n));
      e.once('ping', (n) => seen.push(n * 100));
      e.fire(1);
      off();
      e.fire(2);
    } finally {
      globalThis.queueMicrotask = realQueue;
    }
    assert.deepEqual(seen, [1, 100]);
    assert.deepEqual(
      thrown.map((x) => (x as Error).message),
      ['listener bug', 'listener bug'],
    );
  });
});
