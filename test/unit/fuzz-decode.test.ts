/**
 * Property-based: whatever bytes or JSON a client sends, the decoder either reads a
 * ClientMessage or refuses it with MALFORMED_FRAME; it never throws anything else, and the
 * best-effort request id of a refused frame is always a valid uint32. FUZZ_RUNS scales it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeClientFrame, readRequestId } from '../../src/protocol/client-frame.js';
import { ErrorCode, ProtocolError } from '../../src/protocol/errors.js';
import { anyBytes, commandLikeJson, fuzzRuns, fuzzSeed, mutatedProto } from '../fuzz-helpers.js';

const KNOWN = new Set([undefined, 'echo', 'join', 'leave', 'publish', 'close', 'connect', 'refresh', 'presence', 'presenceStats']);
const utf8 = new TextEncoder();

/** Decodes one frame and checks the outcome is one the README documents. */
function decodesOrRefuses(bytes: Uint8Array, isBinary: boolean): void {
  try {
    const d = decodeClientFrame(bytes, isBinary);
    assert.ok(KNOWN.has(d.command), `command ${String(d.command)}`);
    assert.ok(Number.isInteger(d.id) && d.id >= 0 && d.id < 2 ** 32, `id ${d.id}`);
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `threw ${String(err)}`);
    assert.equal(err.code, ErrorCode.ERROR_CODE_MALFORMED_FRAME, err.message);
  }
  const id = readRequestId(bytes, isBinary);
  assert.ok(Number.isInteger(id) && id >= 0 && id < 2 ** 32, `readRequestId ${id}`);
}

describe('decoder fuzz', () => {
  const runs = fuzzRuns(1000);
  it('arbitrary bytes, as a binary and as a text frame', () => {
    fc.assert(
      fc.property(anyBytes, fc.boolean(), (bytes, isBinary) => decodesOrRefuses(bytes, isBinary)),
      { numRuns: runs, ...fuzzSeed() },
    );
  });

  it('arbitrary JSON (and command-shaped JSON), as a text and as a binary frame', () => {
    fc.assert(
      fc.property(commandLikeJson, fc.boolean(), (value, isBinary) => decodesOrRefuses(utf8.encode(JSON.stringify(value)), isBinary)),
      { numRuns: runs, ...fuzzSeed() },
    );
  });

  it('valid protobuf commands with bytes changed, cut or appended', () => {
    fc.assert(
      fc.property(mutatedProto, (bytes) => decodesOrRefuses(bytes, true)),
      { numRuns: runs, ...fuzzSeed() },
    );
  });
});
