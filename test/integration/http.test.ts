/**
 * The HTTP API: server-side publish (JSON and protobuf bodies), the API key, room listing,
 * health, and errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJson, decodeProto, encodeProto } from '../../src/protocol/codec.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { httpRequest, startServer, TestClient, type TestServer } from '../helpers.js';

const KEY = 'test-key-0123456789abcdef';
let srv: TestServer;
before(async () => {
  srv = await startServer({ apiKey: KEY, maxPayloadBytes: 1024, maxFrameBytes: 4096 });
});
after(async () => {
  await srv.close();
});

const auth = { authorization: `Bearer ${KEY}` };

describe('POST /api/rooms/:room/publish', () => {
  it('publishes a JSON body to every member of both encodings, with a sequence number', async () => {
    const p = await TestClient.connect(srv.url('/rooms/news'), 'proto');
    const j = await TestClient.connect(srv.url('/rooms/news'), 'json');
    const res = await httpRequest(srv.http, 'POST', '/api/rooms/news/publish', {
      body: JSON.stringify({ text: 'extra!' }),
      headers: { ...auth, 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(res.json(), { room: 'news', seq: '1' });
    for (const c of [p, j]) {
      const [ev] = await c.events('news', 1);
      assert.equal(ev?.text, 'extra!');
      assert.equal(ev.connId, '', 'server-side events carry no connection id');
      assert.equal(ev.source, 'http', 'but say what sent them');
      assert.equal(ev.seq, 1);
    }
    p.close();
    j.close();
  });

  it('publishes a protobuf body and answers in protobuf', async () => {
    const c = await TestClient.connect(srv.url('/rooms/bin'), 'json');
    const body = encodeProto('Publish', { data: new Uint8Array([1, 2, 3]) });
    const res = await httpRequest(srv.http, 'POST', '/api/rooms/bin/publish', { body, headers: { ...auth, 'content-type': 'application/x-protobuf' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
    assert.deepEqual(decodeProto('PublishReply', new Uint8Array(res.body)), { room: 'bin', seq: 1 });
    const [ev] = await c.events('bin', 1);
    assert.deepEqual(new Uint8Array(ev?.data ?? []), new Uint8Array([1, 2, 3]));
    c.close();
  });

  it('takes a sender name in Publish.source and refuses a bad one; clients may not set it', async () => {
    const j = await TestClient.connect(srv.url('/rooms/named'), 'json');
    const p = await TestClient.connect(srv.url('/rooms/named'), 'proto');
    const res = await httpRequest(srv.http, 'POST', '/api/rooms/named/publish', { body: '{"text":"invoice paid","source":"billing"}', headers: auth });
    assert.equal(res.status, 200);
    for (const c of [j, p]) assert.equal((await c.events('named', 1))[0]?.source, 'billing');
    const bad = await httpRequest(srv.http, 'POST', '/api/rooms/named/publish', { body: '{"text":"x","source":"no spaces"}', headers: auth });
    assert.equal(bad.status, 400);
    assert.equal((bad.json() as { code: string }).code, 'ERROR_CODE_BAD_REQUEST');
    for (const c of [j, p]) {
      const r = await c.request({ publish: { room: 'named', text: 'me', source: 'ticker' } });
      assert.equal(r.error?.code, ErrorCode.ERROR_CODE_BAD_REQUEST, 'a client cannot pose as a server-side publisher');
      assert.match(r.error.message ?? '', /source/);
    }
    const own = await j.request({ publish: { room: 'named', text: 'mine' } });
    assert.equal(own.publish?.seq, 2);
    const [, ev] = await p.events('named', 2);
    assert.equal(ev?.source, '', "a client's event has no source");
    assert.equal(ev.connId, j.connId);
    j.close();
    p.close();
  });

  it('skips unknown body fields in both encodings (a newer caller against this server)', async () => {
    const c = await TestClient.connect(srv.url('/rooms/newer'), 'proto');
    const json = await httpRequest(srv.http, 'POST', '/api/rooms/newer/publish', { body: '{"text":"a","priority":"high","future":{"x":1}}', headers: auth });
    assert.equal(json.status, 200, json.body.toString());
    // Publish with text "b" and an unknown field 15 (length-delimited, 1 byte).
    const proto = new Uint8Array([...encodeProto('Publish', { text: 'b' }), 0x7a, 0x01, 0x00]);
    const bin = await httpRequest(srv.http, 'POST', '/api/rooms/newer/publish', {
      body: proto,
      headers: { ...auth, 'content-type': 'application/x-protobuf' },
    });
    assert.equal(bin.status, 200);
    const evs = await c.events('newer', 2);
    assert.deepEqual(
      evs.map((e) => e?.text),
      ['a', 'b'],
    );
    c.close();
  });

  it('stores a publish to a room with history but no members (it gets a seq)', async () => {
    const res = await httpRequest(srv.http, 'POST', '/api/rooms/empty-room/publish', { body: '{"text":"anyone?"}', headers: auth });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { room: 'empty-room', seq: '1' });
  });

  it('answers seq 0 for a room with no members and no history, delivering nothing', async () => {
    const bare = await startServer({ apiKey: KEY, history: [] });
    try {
      const res = await httpRequest(bare.http, 'POST', '/api/rooms/empty-room/publish', { body: '{"text":"anyone?"}', headers: auth });
      assert.equal(res.status, 200);
      // proto3 JSON leaves out fields that hold their default: seq 0 is absent.
      assert.deepEqual(res.json(), { room: 'empty-room' });
      assert.equal(decodeJson('PublishReply', res.body).seq, 0);
    } finally {
      await bare.close();
    }
  });

  it('refuses requests without the API key, or with a wrong one (401)', async () => {
    const c = await TestClient.connect(srv.url('/rooms/guarded'), 'proto');
    const none = await httpRequest(srv.http, 'POST', '/api/rooms/guarded/publish', { body: '{"text":"x"}' });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="roomcast"');
    assert.equal((none.json() as { code: string }).code, 'ERROR_CODE_UNAUTHENTICATED');
    const wrong = await httpRequest(srv.http, 'POST', '/api/rooms/guarded/publish', { body: '{"text":"x"}', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const list = await httpRequest(srv.http, 'GET', '/api/rooms');
    assert.equal(list.status, 401);
    const r = await c.request({ echo: { text: 'marker' } });
    assert.equal(r.echo?.text, 'marker');
    assert.equal(c.eventsSoFar('guarded').length, 0, 'nothing was published');
    c.close();
  });

  it('rejects bad requests with an Error body and the matching status', async () => {
    const cases: Array<[string, string, string | Uint8Array, number, string, Record<string, string>?]> = [
      ['bad room', '/api/rooms/bad%20room/publish', '{"text":"x"}', 400, 'ERROR_CODE_BAD_ROOM_NAME'],
      ['not JSON', '/api/rooms/a/publish', '{"text":', 400, 'ERROR_CODE_MALFORMED_FRAME'],
      ['unknown field skipped, no payload left', '/api/rooms/a/publish', '{"txt":"x"}', 400, 'ERROR_CODE_BAD_REQUEST'],
      ['wrong type', '/api/rooms/a/publish', '{"text":7}', 400, 'ERROR_CODE_MALFORMED_FRAME'],
      ['no payload', '/api/rooms/a/publish', '{}', 400, 'ERROR_CODE_BAD_REQUEST'],
      ['room mismatch', '/api/rooms/a/publish', '{"room":"b","text":"x"}', 400, 'ERROR_CODE_BAD_REQUEST'],
      ['excludeSelf', '/api/rooms/a/publish', '{"text":"x","excludeSelf":true}', 400, 'ERROR_CODE_BAD_REQUEST'],
      ['payload too large', '/api/rooms/a/publish', JSON.stringify({ text: 'x'.repeat(1025) }), 413, 'ERROR_CODE_PAYLOAD_TOO_LARGE'],
      ['body too large', '/api/rooms/a/publish', 'x'.repeat(5000), 413, 'ERROR_CODE_PAYLOAD_TOO_LARGE'],
      [
        'bad protobuf',
        '/api/rooms/a/publish',
        new Uint8Array([0x12, 0x40]),
        400,
        'ERROR_CODE_MALFORMED_FRAME',
        { 'content-type': 'application/x-protobuf', accept: 'application/json' },
      ],
    ];
    for (const [name, path, body, status, code, headers] of cases) {
      const res = await httpRequest(srv.http, 'POST', path, { body, headers: { ...auth, ...headers } });
      assert.equal(res.status, status, name);
      const err = res.json() as { code: string; message: string };
      assert.equal(err.code, code, name);
      assert.ok(err.message.length > 0, `${name} has a message`);
    }
  });

  it('answers 404 for unknown routes and 405 for wrong methods', async () => {
    const nf = await httpRequest(srv.http, 'GET', '/nope', { headers: auth });
    assert.equal(nf.status, 404);
    assert.equal((nf.json() as { code: string }).code, 'ERROR_CODE_NOT_FOUND');
    const get = await httpRequest(srv.http, 'GET', '/api/rooms/a/publish', { headers: auth });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const post = await httpRequest(srv.http, 'POST', '/api/rooms', { headers: auth });
    assert.equal(post.status, 405);
  });
});

describe('GET /api/rooms and /healthz', () => {
  it('lists rooms with member counts (JSON and protobuf)', async () => {
    const a = await TestClient.connect(srv.url('/rooms/listed'), 'proto');
    const b = await TestClient.connect(srv.url('/rooms/listed'), 'json');
    const res = await httpRequest(srv.http, 'GET', '/api/rooms', { headers: auth });
    assert.equal(res.status, 200);
    const rooms = (res.json() as { rooms: Array<{ name: string; members: number }> }).rooms;
    assert.deepEqual(
      rooms.find((r) => r.name === 'listed'),
      { name: 'listed', members: 2 },
    );
    const bin = await httpRequest(srv.http, 'GET', '/api/rooms', { headers: { ...auth, accept: 'application/x-protobuf' } });
    const decoded = decodeProto('RoomList', new Uint8Array(bin.body)) as { rooms: Array<{ name: string; members: number }> };
    assert.deepEqual(
      decoded.rooms.find((r) => r.name === 'listed'),
      { name: 'listed', members: 2 },
    );
    a.close();
    b.close();
  });

  it('healthz needs no key and reports counts', async () => {
    const c = await TestClient.connect(srv.url('/rooms/h'), 'proto');
    const res = await httpRequest(srv.http, 'GET', '/healthz');
    assert.equal(res.status, 200);
    const body = res.json() as { status: string; connections: number; rooms: number };
    assert.equal(body.status, 'ok');
    assert.ok(body.connections >= 1 && body.rooms >= 1);
    c.close();
  });
});
