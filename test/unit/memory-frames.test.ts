/**
 * The memory broker keeps its own copy of each stored frame: the event encoder hands out a view
 * into a reused buffer, and Buffer#slice (unlike Uint8Array#slice) does not copy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryBroker } from '../../src/broker/broker-memory.js';
import { decodeProto } from '../../src/protocol/codec.js';

describe('memory broker history frames', () => {
  it('a stored frame is still its own event after later publishes', async () => {
    const b = createMemoryBroker();
    await b.start({ deliver: () => {}, presence: () => {}, reset: () => {} });
    for (const text of ['first', 'a much longer second event text'])
      await b.publish({ room: 'r', timeUs: Date.now() * 1000, text, connId: '', userId: '', excludeSelf: false });
    const read = await b.history('r', { limit: 10, reverse: false });
    assert.deepEqual(
      read.events.map((e) => decodeProto('ServerMessage', e.frame).event?.text),
      ['first', 'a much longer second event text'],
    );
    await b.close();
  });
});
