/**
 * The server side of the built-in page, without a browser: `/` and its files with their types
 * and caching headers, the `page` option (on, off, auto), and a missing bundle (a clear 503, and
 * the server runs on).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../src/config.js';
import { defaultPageDir, pageEnabled } from '../../src/server/page.js';
import { buildPage } from '../../scripts/build-page.js';
import { httpRequest, startServer, TestClient, type TestServer } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the page option', () => {
  it('auto is on except under NODE_ENV=production; on and off are what they say', () => {
    assert.equal(pageEnabled('auto', undefined), true);
    assert.equal(pageEnabled('auto', 'development'), true);
    assert.equal(pageEnabled('auto', 'production'), false);
    assert.equal(pageEnabled('on', 'production'), true);
    assert.equal(pageEnabled('off', undefined), false);
  });

  it('comes from --page and ROOMCAST_PAGE, defaults to auto, and takes nothing else', () => {
    assert.equal(loadConfig([], {}).config.page, 'auto');
    assert.equal(loadConfig(['--page', 'off'], {}).config.page, 'off');
    assert.equal(loadConfig([], { ROOMCAST_PAGE: 'on' }).config.page, 'on');
    assert.throws(
      () => loadConfig(['--page', 'yes'], {}),
      (err: unknown) => err instanceof ConfigError && err.message.includes('--page'),
    );
  });

  it('finds the bundle in dist/web, also when the server runs from source', () => {
    assert.equal(resolve(defaultPageDir()), resolve(ROOT, 'dist/web'));
  });
});

describe('serving the page', () => {
  let dir: string;
  let empty: string;
  let on: TestServer;
  let off: TestServer;
  let missing: TestServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roomcast-page-'));
    empty = mkdtempSync(join(tmpdir(), 'roomcast-nopage-'));
    await buildPage(dir);
    on = await startServer({ page: 'on' }, { pageDir: dir });
    off = await startServer({ page: 'off' }, { pageDir: dir });
    missing = await startServer({ page: 'on' }, { pageDir: empty });
  });
  after(async () => {
    // before() may have failed before it started all three.
    for (const s of [on, off, missing] as Array<TestServer | undefined>) await s?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  });

  it('serves index.html at / with a content security policy, revalidated by ETag', async () => {
    const res = await httpRequest(on.http, 'GET', '/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const d of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"])
      assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
    assert.deepEqual(res.body, readFileSync(join(dir, 'index.html')));
    const etag = res.headers.get('etag') ?? '';
    assert.match(etag, /^"[\w-]{22}"$/);

    const again = await httpRequest(on.http, 'GET', '/', { headers: { 'if-none-match': `W/"other", ${etag}` } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.get('etag'), etag);
    const changed = await httpRequest(on.http, 'GET', '/', { headers: { 'if-none-match': '"not-this-one"' } });
    assert.equal(changed.status, 200);
  });

  it('serves every file the HTML names, with its type, as built', async () => {
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    const named = [...html.matchAll(/(?:src|href)="([\w.-]+\.(?:js|css))"/g)].map((m) => m[1] ?? '');
    assert.deepEqual(named.sort(), ['page.css', 'page.js']);
    const types: Record<string, string> = {
      'page.js': 'text/javascript; charset=utf-8',
      'page.css': 'text/css; charset=utf-8',
      'page.js.map': 'application/json; charset=utf-8',
    };
    for (const [file, type] of Object.entries(types)) {
      const res = await httpRequest(on.http, 'GET', `/${file}`);
      assert.equal(res.status, 200, file);
      assert.equal(res.headers.get('content-type'), type, file);
      assert.equal(res.headers.get('cache-control'), 'no-cache', file);
      assert.ok(res.headers.get('etag'), file);
      assert.deepEqual(res.body, readFileSync(join(dir, file)), file);
    }
    // The bundle points at its source map, which holds the page's own source.
    const js = readFileSync(join(dir, 'page.js'), 'utf8');
    assert.match(js, /\/\/# sourceMappingURL=page\.js\.map\s*$/);
    const map = JSON.parse(readFileSync(join(dir, 'page.js.map'), 'utf8')) as { sources: string[] };
    assert.ok(
      map.sources.some((s) => s.endsWith('src/web/page.ts')),
      'page.ts is in the map',
    );
  });

  it('answers other methods with 405', async () => {
    const res = await httpRequest(on.http, 'POST', '/', { body: 'x' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
  });

  it('when off, / and the files are 404s like any unknown path', async () => {
    for (const path of ['/', '/page.js', '/page.css']) {
      const res = await httpRequest(off.http, 'GET', path);
      assert.equal(res.status, 404, path);
      assert.deepEqual(res.json(), { code: 'ERROR_CODE_NOT_FOUND', message: `no route for GET ${path}` });
    }
  });

  it('without its files, says how to build them and keeps serving everything else', async () => {
    for (const path of ['/', '/page.js']) {
      const res = await httpRequest(missing.http, 'GET', path);
      assert.equal(res.status, 503, path);
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.match(res.body.toString(), /npm run build/);
      assert.ok(!res.body.toString().includes(empty), 'the public answer does not show server paths');
    }
    assert.equal((await httpRequest(missing.http, 'GET', '/healthz')).status, 200);
    const c = await TestClient.connect(missing.url('/rooms/still-up'));
    c.close();
  });
});
