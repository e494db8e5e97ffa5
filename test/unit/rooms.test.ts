/**
 * The room table and the in-process broker, without sockets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SequencedPublication } from '../../src/broker/broker.js';
import { createMemoryBroker } from '../../src/broker/broker-memory.js';
import { HistoryRules } from '../../src/config/history-rules.js';
import { Rooms, topicFor } from '../../src/server/rooms.js';

describe('Rooms', () => {
  it('opens a room on its first subscriber and closes it on its last, across both encodings', () => {
    const events: string[] = [];
    const rooms = new Rooms({ opened: (r) => events.push(`open ${r}`), closed: (r) => events.push(`close ${r}`) });
    rooms.topicCount(topicFor('a', 'proto'), 1);
    rooms.topicCount(topicFor('a', 'json'), 1);
    rooms.topicCount(topicFor('a', 'proto'), 2);
    assert.deepEqual(rooms.list(), [{ name: 'a', members: 3 }]);
    assert.deepEqual(rooms.get('a'), { name: 'a', protoTopic: 'p:a', jsonTopic: 'j:a', proto: 2, json: 1, held: 0 });
    rooms.topicCount(topicFor('a', 'proto'), 0);
    assert.equal(rooms.size, 1, 'a JSON member remains');
    rooms.topicCount(topicFor('a', 'json'), 0);
    assert.equal(rooms.size, 0);
    assert.equal(rooms.get('a'), undefined);
    assert.deepEqual(events, ['open a', 'close a']);
  });

  it('a hold keeps a room open without members until released', () => {
    const events: string[] = [];
    const rooms = new Rooms({ opened: (r) => events.push(`open ${r}`), closed: (r) => events.push(`close ${r}`) });
    rooms.hold('h');
    assert.deepEqual(events, ['open h']);
    rooms.topicCount(topicFor('h', 'proto'), 1);
    rooms.release('h');
    assert.deepEqual(events, ['open h'], 'a member remains');
    rooms.hold('h');
    rooms.topicCount(topicFor('h', 'proto'), 0);
    assert.deepEqual(events, ['open h'], 'the hold remains');
    rooms.release('h');
    rooms.release('h');
    assert.deepEqual(events, ['open h', 'close h']);
  });

  it('ignores topics it does not own, and zero counts for unknown rooms', () => {
    const rooms = new Rooms({ opened: () => assert.fail('opened'), closed: () => assert.fail('closed') });
    rooms.topicCount('other-topic', 3);
    rooms.topicCount(topicFor('ghost', 'json'), 0);
    assert.equal(rooms.size, 0);
  });

  it('room names may contain the prefix separator', () => {
    const rooms = new Rooms({ opened: () => {}, closed: () => {} });
    rooms.topicCount(topicFor('user:ada', 'json'), 1);
    assert.deepEqual(rooms.list(), [{ name: 'user:ada', members: 1 }]);
  });

  it('lists largest rooms first', () => {
    const rooms = new Rooms({ opened: () => {}, closed: () => {} });
    rooms.topicCount('p:small', 1);
    rooms.topicCount('p:big', 5);
    rooms.topicCount('j:mid', 3);
    assert.deepEqual(
      rooms.list().map((r) => r.name),
      ['big', 'mid', 'small'],
    );
  });
});

describe('memory broker', () => {
  it('without history: sequences per room, delivers synchronously, and forgets closed rooms (a new epoch)', async () => {
    const b = createMemoryBroker({ history: new HistoryRules([]) });
    const got: SequencedPublication[] = [];
    await b.start({ deliver: (p) => got.push(p), presence: () => {}, reset: () => {} });
    const pub = (room: string) => b.publish({ room, timeUs: 1, text: 't', connId: '', userId: '', excludeSelf: false });
    assert.equal(pub('a'), 0, 'no one has the room open');
    assert.equal(got.length, 0);
    b.roomOpened('a');
    b.roomOpened('b');
    assert.deepEqual([pub('a'), pub('a'), pub('b'), pub('a')], [1, 2, 1, 3]);
    assert.deepEqual(
      got.map((p) => `${p.room}${p.seq}`),
      ['a1', 'a2', 'b1', 'a3'],
    );
    const before = b.stream('a');
    assert.ok(!(before instanceof Promise));
    assert.equal(before.seq, 3);
    b.roomClosed('a');
    b.roomOpened('a');
    const after = b.stream('a');
    assert.ok(!(after instanceof Promise));
    assert.equal(after.seq, 0);
    assert.notEqual(after.epoch, before.epoch, 'a stream that starts over has a new epoch');
    assert.equal(pub('a'), 1, 'starts over');
    await b.close();
    assert.equal(pub('b'), 0, 'closed: delivers nothing');
  });
});
