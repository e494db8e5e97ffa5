/**
 * Identity: tokens in the URL and by `connect`, expiry and `refresh`, the three key kinds,
 * room permissions from claims and config, per-user channels, anonymous access.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { CloseCode, ErrorCode } from '../../src/protocol/errors.js';
import { closedOnConnect, hsToken, httpRequest, startServer, TestClient, type TestServer, withTimeout } from '../helpers.js';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

describe('HS256 tokens', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ authSecret: SECRET, authTimeoutMs: 300, userJoin: ['lobby', 'team:*'], userPublish: ['lobby'] });
  });
  after(async () => {
    await srv.close();
  });

  it('a valid token in the URL gives the connection its user id', async () => {
    const token = await hsToken(SECRET, { sub: 'ada' });
    const c = await TestClient.connect(srv.url(`/rooms/lobby?token=${token}`), 'json');
    const w = c.received[0]?.welcome;
    assert.equal(w?.userId, 'ada');
    assert.equal(w.authRequired, false);
    assert.deepEqual(
      w.rooms?.map((r) => r.room),
      ['lobby'],
    );
    const r = await c.request({ publish: { room: 'lobby', text: 'hi' } });
    assert.equal(r.publish?.seq, 1);
    const [ev] = await c.events('lobby', 1);
    assert.equal(ev?.userId, 'ada', 'events carry the publisher user id');
    c.close();
  });

  it('refuses expired, wrongly signed, malformed and missing tokens with documented close codes', async () => {
    const expired = await hsToken(SECRET, { sub: 'ada' }, Math.floor(Date.now() / 1000) - 60);
    const wrongKey = await hsToken('another-secret-that-is-32-bytes-long!!', { sub: 'ada' });
    const noSub = await hsToken(SECRET, {});
    const noExp = await new SignJWT({ sub: 'forever', admin: true }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const cases: Array<[string, number, RegExp]> = [
      [`/rooms/lobby?token=${expired}`, CloseCode.CLOSE_CODE_TOKEN_EXPIRED, /expired/],
      [`/rooms/lobby?token=${wrongKey}`, CloseCode.CLOSE_CODE_UNAUTHENTICATED, /signature/],
      ['/rooms/lobby?token=not.a.jwt', CloseCode.CLOSE_CODE_UNAUTHENTICATED, /invalid token/],
      [`/ws?token=${noSub}`, CloseCode.CLOSE_CODE_UNAUTHENTICATED, /sub/],
      [`/ws?token=${noExp}`, CloseCode.CLOSE_CODE_UNAUTHENTICATED, /exp/],
      ['/rooms/lobby', CloseCode.CLOSE_CODE_UNAUTHENTICATED, /token/],
    ];
    for (const [path, code, reason] of cases) {
      const closed = await closedOnConnect(srv.url(path));
      assert.equal(closed.code, code, path);
      assert.match(closed.reason, reason, path);
      assert.equal(closed.messages, 0, 'no welcome for a refused connection');
    }
    assert.ok(srv.server.stats.authFailures.expired >= 1 && srv.server.stats.authFailures.invalid >= 4);
    const adminForever = await httpRequest(srv.http, 'GET', '/api/rooms', { headers: { authorization: `Bearer ${noExp}` } });
    assert.equal(adminForever.status, 401, 'a token without exp is no credential for the HTTP API either');
  });

  it('without a token in the URL: authRequired, only connect/echo/close work, connect authenticates', async () => {
    const c = await TestClient.connect(srv.url(), 'proto');
    assert.equal(c.received[0]?.welcome?.authRequired, true);
    const denied = await c.request({ join: { room: 'lobby' } });
    assert.equal(denied.error?.code, ErrorCode.ERROR_CODE_UNAUTHENTICATED);
    assert.equal((await c.request({ echo: { text: 'e' } })).echo?.text, 'e');
    const bad = await c.request({ connect: { token: await hsToken('wrong-secret-wrong-secret-wrong-secret', { sub: 'x' }) } });
    assert.equal(bad.error?.code, ErrorCode.ERROR_CODE_UNAUTHENTICATED);
    const r = await c.request({ connect: { token: await hsToken(SECRET, { sub: 'bob' }) } });
    assert.equal(r.connect?.userId, 'bob');
    assert.ok(Math.abs(Number(r.connect.expiresAtUs) / 1000 - (Date.now() + 3_600_000)) < 60_000, 'expiry is an hour ahead, in microseconds');
    const again = await c.request({ connect: { token: await hsToken(SECRET, { sub: 'bob' }) } });
    assert.equal(again.error?.code, ErrorCode.ERROR_CODE_BAD_REQUEST, 'connect only once');
    assert.equal((await c.request({ join: { room: 'lobby' } })).join?.room, 'lobby');
    c.close();
  });

  it(`closes a connection that does not authenticate in time with ${CloseCode.CLOSE_CODE_UNAUTHENTICATED}`, async () => {
    const c = await TestClient.connect(srv.url(), 'proto');
    const closed = await withTimeout(c.closed, 5000, 'auth timeout');
    assert.equal(closed.code, CloseCode.CLOSE_CODE_UNAUTHENTICATED);
    assert.match(closed.reason, /no connect command within 300 ms/);
  });

  it('connect with an expired token gets ERROR_CODE_TOKEN_EXPIRED', async () => {
    const c = await TestClient.connect(srv.url(), 'json');
    const r = await c.request({ connect: { token: await hsToken(SECRET, { sub: 'x' }, Math.floor(Date.now() / 1000) - 5) } });
    assert.equal(r.error?.code, ErrorCode.ERROR_CODE_TOKEN_EXPIRED);
    c.close();
  });

  it(`tells a connection whose token expires, closing it with ${CloseCode.CLOSE_CODE_TOKEN_EXPIRED}; refresh keeps it open`, async () => {
    const soon = Math.floor(Date.now() / 1000) + 2;
    const a = await TestClient.connect(srv.url(`/ws?token=${await hsToken(SECRET, { sub: 'eve' }, soon)}`), 'proto');
    const b = await TestClient.connect(srv.url(`/ws?token=${await hsToken(SECRET, { sub: 'eve' }, soon)}`), 'proto');
    const other = await b.request({ refresh: { token: await hsToken(SECRET, { sub: 'mallory' }) } });
    assert.equal(other.error?.code, ErrorCode.ERROR_CODE_PERMISSION_DENIED, 'refresh must keep the user');
    const refreshed = await b.request({ refresh: { token: await hsToken(SECRET, { sub: 'eve' }, '1h') } });
    assert.ok(Number(refreshed.refresh?.expiresAtUs) > Date.now() * 1000 + 3_000_000_000);
    const closed = await withTimeout(a.closed, 5000, 'expiry close');
    assert.equal(closed.code, CloseCode.CLOSE_CODE_TOKEN_EXPIRED);
    assert.equal((await b.request({ echo: { text: 'still open' } })).echo?.text, 'still open');
    b.close();
  });

  it('applies room permissions from config and from the token claim', async () => {
    const plain = await TestClient.connect(srv.url(`/ws?token=${await hsToken(SECRET, { sub: 'u1' })}`), 'proto');
    assert.equal((await plain.request({ join: { room: 'team:red' } })).join?.room, 'team:red', 'prefix pattern');
    assert.equal((await plain.request({ join: { room: 'secret' } })).error?.code, ErrorCode.ERROR_CODE_PERMISSION_DENIED);
    const pub = await plain.request({ publish: { room: 'team:red', text: 'x' } });
    assert.equal(pub.error?.code, ErrorCode.ERROR_CODE_PERMISSION_DENIED, 'userPublish allows only lobby');
    const claims = { sub: 'u2', rooms: { join: ['secret'], publish: ['secret'] } };
    const special = await TestClient.connect(srv.url(`/ws?token=${await hsToken(SECRET, claims)}`), 'json');
    assert.equal((await special.request({ join: { room: 'secret' } })).join?.room, 'secret');
    assert.equal((await special.request({ publish: { room: 'secret', text: 'x' } })).publish?.seq, 1);
    assert.equal((await special.request({ join: { room: 'lobby' } })).error?.code, ErrorCode.ERROR_CODE_PERMISSION_DENIED, 'the claim replaces the defaults');
    const closed = await closedOnConnect(srv.url(`/rooms/secret?token=${await hsToken(SECRET, { sub: 'u1' })}`));
    assert.equal(closed.code, CloseCode.CLOSE_CODE_POLICY, 'a URL room the user may not join');
    plain.close();
    special.close();
  });

  it('a per-user channel user:<id> admits only that user, on all their connections', async () => {
    const phone = await TestClient.connect(srv.url(`/rooms/user:ada?token=${await hsToken(SECRET, { sub: 'ada' })}`), 'proto');
    const laptop = await TestClient.connect(srv.url(`/rooms/user:ada?token=${await hsToken(SECRET, { sub: 'ada' })}`), 'json');
    const bob = await TestClient.connect(srv.url(`/ws?token=${await hsToken(SECRET, { sub: 'bob', rooms: { join: ['*'], publish: ['*'] } })}`), 'proto');
    assert.equal(
      (await bob.request({ join: { room: 'user:ada' } })).error?.code,
      ErrorCode.ERROR_CODE_PERMISSION_DENIED,
      "even '*' does not open someone else's channel",
    );
    const res = await httpRequest(srv.http, 'POST', '/api/rooms/user:ada/publish', {
      body: '{"text":"for ada"}',
      headers: { authorization: `Bearer ${await hsToken(SECRET, { sub: 'backend', admin: true })}` },
    });
    assert.equal(res.status, 200, 'an admin token may use the HTTP API');
    for (const c of [phone, laptop]) assert.equal((await c.events('user:ada', 1))[0]?.text, 'for ada');
    const notAdmin = await httpRequest(srv.http, 'POST', '/api/rooms/user:ada/publish', {
      body: '{"text":"x"}',
      headers: { authorization: `Bearer ${await hsToken(SECRET, { sub: 'ada' })}` },
    });
    assert.equal(notAdmin.status, 403);
    const noCreds = await httpRequest(srv.http, 'GET', '/api/rooms');
    assert.equal(noCreds.status, 401, 'with token auth on, the HTTP API is closed even without an apiKey');
    for (const c of [phone, laptop, bob]) c.close();
  });
});

describe('anonymous access', () => {
  it('is on by default without a key, and anonymous clients cannot join user channels', async () => {
    const srv = await startServer();
    try {
      const c = await TestClient.connect(srv.url('/rooms/open'), 'proto');
      assert.equal(c.received[0]?.welcome?.userId, '');
      assert.equal((await c.request({ join: { room: 'user:ada' } })).error?.code, ErrorCode.ERROR_CODE_PERMISSION_DENIED);
      const withToken = await closedOnConnect(srv.url('/ws?token=abc.def.ghi'));
      assert.equal(withToken.code, CloseCode.CLOSE_CODE_UNAUTHENTICATED, 'a token where none can be checked is refused, not ignored');
      c.close();
    } finally {
      await srv.close();
    }
  });

  it('a connection cannot join while its connect is being verified (no anonymous join carried over)', async () => {
    const srv = await startServer({ authSecret: SECRET, anonymous: 'allow', anonymousJoin: ['lobby'], userJoin: ['team:*'] });
    try {
      const c = await TestClient.connect(srv.url(), 'json');
      const connectId = c.send({ connect: { token: await hsToken(SECRET, { sub: 'alice' }) } });
      const early = await c.request({ join: { room: 'lobby' } });
      assert.equal(early.error?.code, ErrorCode.ERROR_CODE_BAD_REQUEST);
      assert.match(early.error.message ?? '', /being verified/);
      assert.equal((await c.waitFor((m) => m.id === connectId, 'connect reply')).connect?.userId, 'alice');
      assert.equal((await c.request({ join: { room: 'lobby' } })).error?.code, ErrorCode.ERROR_CODE_PERMISSION_DENIED, "alice's own grants apply");
      c.close();
    } finally {
      await srv.close();
    }
  });

  it('can be allowed next to tokens, limited by anonymousJoin/anonymousPublish', async () => {
    const srv = await startServer({ authSecret: SECRET, anonymous: 'allow', anonymousJoin: ['public:*'], anonymousPublish: [] });
    try {
      const anon = await TestClient.connect(srv.url('/rooms/public:news'), 'json');
      assert.equal(anon.received[0]?.welcome?.authRequired, false);
      assert.equal((await anon.request({ publish: { room: 'public:news', text: 'x' } })).error?.code, ErrorCode.ERROR_CODE_PERMISSION_DENIED);
      assert.equal((await anon.request({ join: { room: 'private' } })).error?.code, ErrorCode.ERROR_CODE_PERMISSION_DENIED);
      anon.close();
    } finally {
      await srv.close();
    }
  });
});

describe('public-key tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-keys-'));

  it('RS256 with a PEM public key file', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const pemFile = join(dir, 'rsa.pem');
    writeFileSync(pemFile, await exportSPKI(publicKey));
    const srv = await startServer({ authPublicKeyFile: pemFile });
    try {
      const token = await new SignJWT({ sub: 'rsa-user' }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(privateKey);
      const c = await TestClient.connect(srv.url(`/ws?token=${token}`), 'proto');
      assert.equal(c.received[0]?.welcome?.userId, 'rsa-user');
      c.close();
      const hs = await closedOnConnect(srv.url(`/ws?token=${await hsToken(SECRET, { sub: 'x' })}`));
      assert.equal(hs.code, CloseCode.CLOSE_CODE_UNAUTHENTICATED, 'an HS256 token is not accepted by an RS256 server');
    } finally {
      await srv.close();
    }
  });

  it('ES256 with a JWKS file, keys chosen by kid', async () => {
    const one = await generateKeyPair('ES256');
    const two = await generateKeyPair('ES256');
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(
      jwksFile,
      JSON.stringify({
        keys: [
          { ...(await exportJWK(one.publicKey)), kid: 'one', alg: 'ES256' },
          { ...(await exportJWK(two.publicKey)), kid: 'two', alg: 'ES256' },
        ],
      }),
    );
    const srv = await startServer({ authJwksFile: jwksFile });
    try {
      const token = await new SignJWT({ sub: 'ec-user' }).setProtectedHeader({ alg: 'ES256', kid: 'two' }).setExpirationTime('1h').sign(two.privateKey);
      const c = await TestClient.connect(srv.url(`/ws?token=${token}`), 'json');
      assert.equal(c.received[0]?.welcome?.userId, 'ec-user');
      c.close();
      const wrongKid = await new SignJWT({ sub: 'ec-user' }).setProtectedHeader({ alg: 'ES256', kid: 'one' }).setExpirationTime('1h').sign(two.privateKey);
      assert.equal((await closedOnConnect(srv.url(`/ws?token=${wrongKid}`))).code, CloseCode.CLOSE_CODE_UNAUTHENTICATED);
    } finally {
      await srv.close();
    }
  });
});
