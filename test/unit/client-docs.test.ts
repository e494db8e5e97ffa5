/**
 * The SDK reference (docs/client.md) against the SDK: every command of the proto has a method and a
 * row in the method table, and every option and event of the SDK is documented (the typed
 * records below stop compiling when one is added without being listed here).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type ClientEvents, type ClientOptions, createClient } from '../../src/client/index.js';
import { oneofMembers } from '../../src/protocol/descriptors.js';

const section = readFileSync(new URL('../../docs/client.md', import.meta.url), 'utf8');

/** Rows of the first table whose header starts with `| first |`: cells, trimmed. */
function table(first: string): string[][] {
  const start = section.indexOf(`| ${first} |`);
  assert.ok(start >= 0, `a table starting with "${first}"`);
  const rows = section.slice(start).split('\n\n')[0]?.split('\n') ?? [];
  return rows.slice(2).map((r) =>
    r
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim()),
  );
}

const OPTIONS: Record<keyof ClientOptions, true> = {
  url: true,
  encoding: true,
  rooms: true,
  token: true,
  tokenTransport: true,
  requestTimeoutMs: true,
  connectTimeoutMs: true,
  closeTimeoutMs: true,
  reconnect: true,
  WebSocket: true,
};
const EVENTS: Record<keyof ClientEvents, true> = {
  event: true,
  open: true,
  rejoin: true,
  recovered: true,
  resync: true,
  presence: true,
  removed: true,
  disconnect: true,
  close: true,
  state: true,
  serverError: true,
  frameError: true,
};

describe('docs/client.md: the TypeScript SDK', () => {
  it('has a method, documented, for every command of the proto', () => {
    const rows = table('Method');
    const documented = new Map(rows.map((r) => [r[1]?.replace(/`/g, ''), r[0]?.replace(/`/g, '')]));
    const client = createClient({ url: 'ws://127.0.0.1:1/ws' }) as unknown as Record<string, unknown>;
    for (const command of oneofMembers('ClientMessage', 'command')) {
      const method = documented.get(command);
      assert.ok(method, `the README lists a method for the "${command}" command`);
      const name = method.slice(0, method.indexOf('('));
      assert.equal(typeof client[name], 'function', `RoomcastClient.${name} exists`);
    }
    assert.equal(rows.length, oneofMembers('ClientMessage', 'command').length, 'and no other rows');
  });

  it('documents every option and no other', () => {
    assert.deepEqual(
      table('Option')
        .map((r) => r[0]?.replace(/`/g, ''))
        .sort(),
      Object.keys(OPTIONS).sort(),
    );
  });

  it('documents every event and no other', () => {
    assert.deepEqual(
      table('Event')
        .map((r) => r[0]?.replace(/`/g, ''))
        .sort(),
      Object.keys(EVENTS).sort(),
    );
  });
});
