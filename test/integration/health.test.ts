/**
 * GET /healthz: public, uncached, and carrying this process's plain counters (the built-in
 * page's stats panel polls them): exactly the documented fields, with exact values after a
 * known amount of traffic on a fresh server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpRequest, startServer, TestClient, type TestServer } from '../helpers.js';

describe('GET /healthz counters', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  it('counts connections, frames in, publications and deliveries, and nothing else', async () => {
    const a = await TestClient.connect(srv.url('/rooms/stats'), 'proto');
    const b = await TestClient.connect(srv.url('/rooms/stats'), 'json');
    const reply = await a.request({ publish: { room: 'stats', text: 'count me' } });
    assert.equal(reply.publish?.seq, 1);
    await b.events('stats', 1);
    const res = await httpRequest(srv.http, 'GET', '/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const h = res.json() as Record<string, number | string>;
    assert.deepEqual(Object.keys(h).sort(), [
      'bytesIn',
      'bytesOut',
      'connections',
      'connectionsOpened',
      'messagesIn',
      'messagesOut',
      'publications',
      'rooms',
      'status',
      'uptimeSec',
    ]);
    assert.deepEqual(
      {
        status: h.status,
        connections: h.connections,
        rooms: h.rooms,
        connectionsOpened: h.connectionsOpened,
        messagesIn: h.messagesIn,
        publications: h.publications,
        messagesOut: h.messagesOut,
      },
      { status: 'ok', connections: 2, rooms: 1, connectionsOpened: 2, messagesIn: 1, publications: 1, messagesOut: 2 },
    );
    assert.ok(typeof h.bytesIn === 'number' && h.bytesIn > 0 && typeof h.bytesOut === 'number' && h.bytesOut > 0);
    assert.ok(typeof h.uptimeSec === 'number' && h.uptimeSec > 0 && h.uptimeSec < 60);
    a.close();
    b.close();
  });
});
