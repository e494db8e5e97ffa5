/**
 * The built-in browser page (README, "The built-in page"): `GET /` and the few files that
 * scripts/build-page.ts (run by `npm run build`) writes to dist/web. The files are read once,
 * when the server is created, and served from memory with an ETag; nothing here runs on the
 * WebSocket paths. Off with `page: off` (or `auto` under NODE_ENV=production): then none of these
 * routes exist and `/` is a 404 like any unknown path.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Config } from '../config.js';
import type { ServerContext } from './context.js';
import { methodNotAllowed } from './http-handler.js';

/** One file of the page, as served. */
interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * What the page's HTML may do: load its own script and style, talk to this server (fetch and
 * WebSocket: CSP's 'self' covers ws:/wss: to the same host), nothing else. A second line of
 * defence behind the page's rule of rendering network text as text.
 */
const HTML_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/** URL path -> file in the page directory, its content type, and whether it must exist. */
const FILES: ReadonlyArray<{ path: string; file: string; contentType: string; required: boolean }> = [
  { path: '/', file: 'index.html', contentType: 'text/html; charset=utf-8', required: true },
  { path: '/page.js', file: 'page.js', contentType: 'text/javascript; charset=utf-8', required: true },
  { path: '/page.css', file: 'page.css', contentType: 'text/css; charset=utf-8', required: true },
  { path: '/page.js.map', file: 'page.js.map', contentType: 'application/json; charset=utf-8', required: false },
];

/** Whether the page is served: `auto` means on, except under NODE_ENV=production. */
export function pageEnabled(mode: Config['page'], nodeEnv: string | undefined): boolean {
  if (mode === 'auto') return nodeEnv !== 'production';
  return mode === 'on';
}

/**
 * Where the built page is: dist/web of this package. Compiled, this file is dist/server/page.js
 * and the bundle sits beside it in dist/web; run from source through tsx (src/server/page.ts)
 * there is no bundle in src/, so it is the build's dist/web too.
 */
export function defaultPageDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const fromSource = basename(join(here, '..')) === 'src';
  return fileURLToPath(new URL(fromSource ? '../../dist/web/' : '../web/', import.meta.url));
}

/** The page's files, or why they cannot be served. */
type PageFiles = { ok: true; assets: ReadonlyMap<string, Asset> } | { ok: false; problem: string };

/** Reads the page's files from `dir`. A missing required file is reported, never thrown. */
function loadPage(dir: string): PageFiles {
  const assets = new Map<string, Asset>();
  for (const f of FILES) {
    let body: Buffer;
    try {
      body = readFileSync(join(dir, f.file));
    } catch (err) {
      if (!f.required) continue;
      return {
        ok: false,
        problem: `cannot read ${f.file} of the built-in page from ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}); run "npm run build"`,
      };
    }
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(f.path, { body, contentType: f.contentType, etag, headers: f.file.endsWith('.html') ? HTML_HEADERS : {} });
  }
  return { ok: true, assets };
}

/** Whether an If-None-Match header names `etag` (a list, maybe weak, or `*`). */
function matches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === '') return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

function serve(asset: Asset): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const fresh = matches(req.getHeader('if-none-match'), asset.etag);
    res.cork(() => {
      res.writeStatus(fresh ? '304 Not Modified' : '200 OK');
      // no-cache = "revalidate every time": the files keep their names across releases, so a
      // browser must ask (and gets a cheap 304) rather than run a stale page against a new server.
      res.writeHeader('cache-control', 'no-cache').writeHeader('etag', asset.etag).writeHeader('x-content-type-options', 'nosniff');
      for (const [k, v] of Object.entries(asset.headers)) res.writeHeader(k, v);
      if (fresh) {
        res.endWithoutBody();
        return;
      }
      res.writeHeader('content-type', asset.contentType).end(asset.body);
    });
  };
}

/** The answer while the files are missing: what to do, without the server's paths (the log has those). */
function unavailable(res: HttpResponse): void {
  const body =
    'roomcast: the built-in page is not available: its files (index.html, page.js, page.css) were not found where the server looks.\nBuild them with "npm run build" and restart; the server log names the directory.\n';
  res.cork(() => {
    res.writeStatus('503 Service Unavailable').writeHeader('content-type', 'text/plain; charset=utf-8').writeHeader('cache-control', 'no-store').end(body);
  });
}

/**
 * Registers the page's routes when the config turns it on (before the catch-all 404). Without
 * its files the routes answer 503 with what to do, and the server runs on. Returns whether the
 * page is on.
 */
export function registerPageRoutes(ctx: ServerContext, app: TemplatedApp, dir: string, nodeEnv: string | undefined): boolean {
  if (!pageEnabled(ctx.config.page, nodeEnv)) return false;
  const page = loadPage(dir);
  if (!page.ok) ctx.log.warn({ dir }, page.problem);
  for (const f of FILES) {
    const asset = page.ok ? page.assets.get(f.path) : undefined;
    if (page.ok && asset === undefined) continue;
    app.get(f.path, asset !== undefined ? serve(asset) : unavailable);
    app.any(f.path, methodNotAllowed(ctx, 'GET'));
  }
  return true;
}
