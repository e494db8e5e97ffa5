/**
 * Links between the Markdown pages (README.md and the other top-level pages, docs/*.md) lead
 * somewhere: every relative link names a file that exists, and every `#anchor` names a heading of
 * its page, so moving a section or a file cannot silently break a link someone follows.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The Markdown pages: top-level *.md and docs/*.md. */
function pages(): string[] {
  const top = readdirSync(ROOT).filter((f) => f.endsWith('.md'));
  const docs = existsSync(join(ROOT, 'docs'))
    ? readdirSync(join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => join('docs', f))
    : [];
  return [...top, ...docs].map((f) => join(ROOT, f));
}

/** Markdown without fenced code blocks, where `#` starts no heading and `](` no link. */
function withoutFences(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a page has, numbered like GitHub's when a heading repeats (x, x-1, x-2). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutFences(readFileSync(file, 'utf8')).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = slug((m[1] ?? '').replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Inline links [text](target) that stay in this repository. */
function localLinks(file: string): string[] {
  const text = withoutFences(readFileSync(file, 'utf8')).replace(/`[^`\n]*`/g, '``');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] ?? '').filter((t) => !/^[a-z][a-z+.-]*:/i.test(t));
}

describe('links between the Markdown pages', () => {
  it('finds the pages', () => {
    const names = pages().map((f) => relative(ROOT, f));
    assert.ok(names.includes('README.md'), names.join(', '));
  });

  it('computes anchors the way GitHub does', () => {
    assert.equal(slug('The TypeScript SDK: roomcast/client'), 'the-typescript-sdk-roomcastclient');
    assert.equal(slug('Several processes (Redis)'), 'several-processes-redis');
    assert.equal(slug('[0.1.0] - 2026-11-26'), '010---2026-11-26');
  });

  for (const page of pages()) {
    it(`${relative(ROOT, page)}: every local link and anchor resolves`, () => {
      const broken: string[] = [];
      for (const link of localLinks(page)) {
        const [path = '', anchor] = link.split('#', 2);
        const target = path === '' ? page : join(dirname(page), decodeURIComponent(path));
        if (!existsSync(target)) {
          broken.push(`${link} (no file ${relative(ROOT, target)})`);
          continue;
        }
        if (anchor !== undefined && anchor !== '') {
          if (!statSync(target).isFile() || !target.endsWith('.md')) broken.push(`${link} (an anchor into a file that is not Markdown)`);
          else if (!anchors(target).has(anchor)) broken.push(`${link} (no heading with that anchor in ${relative(ROOT, target)})`);
        }
      }
      assert.deepEqual(broken, []);
    });
  }
});
