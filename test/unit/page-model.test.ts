/**
 * The built-in page's DOM-free parts, in Node: the member list (queries replace it, presence
 * events patch it), the stats panel's parsing and rates, and how events are worded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RoomEvent } from '../../src/client/index.js';
import { clockTime, duration, payload, perSecond, publisher } from '../../src/web/format.js';
import { type Health, parseHealth, ratesBetween } from '../../src/web/health.js';
import { Members } from '../../src/web/members.js';

describe('Members', () => {
  it('takes a presence answer whole, and lists named users first, then anonymous connections', () => {
    const m = new Members();
    assert.equal(
      m.replace({
        room: 'r',
        members: [
          { userId: '', connIds: ['c9', 'c3'] },
          { userId: 'zoe', connIds: ['c2'] },
          { userId: 'al', connIds: ['c5', 'c1'] },
        ],
      }),
      true,
    );
    assert.deepEqual(m.list(), [
      { connId: 'c1', userId: 'al' },
      { connId: 'c5', userId: 'al' },
      { connId: 'c2', userId: 'zoe' },
      { connId: 'c3', userId: '' },
      { connId: 'c9', userId: '' },
    ]);
    assert.equal(m.size, 5);
    assert.equal(
      m.replace({
        room: 'r',
        members: [
          { userId: 'al', connIds: ['c1', 'c5'] },
          { userId: 'zoe', connIds: ['c2'] },
          { userId: '', connIds: ['c3', 'c9'] },
        ],
      }),
      false,
      'same members, other order',
    );
    assert.equal(m.replace({ room: 'r', members: [{ userId: 'al', connIds: ['c1'] }] }), true);
    assert.deepEqual(m.list(), [{ connId: 'c1', userId: 'al' }]);
  });

  it('applies joins and leaves, reporting whether anything changed', () => {
    const m = new Members();
    m.replace({ room: 'r', members: [{ userId: 'al', connIds: ['c1'] }] });
    assert.equal(m.apply({ room: 'r', action: 'join', userId: 'bo', connId: 'c2' }), true);
    assert.equal(m.apply({ room: 'r', action: 'join', userId: 'bo', connId: 'c2' }), false, 'a join already known (the query saw it first)');
    assert.equal(m.has('c2'), true);
    assert.equal(m.apply({ room: 'r', action: 'leave', userId: 'al', connId: 'c1' }), true);
    assert.equal(m.apply({ room: 'r', action: 'leave', userId: 'al', connId: 'c1' }), false);
    assert.equal(m.apply({ room: 'r', action: 'unspecified', userId: 'x', connId: 'c7' }), false);
    assert.deepEqual(m.list(), [{ connId: 'c2', userId: 'bo' }]);
    m.clear();
    assert.equal(m.size, 0);
  });
});

describe('stats panel numbers', () => {
  const reading = (uptimeSec: number, messagesIn: number, publications: number, messagesOut: number): Health => ({
    connections: 3,
    rooms: 1,
    uptimeSec,
    messagesIn,
    publications,
    messagesOut,
  });

  it('reads /healthz, and refuses a body without the numbers it needs', () => {
    const body = {
      status: 'ok',
      connections: 3,
      rooms: 1,
      uptimeSec: 12.5,
      connectionsOpened: 9,
      messagesIn: 40,
      publications: 20,
      messagesOut: 60,
      bytesIn: 1,
      bytesOut: 2,
    };
    assert.deepEqual(parseHealth(body), reading(12.5, 40, 20, 60));
    assert.equal(parseHealth({ status: 'ok', connections: 3, rooms: 1 }), undefined, 'an older server');
    assert.equal(parseHealth({ ...body, rooms: '1' }), undefined);
    assert.equal(parseHealth(null), undefined);
    assert.equal(parseHealth('ok'), undefined);
  });

  it('turns two readings into rates over the server uptime between them', () => {
    assert.deepEqual(ratesBetween(reading(10, 100, 10, 50), reading(12, 160, 30, 150)), { messagesIn: 30, publications: 10, messagesOut: 50 });
    assert.equal(ratesBetween(reading(10, 100, 10, 50), reading(10, 100, 10, 50)), undefined, 'no time passed');
    assert.equal(ratesBetween(reading(500, 100, 10, 50), reading(2, 3, 1, 1)), undefined, 'the server restarted');
    assert.deepEqual(ratesBetween(reading(10, 100, 10, 50), reading(11, 90, 10, 50)), { messagesIn: 0, publications: 0, messagesOut: 0 }, 'never negative');
  });
});

describe('how the page words events', () => {
  const event = (e: Partial<RoomEvent>): RoomEvent => ({ room: 'r', seq: 1, timeUs: 0, connId: '', userId: '', fromSelf: false, ...e });

  it('names the publisher: you, a user, an anonymous connection, or the server', () => {
    assert.equal(publisher(event({ fromSelf: true, userId: 'al', connId: 'c1' })), 'al (you)');
    assert.equal(publisher(event({ fromSelf: true, connId: 'c1' })), 'you');
    assert.equal(publisher(event({ userId: 'al', connId: 'c1' })), 'al');
    assert.equal(publisher(event({ connId: 'c1' })), 'anonymous c1');
    assert.equal(publisher(event({})), 'server');
  });

  it('shows text as it is and bytes as a size and a hex preview', () => {
    assert.equal(payload(event({ text: '<b>hi</b>' })), '<b>hi</b>');
    assert.equal(payload(event({ data: new Uint8Array([0, 15, 255]) })), '[3 bytes] 00 0f ff');
    assert.equal(payload(event({ data: new Uint8Array(20).fill(1) })), `[20 bytes] ${Array(16).fill('01').join(' ')} …`);
  });

  it('formats times, rates and durations', () => {
    const t = new Date(2026, 0, 2, 3, 4, 5, 67).getTime() * 1000 + 890;
    assert.equal(clockTime(t), '03:04:05.067');
    assert.deepEqual([0, 0.25, 3.5, 42.4, 1234, 56_789].map(perSecond), ['0', '0.3', '3.5', '42', '1.2k', '57k']);
    assert.deepEqual([0, 59.9, 61, 3599, 3600, 7500].map(duration), ['0s', '59s', '1m 01s', '59m 59s', '1h 00m', '2h 05m']);
  });
});
