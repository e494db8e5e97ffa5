/**
 * Builds the built-in page for browsers: esbuild bundles src/web/page.ts with the SDK it imports
 * into one minified page.js (plus its source map), and index.html and page.css are copied beside
 * it. `npm run build` writes dist/web, where the server looks (src/server/page.ts); the page
 * tests build into a temporary directory, so they always test the current source.
 *
 *   node --import tsx scripts/build-page.ts [outDir]     (default dist/web)
 *
 * Kept out of dist/ (outside src/): esbuild is a dev dependency.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const WEB = fileURLToPath(new URL('../src/web/', import.meta.url));

/** The files copied as they are, next to the bundle. */
const STATIC_FILES = ['index.html', 'page.css'];

/** What one build wrote. */
export interface PageBuild {
  outDir: string;
  /** Size of page.js in bytes. */
  bundleBytes: number;
  /** Source files in the bundle, relative to the package root. */
  inputs: string[];
}

/** Bundles the page into `outDir` (created if needed). Rejects with esbuild's errors. */
export async function buildPage(outDir: string): Promise<PageBuild> {
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(WEB, 'page.ts')],
    outfile: join(outDir, 'page.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    // What the SDK itself targets; every browser from 2022 on runs it.
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  for (const f of STATIC_FILES) copyFileSync(join(WEB, f), join(outDir, f));
  const out = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('page.js'));
  return { outDir, bundleBytes: out?.[1].bytes ?? 0, inputs: Object.keys(result.metafile.inputs) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = resolve(process.argv[2] ?? 'dist/web');
  buildPage(outDir).then(
    (b) => process.stdout.write(`page: ${b.outDir}/page.js, ${(b.bundleBytes / 1024).toFixed(0)} KiB from ${b.inputs.length} files\n`),
    (err: unknown) => {
      process.stderr.write(`build-page: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
