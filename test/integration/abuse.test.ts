/**
 * Bad input: each gets its documented error or close code, and the server keeps serving the
 * other clients, losing nothing they were sent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/protocol/errors.js';
import { httpRequest, startServer, TestClient, type TestServer, withTimeout } from '../helpers.js';

let srv: TestServer;
let bystander: TestClient;
let published = 0;

before(async () => {
  srv = await startServer({ maxBadFrames: 5, maxFrameBytes: 32 * 1024, maxPayloadBytes: 8 * 1024 });
  bystander = await TestClient.connect(srv.url('/rooms/bystanders'), 'json');
});
after(async () => {
  // Everything published to the bystander's room while others misbehaved arrived, in order.
  const evs = await bystander.events('bystanders', published);
  assert.deepEqual(
    evs.map((e) => e?.seq),
    Array.from({ length: published }, (_, i) => i + 1),
  );
  bystander.close();
  await srv.close();
});

/** Publishes into the bystander's room from the HTTP API and checks the server still answers. */
async function serverStillServes(): Promise<void> {
  const res = await httpRequest(srv.http, 'POST', '/api/rooms/bystanders/publish', { body: JSON.stringify({ text: `after ${published}` }) });
  assert.equal(res.status, 200);
  published += 1;
  const r = await bystander.request({ echo: { text: 'ok?' } });
  assert.equal(r.echo?.text, 'ok?');
}

describe('malformed frames', () => {
  it('malformed protobuf gets ERROR_CODE_MALFORMED_FRAME and the connection lives on', async () => {
    const c = await TestClient.connect(srv.url(), 'proto');
    c.ws.send(new Uint8Array([0x08, 0x05, 0x12, 0x50, 0x01])); // id 5, then field 2 claiming 80 bytes
    const err = await c.waitFor((m) => m.error != null, 'error');
    assert.equal(err.error?.code, ErrorCode.ERROR_CODE_MALFORMED_FRAME);
    assert.equal(err.id, 5, 'the request id is recovered from a broken frame');
    const ok = await c.request({ echo: { text: 'fine' } });
    assert.equal(ok.echo?.text, 'fine');
    c.close();
    await serverStillServes();
  });

  it('malformed JSON and wrong types get ERROR_CODE_MALFORMED_FRAME naming the problem', async () => {
    const c = await TestClient.connect(srv.url(), 'json');
    const cases: Array<[number, string, RegExp]> = [
      [101, '{"id": 101, "echo": ', /not JSON/], // the id is read from the start even of broken JSON
      [102, '{"id": 102, "join": {"room": 42}}', /join\.room: expected a string/],
      [103, '{"id": 103, "join": {"room": "a", "colour": 5}, "echo": {}}', /only one of command/],
      [104, '{"id": 104, "publish": {"room": "a", "text": "x", "data": "eA=="}}', /only one of payload/],
      [105, '{"id": 105, "echo": {"data": "not base64!"}}', /expected base64/],
      [0, '[1, 2, 3]', /expected an object/],
    ];
    for (const [id, frame, why] of cases) {
      const before = c.received.length;
      c.ws.send(frame);
      const err = await c.waitFor((m) => c.received.indexOf(m) >= before && m.error != null, `error for ${frame}`);
      assert.equal(err.error?.code, ErrorCode.ERROR_CODE_MALFORMED_FRAME, frame);
      assert.match(err.error.message ?? '', why);
      assert.equal(err.id, id, 'the error carries the request id when it can be read');
      // Good frames in between keep the connection under the bad-frame limit.
      assert.equal((await c.request({ echo: { text: 'x' } })).echo?.text, 'x');
    }
    c.close();
    await serverStillServes();
  });

  it('accepts the original proto field names in JSON too (exclude_self)', async () => {
    const c = await TestClient.connect(srv.url('/rooms/snake'), 'json');
    c.ws.send('{"id": 9, "publish": {"room": "snake", "text": "x", "exclude_self": true}}');
    const r = await c.waitFor((m) => m.id === 9, 'reply');
    assert.equal(r.publish?.seq, 1);
    assert.equal(c.eventsSoFar('snake').length, 0, 'excluded from its own event');
    c.close();
  });

  it(`closes with ${CloseCode.CLOSE_CODE_PROTOCOL_ABUSE} after maxBadFrames malformed frames in a row`, async () => {
    const c = await TestClient.connect(srv.url(), 'proto');
    for (let i = 0; i < 5; i++) c.ws.send(new Uint8Array([0xff, 0xff, 0xff]));
    const closed = await withTimeout(c.closed, 5000, 'close');
    assert.equal(closed.code, CloseCode.CLOSE_CODE_PROTOCOL_ABUSE);
    assert.match(closed.reason, /5 malformed frames/);
    assert.equal(c.received.filter((m) => m.error?.code === ErrorCode.ERROR_CODE_MALFORMED_FRAME).length, 4, 'an error for each frame before the last');
    await serverStillServes();
  });
});

describe('text frames that are not UTF-8', () => {
  // uWS.js checks UTF-8 itself and drops the connection before the message handler runs; the
  // server sees only a 1006 close with uWS's reason, and counts it. README says exactly this.
  const sequences: Array<[string, number[]]> = [
    ['a stray ff', [0xff]],
    ['an overlong NUL (c0 80)', [0xc0, 0x80]],
    ['a surrogate (ed a0 80)', [0xed, 0xa0, 0x80]],
    ['a truncated euro sign (e2 82)', [0xe2, 0x82]],
    ['a valid command with a bad byte inside', [...Buffer.from('{"id":1,"echo":{"text":"'), 0xff, ...Buffer.from('"}}')]],
  ];
  for (const encoding of ['proto', 'json'] as const) {
    for (const [what, bytes] of sequences) {
      it(`${encoding} connection, ${what}: cut by uWS (the client sees 1006, no reply), counted as invalid_utf8`, async () => {
        const c = await TestClient.connect(srv.url(), encoding);
        const before = srv.server.stats.cutoffs.invalid_utf8;
        const received = c.received.length;
        c.ws.send(Buffer.from(bytes), { binary: false });
        const closed = await withTimeout(c.closed, 5000, 'close');
        assert.equal(closed.code, 1006, 'no close frame');
        assert.equal(c.received.length, received, 'no error reply: the server never saw the frame');
        await serverStillServes();
        assert.equal(srv.server.stats.cutoffs.invalid_utf8, before + 1);
      });
    }
  }

  it('is in /metrics and documented as it happens (close table, the unreadable-frames sentence)', async () => {
    const res = await httpRequest(srv.http, 'GET', '/metrics');
    assert.match(res.body.toString(), /^roomcast_cutoffs_total\{cause="invalid_utf8"\} [1-9]\d*$/m);
    const doc = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
    const codes = doc('docs/protocol.md');
    const row = codes.split('\n').find((l) => l.startsWith('| 1006 |')) ?? '';
    assert.match(row, /not valid UTF-8/, 'the close table has a 1006 row naming invalid UTF-8');
    assert.match(row, /roomcast_cutoffs_total/);
    for (const text of [codes, doc('README.md')]) {
      assert.match(text, /A frame the server cannot read at all still gets an error[^.]*,\s+except [^.]*not valid UTF-8/, 'the sentence names the exception');
    }
    assert.match(doc('docs/metrics.md'), /\| `roomcast_cutoffs_total` \|[^\n]*`invalid_utf8`/);
  });
});

describe('sizes', () => {
  it(`a frame over maxFrameBytes closes with ${CloseCode.CLOSE_CODE_MESSAGE_TOO_BIG}`, async () => {
    const c = await TestClient.connect(srv.url(), 'proto');
    c.ws.send(new Uint8Array(32 * 1024 + 1));
    const closed = await withTimeout(c.closed, 5000, 'close');
    assert.equal(closed.code, CloseCode.CLOSE_CODE_MESSAGE_TOO_BIG);
    assert.match(closed.reason, /exceeds maxFrameBytes/);
    await serverStillServes();
  });

  it('a frame over twice maxFrameBytes is cut by uWS without a close frame (1006)', async () => {
    const c = await TestClient.connect(srv.url(), 'proto');
    c.ws.send(new Uint8Array(64 * 1024 + 1));
    const before = srv.server.stats.cutoffs.frame_too_big;
    const closed = await withTimeout(c.closed, 5000, 'close');
    assert.equal(closed.code, 1006);
    await serverStillServes();
    assert.equal(srv.server.stats.cutoffs.frame_too_big, before + 1, 'counted as cause frame_too_big');
  });

  it('a payload over maxPayloadBytes in an acceptable frame gets ERROR_CODE_PAYLOAD_TOO_LARGE', async () => {
    const c = await TestClient.connect(srv.url(), 'json');
    const r = await c.request({ echo: { text: 'x'.repeat(8 * 1024 + 1) } });
    assert.equal(r.error?.code, ErrorCode.ERROR_CODE_PAYLOAD_TOO_LARGE);
    c.close();
    await serverStillServes();
  });
});
