/**
 * Property-based, against a live server: arbitrary bytes and arbitrary JSON, sent as binary and
 * as text frames. Every frame gets a documented answer (a reply, or an Error with a documented
 * code other than INTERNAL) or a documented close; the server stays up; a member of another
 * room receives every event published to it meanwhile. FUZZ_RUNS=100000 for a long run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ServerMessage } from '../../src/protocol/types.js';
import { CloseCode, ErrorCode } from '../../src/protocol/errors.js';
import { anyBytes, commandLikeJson, fuzzRuns, fuzzSeed, mutatedProto } from '../fuzz-helpers.js';
import { httpRequest, startServer, TestClient, type TestServer, withTimeout } from '../helpers.js';

const ERROR_CODES = new Set(
  Object.values(ErrorCode).filter(
    (v): v is ErrorCode => typeof v === 'number' && v !== ErrorCode.ERROR_CODE_UNSPECIFIED && v !== ErrorCode.ERROR_CODE_INTERNAL,
  ),
);
/** Close codes a frame may earn: the close command, uWS's cut-off (bad UTF-8, too big), 1009, 4500. */
const CLOSE_CODES = new Set([CloseCode.CLOSE_CODE_NORMAL, 1006, CloseCode.CLOSE_CODE_MESSAGE_TOO_BIG, CloseCode.CLOSE_CODE_PROTOCOL_ABUSE]);
const utf8 = new TextDecoder('utf-8', { fatal: true });

const MAX_FRAME = 4096;
let srv: TestServer;
let bystander: TestClient;
let published = 0;
let sentinel = 4_000_000_000;
let fuzzer: TestClient | undefined;

before(async () => {
  // No frame rate limit (the fuzzer sends two frames per case, fast); everything else default.
  // The fuzzer reconnects after every close (1006 for bad UTF-8 among them): no connect-rate limit here.
  srv = await startServer({ rateLimitPerSec: 0, maxConnectsPerIpPerSec: 0, maxFrameBytes: MAX_FRAME, maxPayloadBytes: 1024 });
  bystander = await TestClient.connect(srv.url('/rooms/fuzz-bystander'), 'json');
});
after(async () => {
  fuzzer?.close();
  const evs = await bystander.events('fuzz-bystander', published, 10_000);
  assert.deepEqual(
    evs.map((e) => e?.seq),
    Array.from({ length: published }, (_, i) => i + 1),
    'the bystander lost nothing',
  );
  bystander.close();
  await srv.close();
});

function isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends one frame, then a valid echo with an id no fuzz frame uses, and checks what came back in
 * between: at least one answer, every error documented; or a documented close.
 */
async function sendOne(bytes: Uint8Array, isBinary: boolean): Promise<void> {
  fuzzer ??= await TestClient.connect(srv.url(), isBinary ? 'proto' : 'json');
  const c = fuzzer;
  const from = c.received.length;
  const utf8Cuts = srv.server.stats.cutoffs.invalid_utf8;
  c.ws.send(bytes, { binary: isBinary });
  sentinel += 1;
  const id = sentinel;
  c.send({ id, echo: { text: 'sentinel' } }, 'json');
  const outcome = await withTimeout(answerOrClose(c, from, id), 10_000, `sentinel ${id} or a close`);
  if (outcome === undefined) {
    const answers = c.received.slice(from).filter((m) => m.id !== id && m.event == null && m.presenceEvent == null);
    assert.ok(answers.length >= 1, 'the frame got an answer');
    for (const m of answers) checkAnswer(m);
  } else {
    fuzzer = undefined;
    assert.ok(CLOSE_CODES.has(outcome.code), `close ${outcome.code} ${outcome.reason}`);
    if (outcome.code === 1006 && bytes.length <= 2 * MAX_FRAME) {
      assert.ok(!isBinary && !isUtf8(bytes), 'below twice maxFrameBytes, only a text frame that is not UTF-8 is cut');
      assert.equal(srv.server.stats.cutoffs.invalid_utf8, utf8Cuts + 1, 'counted as invalid_utf8');
    }
    if (outcome.code === (CloseCode.CLOSE_CODE_MESSAGE_TOO_BIG as number)) assert.ok(bytes.length > MAX_FRAME, 'only a frame over maxFrameBytes gets 1009');
  }
}

/** Resolves once the sentinel's reply (undefined) or a close (its code) arrived; leaves no timer. */
function answerOrClose(c: TestClient, from: number, id: number): Promise<{ code: number; reason: string } | undefined> {
  const replied = (): boolean => c.received.slice(from).some((m) => m.id === id);
  if (replied()) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onMessage = (): void => {
      if (!replied()) return;
      cleanup();
      resolve(undefined);
    };
    const onClose = (code: number, reason: Buffer): void => {
      cleanup();
      resolve({ code, reason: reason.toString() });
    };
    const cleanup = (): void => {
      c.ws.off('message', onMessage);
      c.ws.off('close', onClose);
    };
    c.ws.on('message', onMessage);
    c.ws.on('close', onClose);
  });
}

function checkAnswer(m: ServerMessage): void {
  if (m.error != null) assert.ok(ERROR_CODES.has(m.error.code ?? ErrorCode.ERROR_CODE_UNSPECIFIED), `error ${String(m.error.code)} ${String(m.error.message)}`);
}

describe('live server fuzz', () => {
  const runs = fuzzRuns(150, 20);
  let round = 0;
  const check = async (bytes: Uint8Array, isBinary: boolean): Promise<void> => {
    await sendOne(bytes, isBinary);
    round += 1;
    if (round % 50 === 0) {
      const res = await httpRequest(srv.http, 'POST', '/api/rooms/fuzz-bystander/publish', { body: JSON.stringify({ text: `round ${round}` }) });
      assert.equal(res.status, 200, 'the server still serves');
      published += 1;
    }
  };

  it('arbitrary bytes as binary frames', async () => {
    await fc.assert(
      fc.asyncProperty(anyBytes, (b) => check(b, true)),
      { numRuns: runs, ...fuzzSeed() },
    );
  });

  it('arbitrary bytes as text frames', async () => {
    await fc.assert(
      fc.asyncProperty(anyBytes, (b) => check(b, false)),
      { numRuns: runs, ...fuzzSeed() },
    );
  });

  it('arbitrary JSON as text and as binary frames', async () => {
    await fc.assert(
      fc.asyncProperty(commandLikeJson, fc.boolean(), (v, isBinary) => check(Buffer.from(JSON.stringify(v)), isBinary)),
      { numRuns: runs * 2, ...fuzzSeed() },
    );
  });

  it('valid protobuf commands with bytes changed', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedProto, (b) => check(b, true)),
      { numRuns: runs, ...fuzzSeed() },
    );
  });
});
