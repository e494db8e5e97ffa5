/**
 * The JSON reader's `ignoreUnknownFields`, which the client SDK uses so that a newer server
 * (new fields, new enum values, new message kinds) does not break an older client; and the
 * default, which stays strict for the server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJson } from '../../src/protocol/codec.js';
import { ErrorCode, ProtocolError } from '../../src/protocol/errors.js';
import { JsonShapeError, readProto3Json } from '../../src/protocol/json-read.js';

describe('ignoreUnknownFields', () => {
  const newer = {
    id: 3,
    error: { code: 'ERROR_CODE_FROM_THE_FUTURE', message: 'new', retryAfterMs: 5 },
    futureTopLevel: { anything: [1, 2] },
  };

  it('is off by default: unknown fields and enum names are errors', () => {
    assert.throws(() => readProto3Json('ServerMessage', newer), JsonShapeError);
    assert.throws(() => readProto3Json('ServerMessage', { error: { code: 'ERROR_CODE_FROM_THE_FUTURE' } }), /unknown enum value/);
  });

  it('skips unknown fields at any depth and reads unknown enum names as 0', () => {
    assert.deepEqual(readProto3Json('ServerMessage', newer, { ignoreUnknownFields: true }), { id: 3, error: { code: 0, message: 'new' } });
  });

  it('still refuses what is wrong rather than unknown', () => {
    assert.throws(() => readProto3Json('ServerMessage', { id: 'x' }, { ignoreUnknownFields: true }), /expected an integer/);
    assert.throws(() => readProto3Json('ServerMessage', { echo: { text: 'a', data: 'YQ==' } }, { ignoreUnknownFields: true }), /only one of payload/);
  });

  it('reaches decodeServerMessage: a message kind this build does not know decodes to no kind', () => {
    const frame = '{"id":7,"historyReply":{"events":[]}}';
    assert.throws(
      () => decodeJson('ServerMessage', frame),
      (e: Error) => e instanceof ProtocolError && e.code === ErrorCode.ERROR_CODE_MALFORMED_FRAME,
    );
    const m = decodeJson('ServerMessage', frame, { ignoreUnknownFields: true });
    assert.equal(m.id, 7);
    assert.deepEqual(
      Object.keys(m).filter((k) => (m as Record<string, unknown>)[k] != null),
      ['id'],
    );
  });
});
