/**
 * `roomcast/client` in a browser: the package export resolves, the SDK bundles with esbuild for
 * the browser platform without a single Node built-in, and the bundle runs where there is no
 * Buffer, process or require (a bare `node:vm` context with only what browsers provide) against
 * the real server, in both encodings.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { build, type Plugin } from 'esbuild';
import { WebSocket } from 'ws';
import { sleep, startServer, type TestServer } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { exports: Record<string, { types: string; default: string }> };

/** The source file tsc compiles to a dist/ path. */
function sourceOf(distPath: string): string {
  return `${ROOT}${distPath.replace(/^\.\/dist\//, 'src/').replace(/\.(d\.ts|js)$/, '.ts')}`;
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Records every import of a Node built-in (and keeps it out of the bundle). */
function builtinSpy(found: string[]): Plugin {
  return {
    name: 'node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (!BUILTINS.has(args.path) && !args.path.startsWith('node:')) return undefined;
        found.push(`${args.path} (imported by ${args.importer.replace(ROOT, '')})`);
        return { path: args.path, external: true };
      });
    },
  };
}

/** Bundles `entry` for browsers as an IIFE that sets `globalThis.bundle`. */
async function bundleForBrowser(entry: string): Promise<{ code: string; inputs: string[]; builtins: string[] }> {
  const builtins: string[] = [];
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'bundle',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [builtinSpy(builtins)],
  });
  return { code: result.outputFiles[0]?.text ?? '', inputs: Object.keys(result.metafile.inputs), builtins };
}

/** A context with what a browser page has, and nothing Node adds (no Buffer, process, require). */
function browserLikeContext(extra: Record<string, unknown> = {}): vm.Context {
  return vm.createContext({ URL, TextEncoder, TextDecoder, setTimeout, clearTimeout, queueMicrotask, console, ...extra });
}

describe('roomcast/client as a package export', () => {
  it('is exported with types, and both paths are compiled from src/client/index.ts', () => {
    const entry = pkg.exports['./client'];
    assert.deepEqual(entry, { types: './dist/client/index.d.ts', default: './dist/client/index.js' });
    assert.equal(sourceOf(entry.default), `${ROOT}src/client/index.ts`);
    assert.equal(sourceOf(entry.types), `${ROOT}src/client/index.ts`);
    assert.equal(import.meta.resolve('roomcast/client'), pathToFileURL(`${ROOT}dist/client/index.js`).href, 'Node resolves the subpath');
  });
});

describe('the browser bundle', () => {
  let bundle: { code: string; inputs: string[]; builtins: string[] };
  let srv: TestServer;
  before(async () => {
    const entry = sourceOf(pkg.exports['./client']?.default ?? '');
    assert.ok(existsSync(entry), entry);
    bundle = await bundleForBrowser(entry);
    srv = await startServer();
  });
  after(() => srv.close());

  it('pulls in no Node built-in, and does bundle the protocol code and generated messages', (t) => {
    assert.deepEqual(bundle.builtins, [], 'Node built-ins imported by the SDK');
    for (const needed of ['src/client/session.ts', 'src/protocol/codec.ts', 'src/protocol/json-read.ts', 'src/gen/roomcast.js', 'src/gen/roomcast.json']) {
      assert.ok(bundle.inputs.includes(needed), `${needed} is in the bundle`);
    }
    // `ws` is only loaded when there is no global WebSocket; for browsers it maps to its stub.
    const ws = bundle.inputs.filter((i) => i.includes('node_modules/ws/'));
    assert.deepEqual(ws, ['node_modules/ws/browser.js']);
    t.diagnostic(`bundle: ${bundle.code.length} bytes, ${bundle.inputs.length} inputs`);
  });

  it('runs without Buffer, process or require, against the server, in both encodings', async () => {
    const ctx = browserLikeContext({ WebSocket });
    vm.runInContext(bundle.code, ctx);
    assert.equal(vm.runInContext('typeof Buffer + typeof process + typeof require + typeof global', ctx), 'undefinedundefinedundefinedundefined');
    const sdk = ctx.bundle as typeof import('../../src/client/index.js');
    for (const encoding of ['proto', 'json'] as const) {
      const room = `browser-${encoding}`;
      const a = sdk.createClient({ url: srv.url(`/rooms/${room}`), encoding });
      const b = sdk.createClient({ url: srv.url(), encoding, rooms: [room] });
      const got: Array<[number, string | undefined, number[] | undefined]> = [];
      a.on('event', (e) => got.push([e.seq, e.text, e.data && Array.from(e.data)]));
      await a.connect();
      await b.connect();
      await b.publish(room, 'from the bundle');
      await b.publish(room, new Uint8Array([0, 250, 251, 252, 253, 254, 255]));
      assert.equal(await b.echo('round trip ✓'), 'round trip ✓');
      const err = await b.publish('not-joined', 'x').catch((e: unknown) => e);
      assert.equal((err as { code?: number }).code, sdk.ErrorCode.ERROR_CODE_NOT_A_MEMBER);
      for (let i = 0; i < 200 && got.length < 2; i++) await sleep(5);
      assert.deepEqual(got, [
        [1, 'from the bundle', undefined],
        [2, undefined, [0, 250, 251, 252, 253, 254, 255]],
      ]);
      await a.close();
      await b.close();
    }
  });

  it('has a base64 for JSON bytes that needs no Buffer and agrees with Node', async () => {
    const { code, builtins } = await bundleForBrowser(`${ROOT}src/protocol/base64.ts`);
    assert.deepEqual(builtins, []);
    const ctx = browserLikeContext();
    vm.runInContext(code, ctx);
    const b64 = ctx.bundle as typeof import('../../src/protocol/base64.js');
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 97 + n * 31) & 255);
      const node = Buffer.from(bytes).toString('base64');
      assert.equal(b64.encodeBase64(bytes), node, `encode ${n} bytes`);
      for (const text of [node, node.replace(/=+$/, ''), Buffer.from(bytes).toString('base64url')]) {
        assert.deepEqual(Array.from(b64.decodeBase64(text)), Array.from(bytes), `decode ${JSON.stringify(text)}`);
      }
    }
  });
});
