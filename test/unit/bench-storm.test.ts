/**
 * The recovery storm's reading of roomcast's wire (bench/loadgen/storm-wire.ts) against frames
 * the project's own encoder makes, and the storm's derived settings (bench/harness/storm.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stormFlags, stormId, stormRate } from '../../bench/harness/storm.js';
import { publishFrame, readStormFrame, rejoinMessage, wasRecovered } from '../../bench/loadgen/storm-wire.js';
import type { StormPlan } from '../../bench/types.js';
import { decodeProto, encodeProto } from '../../src/protocol/codec.js';
import type { ServerMessage } from '../../src/protocol/types.js';
import { roomcast } from '../../src/gen/roomcast.js';
import { unmask } from '../bench-helpers.js';

const read = (m: ServerMessage) => {
  const bytes = Buffer.from(encodeProto('ServerMessage', m));
  // At an offset inside a larger buffer, as frames sit in a socket's chunk.
  const buf = Buffer.concat([Buffer.from([9, 9, 9]), bytes, Buffer.from([7])]);
  return readStormFrame(buf, 3, 3 + bytes.length);
};

describe('recovery storm wire', () => {
  it('reads each event seq, large ones too, whatever the field order around it', () => {
    for (const seq of [0, 1, 127, 128, 300_000, 2 ** 40]) {
      const f = read({ event: { room: 'storm', seq, timeUs: 123, data: new Uint8Array(64), connId: 'c1' } });
      assert.deepEqual(f, { kind: 'event', seq });
    }
  });

  it('reads the welcome, the JoinReply, the publish reply, a stream reset and an error', () => {
    assert.deepEqual(read({ welcome: { connId: 'abc', rooms: [{ room: 'storm', seq: 12, epoch: 'e1' }] } }), {
      kind: 'welcome',
      connId: 'abc',
      epoch: 'e1',
      seq: 12,
    });
    assert.deepEqual(read({ welcome: { connId: 'xyz' } }), { kind: 'welcome', connId: 'xyz', epoch: '', seq: 0 });
    const join = read({
      id: 5,
      join: { room: 'storm', seq: 40, epoch: 'e1', recovered: true, missed: 7, recovery: roomcast.v1.RecoveryResult.RECOVERY_RESULT_RECOVERED },
    });
    assert.deepEqual(join, { kind: 'join', id: 5, epoch: 'e1', seq: 40, recovered: true, missed: 7, recovery: 1 });
    assert.equal(wasRecovered(join), true);
    const tooOld = read({
      id: 6,
      join: { room: 'storm', seq: 40, epoch: 'e1', recovered: false, recovery: roomcast.v1.RecoveryResult.RECOVERY_RESULT_TOO_OLD },
    });
    assert.ok(tooOld.kind === 'join');
    assert.equal(wasRecovered(tooOld), false);
    assert.deepEqual(read({ id: 9, publish: { room: 'storm', seq: 41 } }), { kind: 'publish', id: 9, seq: 41 });
    assert.deepEqual(read({ streamReset: { room: 'storm', epoch: 'e2', seq: 3 } }), { kind: 'reset', epoch: 'e2', seq: 3 });
    const err = read({ id: 4, error: { code: roomcast.v1.ErrorCode.ERROR_CODE_BAD_ROOM_NAME, message: 'no' } });
    assert.equal(err.kind, 'error');
  });

  it('writes the rejoin and the publish as the server reads them', () => {
    const join = decodeProto('ClientMessage', rejoinMessage(3, 'storm', { epoch: 'e1', seq: 99 }, 'old-conn'));
    assert.equal(join.id, 3);
    assert.deepEqual([join.join?.room, join.join?.since?.epoch, join.join?.since?.seq, join.join?.previousConnId], ['storm', 'e1', 99, 'old-conn']);
    const { opcode, payload } = unmask(publishFrame(8, 'storm', new Uint8Array([1, 2, 3])));
    assert.equal(opcode, 2);
    const pub = decodeProto('ClientMessage', payload);
    assert.deepEqual([pub.id, pub.publish?.room, [...(pub.publish?.data ?? [])], pub.publish?.excludeSelf], [8, 'storm', [1, 2, 3], true]);
  });
});

describe('recovery storm settings', () => {
  const plan: StormPlan = { sockets: [10_000], brokers: ['memory'], rate: undefined, deliveriesPerSec: 50_000, payloadBytes: 64, beforeSec: 7, receivers: 0 };

  it('derives the rate from the deliveries, within bounds, unless --rate set it', () => {
    assert.equal(stormRate(plan, 2000), 25);
    assert.equal(stormRate(plan, 10_000), 10, 'at least 10 publishes/s');
    assert.equal(stormRate(plan, 6), 1000, 'at most 1000 publishes/s');
    assert.equal(stormRate({ ...plan, rate: 40 }, 10_000), 40);
  });

  it('names storms and gives roomcast a history that outlasts them, on the chosen broker', () => {
    assert.equal(stormId(10_000, 'redis'), 'storm-10k-redis');
    assert.equal(stormId(6, 'memory'), 'storm-6-memory');
    assert.deepEqual(stormFlags(10, undefined, 'p:'), ['--history', '*/6000/600']);
    assert.deepEqual(stormFlags(1, 'redis://127.0.0.1:7000', 'p:'), [
      '--history',
      '*/1000/600',
      '--broker',
      'redis',
      '--redis-url',
      'redis://127.0.0.1:7000',
      '--redis-prefix',
      'p:',
    ]);
  });
});
