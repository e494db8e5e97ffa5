/**
 * Helpers for tests of the client SDK: waiting for a client event, and for a condition.
 */
import assert from 'node:assert/strict';
import type { ClientEvents, RoomcastClient } from '../src/client/index.js';
import { sleep, withTimeout } from './helpers.js';

/** The next `name` event of a client, or a timeout error naming it. */
export function next<K extends keyof ClientEvents>(c: RoomcastClient, name: K, ms = 5000): Promise<ClientEvents[K]> {
  return withTimeout(new Promise<ClientEvents[K]>((resolve) => c.once(name, resolve)), ms, `client event ${String(name)}`);
}

/** Resolves once `pred()` holds; fails the test after `ms`. */
export async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
