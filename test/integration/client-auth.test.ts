/**
 * The client SDK against a server that requires tokens: both token transports, refresh, expiry
 * with a token function (reconnect, re-authenticate, rejoin), a bad token (no retry), presence.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClientEvents, CloseCode, createClient, ErrorCode, type RoomcastClient, type RoomEvent, ServerError } from '../../src/client/index.js';
import { next, until } from '../client-helpers.js';
import { hsToken, startServer, type TestServer } from '../helpers.js';

const SECRET = 'client-auth-secret-0123456789abcdefgh';

const clients: RoomcastClient[] = [];
function track(c: RoomcastClient): RoomcastClient {
  clients.push(c);
  return c;
}
after(() => Promise.all(clients.map((c) => c.close())));

describe('the SDK with authentication', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ authSecret: SECRET, presenceEvents: ['team:*'], userJoin: ['team:*', 'lobby'] });
  });
  after(() => srv.close());

  for (const tokenTransport of ['url', 'command'] as const) {
    it(`authenticates with the token in the ${tokenTransport === 'url' ? 'URL' : 'connect command'}, and events carry the user id`, async () => {
      const c = track(createClient({ url: srv.url(), token: await hsToken(SECRET, { sub: `ada-${tokenTransport}` }), tokenTransport, rooms: ['lobby'] }));
      const events: RoomEvent[] = [];
      c.on('event', (e) => events.push(e));
      await c.connect();
      const r = await c.publish('lobby', 'signed');
      assert.equal(r.seq > 0, true);
      await until(() => events.some((e) => e.seq === r.seq), 'own event');
      const mine = events.find((e) => e.seq === r.seq);
      assert.equal(mine?.userId, `ada-${tokenTransport}`);
      assert.equal(mine.fromSelf, true);
      await c.close();
    });
  }

  it('refreshes the token in place', async () => {
    const c = track(createClient({ url: srv.url(), token: await hsToken(SECRET, { sub: 'ref' }, '1m') }));
    await c.connect();
    const r = await c.refresh(await hsToken(SECRET, { sub: 'ref' }, '2h'));
    assert.ok(r.expiresAtUs / 1000 > Date.now() + 3_600_000);
    await assert.rejects(
      c.refresh(await hsToken(SECRET, { sub: 'someone-else' })),
      (e: unknown) => e instanceof ServerError && e.code === ErrorCode.ERROR_CODE_PERMISSION_DENIED,
    );
    await c.close();
  });

  it('after its token expires (4001) it reconnects with a fresh token from the function and rejoins', async () => {
    let issued = 0;
    const token = async () => {
      issued += 1;
      // The first token lives 2 s; later ones an hour.
      return hsToken(SECRET, { sub: 'exp' }, issued === 1 ? Math.floor(Date.now() / 1000) + 2 : '1h');
    };
    const c = track(createClient({ url: srv.url(), token, rooms: ['team:exp'], reconnect: { initialDelayMs: 50, maxDelayMs: 200 } }));
    await c.connect();
    const disconnect = await next(c, 'disconnect', 8000);
    assert.equal(disconnect.code, CloseCode.CLOSE_CODE_TOKEN_EXPIRED);
    assert.equal(disconnect.reconnect, true);
    const reopened = await next(c, 'open', 8000);
    assert.equal(reopened.reconnected, true);
    assert.equal(reopened.welcome.userId, 'exp');
    assert.equal(issued, 2);
    const stats = await c.presenceStats('team:exp');
    assert.equal(stats.connections, 1, 'back in its room');
    await c.close();
  });

  it('stops without retrying when the token is refused (4502)', async () => {
    const c = track(createClient({ url: srv.url(), token: 'not-a-jwt', reconnect: { initialDelayMs: 10 } }));
    const closed = next(c, 'close');
    await assert.rejects(c.connect());
    assert.equal((await closed).code, CloseCode.CLOSE_CODE_UNAUTHENTICATED);
  });

  it('sees members come and go through presence events and queries', async () => {
    const watcher = track(createClient({ url: srv.url(), token: await hsToken(SECRET, { sub: 'watch' }), rooms: ['team:p'], encoding: 'json' }));
    const changes: Array<ClientEvents['presence']> = [];
    watcher.on('presence', (p) => changes.push(p));
    await watcher.connect();
    const guest = track(createClient({ url: srv.url(), token: await hsToken(SECRET, { sub: 'guest' }), rooms: ['team:p'] }));
    await guest.connect();
    const members = await watcher.presence('team:p');
    assert.deepEqual(members.members.map((m) => m.userId).sort(), ['guest', 'watch']);
    await guest.close();
    await until(() => changes.some((p) => p.action === 'leave' && p.userId === 'guest'), 'leave event');
    assert.ok(changes.some((p) => p.action === 'join' && p.userId === 'guest'));
    await watcher.close();
  });
});
