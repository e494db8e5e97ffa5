/**
 * The HTTP API against hostile requests, over raw TCP so the test controls every byte: bodies
 * that never end after a 413, ambiguous framing (request smuggling), media types in any case,
 * and the empty room name on the WebSocket route.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJson, decodeProto, encodeProto } from '../../src/protocol/codec.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { httpRequest, refusedUpgrade, sleep, startServer, TestClient, type TestServer, withTimeout } from '../helpers.js';

const KEY = 'test-key-0123456789abcdef';
let srv: TestServer;
before(async () => {
  srv = await startServer({ apiKey: KEY, maxPayloadBytes: 1024, maxFrameBytes: 4096 });
});
after(async () => {
  await srv.close();
});

/** A raw HTTP/1.1 connection: what came back, and a promise that settles when it closes. */
interface Raw {
  sock: Socket;
  text(): string;
  closed: Promise<void>;
}

function raw(port: number, head: string): Raw {
  const sock = connect(port, '127.0.0.1');
  let got = '';
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
  // A reset after the server's close is a close too (the kernel resets on unread data).
  sock.on('error', () => {});
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  sock.write(head);
  return { sock, text: () => got, closed };
}

/**
 * Streams chunked body data as fast as the server takes it, until the socket closes or `max`
 * bytes are written; returns bytes written. When the server stops reading, this waits (for a
 * drain that never comes) until the server closes the connection.
 */
async function streamChunks(r: Raw, max: number): Promise<number> {
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
  let written = 0;
  let open = true as boolean; // a callback clears it
  void r.closed.then(() => (open = false));
  while (open && written < max) {
    written += frame.length;
    if (!r.sock.write(frame)) await Promise.race([new Promise((res) => r.sock.once('drain', res)), r.closed]);
  }
  return written;
}

const auth = `Authorization: Bearer ${KEY}\r\n`;

/** More than any test body: a server that reads the whole stream fails. */
const ENDLESS = 512 * 1024 * 1024;

/**
 * Streams a chunked body until the server closes the connection. Fails if the server reads it
 * all (it must stop reading after its reply: then only the kernel's buffers, a few MB, fill) or
 * never closes (uWS closes a connection it no longer reads after its HTTP idle timeout, 10 s,
 * checked in 4 s steps).
 */
async function closedWhileStreaming(r: Raw, what: string): Promise<number> {
  const written = await withTimeout(streamChunks(r, ENDLESS), 25_000, `${what}: the server to close the connection`);
  assert.ok(written < 64 * 1024 * 1024, `${what}: the server read ${written} bytes after its reply instead of stopping`);
  await withTimeout(r.closed, 5000, `${what}: close`);
  assert.match(r.text(), /\r\nconnection: close\r\n/i, `${what}: the reply says Connection: close`);
  return written;
}

// Each waits for uWS's idle timeout: run them side by side.
describe('a reply before the body ends stops reading and closes the connection', { concurrency: true }, () => {
  it('413 on a chunked upload that keeps streaming: the answer arrives and the socket closes', async () => {
    const member = await TestClient.connect(srv.url('/rooms/big'), 'proto');
    const r = raw(srv.port, `POST /api/rooms/big/publish HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\n`);
    const written = await closedWhileStreaming(r, '413');
    console.log(`# the client wrote ${written} bytes before the server stopped reading`);
    assert.match(r.text(), /^HTTP\/1\.1 413 /);
    assert.match(r.text(), /ERROR_CODE_PAYLOAD_TOO_LARGE/);
    assert.ok(srv.server.stats.httpClosed.unread_body >= 1, 'counted in roomcast_http_closed_total{reason="unread_body"}');
    await sleep(50);
    assert.equal(member.eventsSoFar('big').length, 0, 'nothing was published');
    member.close();
  });

  it('413 at once for a declared Content-Length over the limit, and the socket closes', async () => {
    const r = raw(srv.port, `POST /api/rooms/big/publish HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 104857600\r\n\r\n`);
    r.sock.write(Buffer.alloc(1024, 0x61));
    await sleep(200);
    assert.match(r.text(), /^HTTP\/1\.1 413 /, 'answered before the body came');
    await withTimeout(r.closed, 20_000, 'close after the 413');
  });

  it('401 on a body route while the body streams: answered and closed', async () => {
    const r = raw(srv.port, 'POST /api/rooms/big/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    await closedWhileStreaming(r, '401');
    assert.match(r.text(), /^HTTP\/1\.1 401 /);
  });

  it('404 and 405 for a request with a body close; a complete request keeps the connection', async () => {
    const r404 = raw(srv.port, 'POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    const r405 = raw(srv.port, 'PUT /api/rooms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    await Promise.all([closedWhileStreaming(r404, '404'), closedWhileStreaming(r405, '405')]);
    assert.match(r404.text(), /^HTTP\/1\.1 404 /);
    assert.match(r405.text(), /^HTTP\/1\.1 405 /);
    // Keep-alive is untouched for requests read to the end, even when they fail.
    const body = '{"text":5}';
    const ok = raw(srv.port, `POST /api/rooms/k/publish HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${body.length}\r\n\r\n${body}`);
    await sleep(200);
    assert.match(ok.text(), /^HTTP\/1\.1 400 /);
    ok.sock.write(`GET /api/rooms HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
    await sleep(200);
    assert.match(ok.text(), /HTTP\/1\.1 200 OK/, 'a second request on the same connection is answered');
    ok.sock.destroy();
  });
});

describe('ambiguous framing (request smuggling) is refused', () => {
  it('two different Content-Length headers: 400, closed, nothing published', async () => {
    const member = await TestClient.connect(srv.url('/rooms/smuggle'), 'proto');
    const body = '{"text":"a"}{"text":"b"}';
    const r = raw(
      srv.port,
      `POST /api/rooms/smuggle/publish HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 12\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    await withTimeout(r.closed, 5000, 'close after the 400');
    assert.match(r.text(), /^HTTP\/1\.1 400 /);
    assert.match(r.text(), /conflicting Content-Length/);
    assert.equal(srv.server.stats.httpClosed.bad_framing, 1, 'counted in roomcast_http_closed_total{reason="bad_framing"}');
    await sleep(50);
    assert.equal(member.eventsSoFar('smuggle').length, 0);
    member.close();
  });

  it('Content-Length with Transfer-Encoding: never processed, connection closed', async () => {
    const member = await TestClient.connect(srv.url('/rooms/smuggle2'), 'proto');
    const r = raw(
      srv.port,
      `POST /api/rooms/smuggle2/publish HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\nc\r\n{"text":"a"}\r\n0\r\n\r\n`,
    );
    await withTimeout(r.closed, 5000, 'close');
    // uWS v20.30's parser drops this request itself, before any handler: no status line at all.
    assert.doesNotMatch(r.text(), /HTTP\/1\.1 200/);
    await sleep(50);
    assert.equal(member.eventsSoFar('smuggle2').length, 0);
    member.close();
  });

  it('the same Content-Length twice is one length (RFC 9112): published', async () => {
    const body = '{"text":"same"}';
    const r = raw(
      srv.port,
      `POST /api/rooms/twice/publish HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${body.length}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    await sleep(200);
    assert.match(r.text(), /^HTTP\/1\.1 200 /);
    r.sock.destroy();
  });
});

describe('media types are case-insensitive', () => {
  it('APPLICATION/X-PROTOBUF with parameters is protobuf, in Content-Type and in Accept', async () => {
    const c = await TestClient.connect(srv.url('/rooms/mt'), 'json');
    const body = encodeProto('Publish', { data: new Uint8Array([7, 8]) });
    const res = await httpRequest(srv.http, 'POST', '/api/rooms/mt/publish', {
      body,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'APPLICATION/X-PROTOBUF; charset=binary' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
    assert.deepEqual(decodeProto('PublishReply', new Uint8Array(res.body)), { room: 'mt', seq: 1 });
    const [ev] = await c.events('mt', 1);
    assert.deepEqual(new Uint8Array(ev?.data ?? []), new Uint8Array([7, 8]));
    const listed = await httpRequest(srv.http, 'GET', '/api/rooms', { headers: { authorization: `Bearer ${KEY}`, accept: 'Application/X-Protobuf;q=0.9' } });
    assert.equal(listed.headers.get('content-type'), 'application/x-protobuf');
    const json = await httpRequest(srv.http, 'GET', '/api/rooms', { headers: { authorization: `Bearer ${KEY}`, accept: 'APPLICATION/JSON' } });
    assert.equal(json.headers.get('content-type'), 'application/json');
    c.close();
  });
});

describe('the WebSocket room route', () => {
  for (const path of ['/rooms/', '/rooms/a/b']) {
    it(`${path} is a bad room name: 400 with ERROR_CODE_BAD_ROOM_NAME`, async () => {
      const refused = await refusedUpgrade(srv.url(path));
      assert.equal(refused.status, 400);
      const err = decodeJson('Error', refused.body);
      assert.equal(err.code, ErrorCode.ERROR_CODE_BAD_ROOM_NAME, refused.body);
    });
  }
});
