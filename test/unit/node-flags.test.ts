/**
 * The server's Node flags live in three places that must agree: the bin's shebang (src/cli.ts,
 * kept by tsc in dist/cli.js), `npm start`, and the bench's launcher, which measures the server
 * as users start it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ROOMCAST_NODE_FLAGS } from '../../bench/servers/roomcast.js';

const root = new URL('../../', import.meta.url);

test('the bin, npm start and the bench start roomcast with the same Node flags', () => {
  const shebang = readFileSync(new URL('src/cli.ts', root), 'utf8').split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${ROOMCAST_NODE_FLAGS.join(' ')}`);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.start, `node ${ROOMCAST_NODE_FLAGS.join(' ')} dist/cli.js`);
});
