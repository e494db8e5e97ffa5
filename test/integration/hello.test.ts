/**
 * The tutorial's hello world, in both encodings: welcome, echo, unknown command, close.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, ErrorCode } from '../../src/protocol/errors.js';
import { refusedUpgrade, startServer, TestClient, type TestServer } from '../helpers.js';

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.close();
});

for (const encoding of ['proto', 'json'] as const) {
  describe(`hello world over ${encoding}`, () => {
    it('greets with a Welcome carrying the connection id', async () => {
      const c = await TestClient.connect(srv.url(), encoding);
      const welcome = c.received[0]?.welcome;
      assert.ok(welcome, 'first message is the welcome');
      assert.match(welcome.connId ?? '', /^[0-9a-f]{8}-[0-9a-z]+$/);
      assert.deepEqual(welcome.rooms, []);
      assert.equal(c.binary[0], encoding === 'proto', 'frame type follows the negotiated encoding');
      c.close();
    });

    it('answers echo with the same text and the same bytes', async () => {
      const c = await TestClient.connect(srv.url(), encoding);
      const r1 = await c.request({ echo: { text: 'hello, wörld ✓' } });
      assert.equal(r1.echo?.text, 'hello, wörld ✓');
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      const r2 = await c.request({ echo: { data: bytes } });
      assert.deepEqual(new Uint8Array(r2.echo?.data ?? []), bytes);
      c.close();
    });

    it('answers an echo with no payload with an echo with no payload', async () => {
      const c = await TestClient.connect(srv.url(), encoding);
      const r = await c.request({ echo: {} });
      assert.deepEqual(r.echo, {}, 'neither text nor data is set');
      const empty = await c.request({ echo: { text: '' } });
      assert.equal(empty.echo?.text, '', 'an empty text is echoed as an empty text');
      c.close();
    });

    it('answers an unknown command with ERROR_CODE_UNKNOWN_COMMAND and stays open', async () => {
      const c = await TestClient.connect(srv.url(), encoding);
      if (encoding === 'json') {
        c.ws.send(JSON.stringify({ id: 7, frobnicate: { x: 1 } }));
      } else {
        // id = 7, then field 15 (a command number this server does not know), length 0.
        c.ws.send(new Uint8Array([0x08, 0x07, 0x7a, 0x00]));
      }
      const reply = await c.waitFor((m) => m.id === 7, 'error reply');
      assert.equal(reply.error?.code, ErrorCode.ERROR_CODE_UNKNOWN_COMMAND);
      assert.match(reply.error.message ?? '', encoding === 'json' ? /unknown command "frobnicate"/ : /unknown command/);
      const again = await c.request({ echo: { text: 'still here' } });
      assert.equal(again.echo?.text, 'still here');
      c.close();
    });

    it('skips unknown fields next to a known command and runs it (one rule in both encodings)', async () => {
      const c = await TestClient.connect(srv.url(), encoding);
      if (encoding === 'json') {
        c.ws.send('{"id": 8, "traceId": "abc", "echo": {"text": "ran", "lang": "en"}}');
      } else {
        // ClientMessage{id 8, echo{text "ran"}} plus an unknown field 15 (length 1) at the top.
        c.ws.send(new Uint8Array([0x08, 0x08, 0x7a, 0x01, 0x00, 0x12, 0x05, 0x0a, 0x03, 0x72, 0x61, 0x6e]));
      }
      const reply = await c.waitFor((m) => m.id === 8, 'echo reply');
      assert.equal(reply.echo?.text, 'ran');
      c.close();
    });

    it('an empty command also gets ERROR_CODE_UNKNOWN_COMMAND', async () => {
      const c = await TestClient.connect(srv.url(), encoding);
      const reply = await c.request({});
      assert.equal(reply.error?.code, ErrorCode.ERROR_CODE_UNKNOWN_COMMAND);
      c.close();
    });

    it('close: replies, then closes with 1000', async () => {
      const c = await TestClient.connect(srv.url(), encoding);
      const id = c.send({ close: { reason: 'bye' } });
      const closed = await c.closed;
      assert.equal(closed.code, CloseCode.CLOSE_CODE_NORMAL);
      assert.equal(closed.reason, 'closed on request');
      assert.ok(
        c.received.some((m) => m.id === id && m.close != null),
        'the CloseReply arrived before the close',
      );
    });
  });
}

describe('encoding negotiation', () => {
  it('uses protobuf when no subprotocol is offered (the default)', async () => {
    const c = await TestClient.connect(srv.url(), 'none');
    assert.equal(c.ws.protocol, '');
    assert.equal(c.binary[0], true);
    c.close();
  });

  it('uses JSON when configured as the default', async () => {
    const other = await startServer({ defaultEncoding: 'json' });
    try {
      const c = await TestClient.connect(other.url(), 'none');
      assert.equal(c.binary[0], false);
      c.close();
    } finally {
      await other.close();
    }
  });

  it('picks the first known subprotocol from the offered list', async () => {
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(srv.url(), ['chat', 'roomcast.v1.json', 'roomcast.v1.proto']);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    assert.equal(ws.protocol, 'roomcast.v1.json');
    ws.close();
  });

  it('refuses a handshake that offers only unknown subprotocols, with an Error body', async () => {
    const { status, body } = await refusedUpgrade(srv.url(), ['mqtt', 'chat']);
    assert.equal(status, 400);
    const err = JSON.parse(body) as { code: string; message: string };
    assert.equal(err.code, 'ERROR_CODE_BAD_REQUEST');
    assert.match(err.message, /roomcast\.v1\.proto/);
  });

  it('accepts a frame in the other encoding and replies in the connection encoding', async () => {
    const c = await TestClient.connect(srv.url(), 'proto');
    const r = await c.request({ echo: { text: 'sent as JSON' } }, 'json');
    assert.equal(r.echo?.text, 'sent as JSON');
    assert.equal(c.binary.at(-1), true, 'reply is binary protobuf');
    c.close();
  });
});
