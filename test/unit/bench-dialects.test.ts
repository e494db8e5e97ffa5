/**
 * The load generator's readers of each peer's wire: they find the bench stamp in exactly the
 * frames the servers send (made here with the project's own encoders), tell welcomes and errors
 * apart, answer the Socket.IO handshake, and publish frames the server can decode.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FrameKindValue, FrameKind } from '../../bench/loadgen/dialect.js';
import { rawDialect } from '../../bench/loadgen/dialect-raw.js';
import { roomcastDialect } from '../../bench/loadgen/dialect-roomcast.js';
import { socketioDialect } from '../../bench/loadgen/dialect-socketio.js';
import { Opcode } from '../../bench/loadgen/frame.js';
import { makePayload, readStamp, type Stamp, writeStamp } from '../../bench/loadgen/payload.js';
import type { WsClient } from '../../bench/loadgen/wsclient.js';
import { decodeClientFrame } from '../../src/protocol/client-frame.js';
import { encodeJson, encodeProto } from '../../src/protocol/codec.js';
import { encodeEventJson, encodeEventProto } from '../../src/protocol/events.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { unmask } from '../bench-helpers.js';

const TIME = 123_456_789_012_345n;

function stamped(size: number, index = 77, room = 3): Buffer {
  const p = makePayload(size);
  writeStamp(p, TIME, index, room);
  return p;
}

/** A client that records what the dialect sends back. */
function fakeClient(): WsClient & { sent: string[] } {
  const sent: string[] = [];
  return { sent, socket: undefined as never, protocol: '', send: (_op, payload) => sent.push(String(payload)), close: () => {} };
}

function read(d: typeof rawDialect, opcode: number, frame: Buffer | string, client = fakeClient()): { kind: FrameKindValue; stamp: Stamp } {
  const buf = typeof frame === 'string' ? Buffer.from(frame) : frame;
  const stamp: Stamp = { timeNs: 0, index: 0, room: 0 };
  return { kind: d.read(client, opcode, buf, 0, buf.length, stamp), stamp };
}

describe('bench payload', () => {
  it('round-trips the stamp, including clocks past 2^32 ns', () => {
    const p = stamped(64, 0xfffffffe, 12);
    const s: Stamp = { timeNs: 0, index: 0, room: 0 };
    readStamp(p, 0, s);
    assert.deepEqual(s, { timeNs: Number(TIME), index: 0xfffffffe, room: 12 });
    assert.throws(() => makePayload(15), /at least|>= 16/);
  });
});

describe('bench dialect: roomcast', () => {
  for (const size of [16, 64, 4096]) {
    it(`reads the stamp of a protobuf event with a ${size} B payload`, () => {
      const frame = Buffer.from(encodeEventProto({ room: 'r3', seq: 300, timeUs: Date.now() * 1000, data: stamped(size), connId: 'abc-1', userId: 'ada' }));
      const { kind, stamp } = read(roomcastDialect, Opcode.binary, frame);
      assert.equal(kind, FrameKind.event);
      assert.deepEqual(stamp, { timeNs: Number(TIME), index: 77, room: 3 });
    });

    it(`reads the stamp of a JSON event with a ${size} B payload`, () => {
      const frame = encodeEventJson({ room: 'r3', seq: 300, timeUs: Date.now() * 1000, data: stamped(size), connId: 'abc-1', userId: 'ada' });
      const { kind, stamp } = read(roomcastDialect, Opcode.text, frame);
      assert.equal(kind, FrameKind.event);
      assert.deepEqual(stamp, { timeNs: Number(TIME), index: 77, room: 3 });
    });
  }

  it('tells welcomes, errors and replies apart in both encodings', () => {
    const cases: Array<[object, FrameKindValue]> = [
      [{ welcome: { connId: 'x-1', rooms: [{ room: 'r0', seq: 4 }], maxPayloadBytes: 16384 } }, FrameKind.welcome],
      [{ id: 5, error: { code: ErrorCode.ERROR_CODE_RATE_LIMITED, message: 'slow down' } }, FrameKind.error],
      [{ id: 5, publish: { room: 'r0', seq: 9 } }, FrameKind.other],
      [{ event: { room: 'r0', seq: 1, text: 'no data' } }, FrameKind.other],
    ];
    for (const [message, want] of cases) {
      const proto = Buffer.from(encodeProto('ServerMessage', message));
      assert.equal(read(roomcastDialect, Opcode.binary, proto).kind, want, `proto ${JSON.stringify(message)}`);
      assert.equal(read(roomcastDialect, Opcode.text, encodeJson('ServerMessage', message)).kind, want, `json ${JSON.stringify(message)}`);
    }
  });

  it('publishes a frame the server decodes to the same payload, without the sender', () => {
    const payload = stamped(100);
    const frames = roomcastDialect.publish('r3', payload, 9);
    assert.equal(frames.length, 1);
    const { opcode, payload: bytes } = unmask(frames[0] as Buffer);
    assert.equal(opcode, Opcode.binary);
    const cmd = decodeClientFrame(bytes, true);
    assert.equal(cmd.command, 'publish');
    assert.equal(cmd.id, 9);
    assert.equal(cmd.message.publish?.room, 'r3');
    assert.equal(cmd.message.publish.excludeSelf, true);
    assert.ok(Buffer.from(cmd.message.publish.data ?? []).equals(payload));
    assert.deepEqual(roomcastDialect.member('r3', 'json'), { path: '/rooms/r3', protocol: 'roomcast.v1.json' });
  });
});

describe('bench dialect: bare uWS and ws', () => {
  it('takes a binary frame as the payload and a text frame as the welcome', () => {
    const { kind, stamp } = read(rawDialect, Opcode.binary, stamped(64));
    assert.equal(kind, FrameKind.event);
    assert.equal(stamp.index, 77);
    assert.equal(read(rawDialect, Opcode.text, 'welcome').kind, FrameKind.welcome);
    assert.ok(unmask(rawDialect.publish('r0', stamped(64), 1)[0] as Buffer).payload.equals(stamped(64)));
  });
});

describe('bench dialect: Socket.IO', () => {
  it('answers the Engine.IO open and pings, and spots the welcome and connect errors', () => {
    const client = fakeClient();
    assert.equal(read(socketioDialect, Opcode.text, '0{"sid":"a","upgrades":[],"pingInterval":25000}', client).kind, FrameKind.other);
    assert.equal(read(socketioDialect, Opcode.text, '2', client).kind, FrameKind.other);
    assert.deepEqual(client.sent, ['40', '3']);
    assert.equal(read(socketioDialect, Opcode.text, '40{"sid":"b"}').kind, FrameKind.other);
    assert.equal(read(socketioDialect, Opcode.text, '42["welcome"]').kind, FrameKind.welcome);
    assert.equal(read(socketioDialect, Opcode.text, '44{"message":"no"}').kind, FrameKind.error);
    assert.equal(read(socketioDialect, Opcode.text, '451-["event",{"_placeholder":true,"num":0}]').kind, FrameKind.other);
    const { kind, stamp } = read(socketioDialect, Opcode.binary, stamped(64));
    assert.equal(kind, FrameKind.event);
    assert.equal(stamp.room, 3);
  });

  it('publishes a binary event: a header frame, then the payload', () => {
    const [head, body] = socketioDialect.publish('r0', stamped(64), 1).map((f) => unmask(f));
    assert.equal(head?.opcode, Opcode.text);
    assert.equal(head.payload.toString(), '451-["publish",{"_placeholder":true,"num":0}]');
    assert.equal(body?.opcode, Opcode.binary);
    assert.ok(body.payload.equals(stamped(64)));
  });
});
