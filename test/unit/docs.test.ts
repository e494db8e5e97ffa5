/**
 * The docs are the user's catalogue: every error code and close code (docs/protocol.md) and every
 * option (docs/configuration.md) the code has is documented, and they document none the code
 * lacks. The README keeps the quick start.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULTS, envName, flagName, OPTIONS } from '../../src/config.js';
import { CloseCode, ErrorCode } from '../../src/protocol/errors.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const PROTOCOL = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const CONFIGURATION = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

function names(e: object): Array<[string, number]> {
  return Object.entries(e).filter(([k, v]) => typeof v === 'number' && !k.endsWith('_UNSPECIFIED')) as Array<[string, number]>;
}

describe('docs catalogues', () => {
  it('documents every error code in the table, and no other', () => {
    const documented = [...PROTOCOL.matchAll(/^\| `(ERROR_CODE_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(
      documented.sort(),
      names(ErrorCode)
        .map(([k]) => k)
        .sort(),
    );
  });

  it('documents every close code with its number, and no other', () => {
    const documented = [...PROTOCOL.matchAll(/^\| (\d{4}) \| `(CLOSE_CODE_[A-Z_]+)` \|/gm)].map((m) => [m[2], Number(m[1])]);
    assert.deepEqual(documented.sort(), names(CloseCode).sort());
  });

  it('documents every option with its flag, environment variable and default, and no other', () => {
    const rows = [...CONFIGURATION.matchAll(/^\| `(\w+)` \| `(--[\w-]+)` \| `(ROOMCAST_\w+)` \| [^|]+(?:\\\|[^|]+)* \| ([^|]+) \|/gm)];
    assert.deepEqual(
      rows.map((r) => r[1]),
      OPTIONS.map((o) => o.key),
    );
    for (const r of rows) {
      const o = OPTIONS.find((x) => x.key === r[1]);
      assert.ok(o);
      assert.equal(r[2], flagName(o.key));
      assert.equal(r[3], envName(o.key));
      const shown = (r[4] ?? '').trim();
      assert.equal(shown, o.secret ? '(none)' : `\`${JSON.stringify(DEFAULTS[o.key])}\``, `default of ${o.key}`);
    }
  });

  it('gives the two commands of the quick start', () => {
    assert.match(README, /npm ci[\s\S]*npm start[\s\S]*npm test/);
  });
});
