/**
 * The built-in page in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * against a real server that serves a bundle built from the current source (into a temporary
 * directory, never a stale dist/). Two users, one per encoding, join one room through the page's
 * form; each publishes, each sees the other's event with its sequence number and publisher; both
 * member lists show both; the server confirms each connection's encoding; the stats panel shows
 * the server's counts; network text stays text; a page that leaves drops off the other's list.
 * The server's refusals (no token, a bad room name, a bad token) show on the page. Screenshots
 * land in test/artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildPage } from '../../scripts/build-page.js';
import { hsToken, httpRequest, requireTool, startServer, type TestServer } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const SECRET = 'page-test-secret-0123456789abcdef0123456789';
const ROOM = 'lobby';
/** Longest wait for anything the page should show; the presence refresh runs every 3 s. */
const WAIT_MS = 10_000;

const missing = requireTool(CHROMIUM, ['--version']);

/** What a page reported that it should not have: uncaught errors, console errors (CSP included). */
function watchErrors(page: Page, name: string, errors: string[]): void {
  page.on('pageerror', (err) => errors.push(`${name}: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${name} console: ${m.text()}`);
  });
}

/** The member list as "user connId" lines, sorted. */
function memberUsers(page: Page): Promise<string[]> {
  return page.$$eval('#members li .user', (els: Array<{ textContent: string | null }>) => els.map((e) => e.textContent ?? '').sort());
}

/** Waits until `read()` gives `expected` (deep-equal), or fails with the last value. */
async function eventually<T>(what: string, read: () => Promise<T>, expected: T, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await read();
    try {
      assert.deepEqual(last, expected);
      return;
    } catch {
      if (Date.now() > deadline) assert.fail(`${what}: expected ${JSON.stringify(expected)}, still ${JSON.stringify(last)} after ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The cells of the event row whose text is exactly `text`, once it is there. */
async function eventRow(page: Page, text: string): Promise<{ seq: string; time: string; who: string; text: string; html: string }> {
  const row = page.locator('#events li.event').filter({ has: page.locator('.text', { hasText: text }) });
  await row.first().waitFor({ timeout: WAIT_MS });
  assert.equal(await row.count(), 1, `one row for ${JSON.stringify(text)}`);
  const cell = (c: string) =>
    row
      .locator(c)
      .textContent()
      .then((t) => t ?? '');
  return {
    seq: await cell('.seq'),
    time: await cell('.time'),
    who: await cell('.who'),
    text: await cell('.text'),
    html: await row.locator('.text').innerHTML(),
  };
}

describe('the built-in page in Chromium', { skip: missing }, () => {
  let dir: string;
  let srv: TestServer;
  let browser: Browser | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roomcast-page-'));
    const built = await buildPage(dir);
    assert.ok(built.inputs.includes('src/web/page.ts') && built.inputs.includes('src/client/index.ts'), 'the bundle is built from src/web and the SDK');
    srv = await startServer({ page: 'on', authSecret: SECRET }, { pageDir: dir });
    // launch() gives Chromium a fresh temporary profile (--user-data-dir) and removes it on close.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    // before() may have failed before it assigned these.
    await (srv as TestServer | undefined)?.close();
    if ((dir as string | undefined) !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('two users in one room see each other, their messages and the server stats', { timeout: 90_000 }, async () => {
    assert.ok(browser);
    const contexts: BrowserContext[] = [];
    const errors: string[] = [];
    /** Opens the page in its own browser context (like another person's browser) and joins the room. */
    const openAndJoin = async (user: string, encoding: 'proto' | 'json'): Promise<Page> => {
      const context = await (browser ?? assert.fail('no browser')).newContext({ viewport: { width: 1100, height: 640 } });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      watchErrors(page, user, errors);
      const res = await page.goto(`${srv.http}/`);
      assert.equal(res?.status(), 200);
      await page.fill('#room', ROOM);
      await page.selectOption('#encoding', encoding);
      await page.fill('#token', await hsToken(SECRET, { sub: user }));
      await page.click('#join');
      await page.locator('#status', { hasText: `in ${ROOM} as ${user}` }).waitFor();
      return page;
    };
    const publish = async (page: Page, text: string): Promise<void> => {
      await page.fill('#message', text);
      await page.press('#message', 'Enter');
    };

    try {
      const alice = await openAndJoin('alice', 'json');
      const bob = await openAndJoin('bob', 'proto');

      // The server saw each page's choice of encoding (admin API, with an admin token).
      const admin = { authorization: `Bearer ${await hsToken(SECRET, { sub: 'ops', admin: true })}` };
      for (const [user, encoding] of [
        ['alice', 'json'],
        ['bob', 'proto'],
      ] as const) {
        const res = await httpRequest(srv.http, 'GET', `/api/users/${user}/connections`, { headers: admin });
        const conns = (res.json() as { connections: Array<{ encoding: string; rooms: string[] }> }).connections;
        assert.deepEqual(
          conns.map((c) => [c.encoding, c.rooms]),
          [[encoding, [ROOM]]],
          `${user}'s connection`,
        );
      }

      await publish(alice, 'hello from alice');
      const aliceOwn = await eventRow(alice, 'hello from alice');
      assert.deepEqual([aliceOwn.seq, aliceOwn.who], ['#1', 'alice (you)']);
      const hostile = '<img src=x onerror="window.__pwned=1">bob & co';
      await publish(bob, hostile);

      // Each sees the other's event: sequence number, server time, publisher, text.
      const atBob = await eventRow(bob, 'hello from alice');
      assert.deepEqual([atBob.seq, atBob.who, atBob.text], ['#1', 'alice', 'hello from alice']);
      assert.match(atBob.time, /^\d\d:\d\d:\d\d\.\d{3}$/);
      const atAlice = await eventRow(alice, 'bob & co');
      assert.deepEqual([atAlice.seq, atAlice.who, atAlice.text], ['#2', 'bob', hostile]);
      // Network text is text: the markup shows as characters, and no element or script came of it.
      assert.equal(atAlice.html, '&lt;img src=x onerror="window.__pwned=1"&gt;bob &amp; co');
      assert.equal(await alice.locator('#events img').count(), 0);
      assert.equal(await alice.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);

      // Both member lists show both users (presence events are off here: the page's own queries).
      for (const page of [alice, bob]) await eventually('member list', () => memberUsers(page), ['alice', 'bob']);
      assert.equal(await alice.locator('#member-count').textContent(), '2');
      assert.equal(await alice.locator('#members li.self .user').textContent(), 'alice');

      // The stats panel: the server's counts, and rates once two readings are in.
      await eventually('connections in the stats panel', () => alice.locator('#stat-connections').textContent(), '2');
      await eventually('rooms in the stats panel', () => alice.locator('#stat-rooms').textContent(), '1');
      await eventually('a rate in the stats panel', async () => /^\d/.test((await alice.locator('#stat-published').textContent()) ?? ''), true);
      const health = (await httpRequest(srv.http, 'GET', '/healthz')).json() as { publications: number; messagesOut: number };
      assert.ok(health.publications >= 2 && health.messagesOut >= 4, JSON.stringify(health));

      mkdirSync(ARTIFACTS, { recursive: true });
      await alice.screenshot({ path: join(ARTIFACTS, 'page-alice.png'), fullPage: true });
      await bob.screenshot({ path: join(ARTIFACTS, 'page-bob.png'), fullPage: true });

      // Bob leaves: his page says so, and he drops off Alice's list.
      await bob.click('#leave');
      await bob.locator('#status', { hasText: 'Not in a room.' }).waitFor();
      assert.equal(await bob.locator('#publish').isDisabled(), true);
      await eventually("alice's member list after bob left", () => memberUsers(alice), ['alice']);

      assert.deepEqual(errors, [], 'errors in the pages');
    } finally {
      for (const c of contexts) await c.close();
    }
  });

  it("shows the server's refusals and stays out of the room", { timeout: 60_000 }, async () => {
    assert.ok(browser);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      const refusal = async (): Promise<string> => {
        await page.locator('#error').waitFor({ state: 'visible' });
        assert.equal(await page.locator('#leave').isDisabled(), true);
        assert.equal(await page.locator('#publish').isDisabled(), true);
        return (await page.locator('#error').textContent()) ?? '';
      };
      // The address names room and encoding and joins at once; this server wants a token.
      await page.goto(`${srv.http}/?room=lobby&encoding=json`);
      assert.match(await refusal(), /ERROR_CODE_UNAUTHENTICATED/);
      assert.equal(await page.inputValue('#room'), 'lobby');
      assert.equal(await page.inputValue('#encoding'), 'json');

      await page.fill('#room', 'no spaces allowed');
      await page.fill('#token', await hsToken(SECRET, { sub: 'carol' }));
      await page.click('#join');
      await page.locator('#error', { hasText: 'ERROR_CODE_BAD_ROOM_NAME' }).waitFor();
      await refusal();

      await page.fill('#room', 'lobby');
      await page.fill('#token', 'not-a-token');
      await page.click('#join');
      await page.locator('#error', { hasText: '4502' }).waitFor();
      await refusal();
    } finally {
      await context.close();
    }
  });
});
