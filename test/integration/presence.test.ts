/**
 * Presence (join/leave events, queries, counts) and the admin API (a user's connections,
 * disconnecting a user, removing a user from a room).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJson } from '../../src/protocol/codec.js';
import { PresenceAction } from '../../src/protocol/types.js';
import { CloseCode, ErrorCode } from '../../src/protocol/errors.js';
import { hsToken, httpRequest, sleep, startServer, TestClient, type TestServer, withTimeout } from '../helpers.js';

const SECRET = 'presence-test-secret-0123456789abcdef';
const API_KEY = 'presence-api-key-0123';
let srv: TestServer;
before(async () => {
  srv = await startServer({ authSecret: SECRET, apiKey: API_KEY, presenceEvents: ['chat:*'] });
});
after(async () => {
  await srv.close();
});

const as = async (user: string, room: string, encoding: 'proto' | 'json' = 'proto', claims: Record<string, unknown> = {}): Promise<TestClient> =>
  TestClient.connect(srv.url(`/rooms/${room}?token=${await hsToken(SECRET, { sub: user, ...claims })}`), encoding);
const api = { authorization: `Bearer ${API_KEY}` };

describe('presence', () => {
  it('sends join and leave events with user and connection ids, for every connection of a user', async () => {
    const watcher = await as('watcher', 'chat:one', 'json');
    const adaPhone = await as('ada', 'chat:one');
    const adaLaptop = await as('ada', 'chat:one', 'json');
    const joins = async () => (
      await watcher.waitFor(() => watcher.received.filter((m) => m.presenceEvent?.action === PresenceAction.PRESENCE_ACTION_JOIN).length >= 3, 'three joins'),
      watcher.received.filter((m) => m.presenceEvent?.action === PresenceAction.PRESENCE_ACTION_JOIN).map((m) => m.presenceEvent)
    );
    const seen = await joins();
    assert.deepEqual(
      seen.map((e) => [e?.userId, e?.connId]),
      [
        ['watcher', watcher.connId],
        ['ada', adaPhone.connId],
        ['ada', adaLaptop.connId],
      ],
    );
    adaPhone.close();
    const leave = await watcher.waitFor((m) => m.presenceEvent?.action === PresenceAction.PRESENCE_ACTION_LEAVE, 'leave');
    assert.deepEqual([leave.presenceEvent?.room, leave.presenceEvent?.userId, leave.presenceEvent?.connId], ['chat:one', 'ada', adaPhone.connId]);
    await adaLaptop.request({ leave: { room: 'chat:one' } });
    await watcher.waitFor(
      (m) => m.presenceEvent?.action === PresenceAction.PRESENCE_ACTION_LEAVE && m.presenceEvent.connId === adaLaptop.connId,
      'leave by command',
    );
    watcher.close();
    adaLaptop.close();
  });

  it('answers presence and presenceStats queries for members, grouped by user', async () => {
    const a1 = await as('ann', 'chat:two');
    const a2 = await as('ann', 'chat:two', 'json');
    const b = await as('ben', 'chat:two');
    const outsider = await as('out', 'elsewhere');
    const p = await b.request({ presence: { room: 'chat:two' } });
    const members = (p.presence?.members ?? [])
      .map((m) => ({ userId: m.userId, connIds: [...(m.connIds ?? [])].sort() }))
      .sort((x, y) => (x.userId ?? '').localeCompare(y.userId ?? ''));
    assert.deepEqual(members, [
      { userId: 'ann', connIds: [a1.connId, a2.connId].sort() },
      { userId: 'ben', connIds: [b.connId] },
    ]);
    const s = await a2.request({ presenceStats: { room: 'chat:two' } });
    assert.deepEqual(s.presenceStats, { room: 'chat:two', connections: 3, users: 2 });
    const denied = await outsider.request({ presence: { room: 'chat:two' } });
    assert.equal(denied.error?.code, ErrorCode.ERROR_CODE_NOT_A_MEMBER);
    const admin = await as('root', 'elsewhere', 'proto', { admin: true });
    assert.equal((await admin.request({ presenceStats: { room: 'chat:two' } })).presenceStats?.users, 2, 'admins may ask about any room');
    const http = await httpRequest(srv.http, 'GET', '/api/rooms/chat:two/presence-stats', { headers: api });
    assert.deepEqual(http.json(), { room: 'chat:two', connections: 3, users: 2 });
    for (const c of [a1, a2, b, outsider, admin]) c.close();
  });

  it('rooms outside presenceEvents get no join/leave events', async () => {
    const a = await as('q1', 'quiet');
    const b = await as('q2', 'quiet');
    await a.request({ publish: { room: 'quiet', text: 'marker' } });
    await a.events('quiet', 1);
    assert.equal(a.received.filter((m) => m.presenceEvent != null).length, 0);
    a.close();
    b.close();
  });
});

describe('admin API', () => {
  it("lists a user's connections", async () => {
    const c1 = await as('lister', 'chat:a');
    const c2 = await as('lister', 'room-b', 'json');
    const res = await httpRequest(srv.http, 'GET', '/api/users/lister/connections', { headers: api });
    assert.equal(res.status, 200);
    const list = decodeJson('ConnectionList', res.body) as {
      connections: Array<{ connId: string; rooms: string[]; encoding: string; remoteAddress: string; connectedAtUs: number }>;
    };
    const byId = new Map(list.connections.map((c) => [c.connId, c]));
    assert.deepEqual(byId.get(c1.connId)?.rooms, ['chat:a']);
    assert.equal(byId.get(c2.connId)?.encoding, 'json');
    assert.equal(byId.get(c1.connId)?.remoteAddress, '127.0.0.1');
    assert.ok(Math.abs((byId.get(c1.connId)?.connectedAtUs ?? 0) / 1000 - Date.now()) < 60_000);
    const none = await httpRequest(srv.http, 'GET', '/api/users/nobody/connections', { headers: api });
    assert.deepEqual(none.json(), { connections: [] });
    c1.close();
    c2.close();
  });

  it(`disconnects every connection of a user with ${CloseCode.CLOSE_CODE_DISCONNECTED} (or ${CloseCode.CLOSE_CODE_RECONNECT}) and a reason`, async () => {
    const a = await as('kicked', 'chat:k');
    const b = await as('kicked', 'chat:k', 'json');
    const bystander = await as('stays', 'chat:k');
    const res = await httpRequest(srv.http, 'POST', '/api/users/kicked/disconnect', { headers: api, body: JSON.stringify({ reason: 'terms of service' }) });
    assert.deepEqual(res.json(), { connections: 2 });
    for (const c of [a, b]) {
      const closed = await withTimeout(c.closed, 5000, 'disconnect');
      assert.deepEqual(closed, { code: CloseCode.CLOSE_CODE_DISCONNECTED, reason: 'terms of service' });
    }
    assert.equal((await bystander.request({ echo: { text: 'ok' } })).echo?.text, 'ok');
    const c = await as('soft', 'chat:k');
    await httpRequest(srv.http, 'POST', '/api/users/soft/disconnect', { headers: api, body: '{"reconnect": true}' });
    assert.equal((await withTimeout(c.closed, 5000, 'soft disconnect')).code, CloseCode.CLOSE_CODE_RECONNECT);
    bystander.close();
  });

  it('removes a user from a room: they are told, get no more events, and presence follows', async () => {
    const target = await as('removed', 'chat:r');
    const other = await as('other', 'chat:r');
    const res = await httpRequest(srv.http, 'POST', '/api/rooms/chat:r/remove', { headers: api, body: JSON.stringify({ userId: 'removed', reason: 'spam' }) });
    assert.deepEqual(res.json(), { connections: 1 });
    const removed = await target.waitFor((m) => m.removed != null, 'removed notice');
    assert.deepEqual(removed.removed, { room: 'chat:r', reason: 'spam' });
    await other.waitFor((m) => m.presenceEvent?.action === PresenceAction.PRESENCE_ACTION_LEAVE && m.presenceEvent.userId === 'removed', 'leave event');
    await other.request({ publish: { room: 'chat:r', text: 'after removal' } });
    await other.events('chat:r', 1);
    await sleep(50);
    assert.equal(target.eventsSoFar('chat:r').length, 0);
    const again = await target.request({ publish: { room: 'chat:r', text: 'x' } });
    assert.equal(again.error?.code, ErrorCode.ERROR_CODE_NOT_A_MEMBER);
    const stats = await other.request({ presenceStats: { room: 'chat:r' } });
    assert.deepEqual(stats.presenceStats, { room: 'chat:r', connections: 1, users: 1 });
    target.close();
    other.close();
  });

  it('requires credentials', async () => {
    for (const [method, path] of [
      ['GET', '/api/users/x/connections'],
      ['POST', '/api/users/x/disconnect'],
      ['POST', '/api/rooms/r/remove'],
      ['GET', '/api/rooms/r/presence'],
      ['GET', '/api/rooms/r/presence-stats'],
      ['GET', '/metrics'],
    ] as const) {
      const res = await httpRequest(srv.http, method, path);
      assert.equal(res.status, 401, `${method} ${path}`);
    }
  });
});
