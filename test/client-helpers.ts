/**
 * Helpers for tests of the client SDK: waiting for a client event, and for a condition; a TCP
 * proxy that stalls or cuts connections.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import type { ClientEvents, RoomcastClient } from '../src/client/index.js';
import { sleep, withTimeout } from './helpers.js';

/** The next `name` event of a client, or a timeout error naming it. */
export function next<K extends keyof ClientEvents>(c: RoomcastClient, name: K, ms = 5000): Promise<ClientEvents[K]> {
  return withTimeout(new Promise<ClientEvents[K]>((resolve) => c.once(name, resolve)), ms, `client event ${name}`);
}

/** Resolves once `pred()` holds; fails the test after `ms`. */
export async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * A TCP proxy in front of a server, for cutting or stalling a client's connection without
 * touching the client: `pause()` stops reading from the server (its send buffers fill, as with a
 * client that stopped reading), `cut()` resets every current connection (no close frame, no
 * FIN: the client sees 1006). New connections after a cut flow normally.
 */
export interface TcpProxy {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  pause(): void;
  resume(): void;
  cut(): void;
  close(): Promise<void>;
}

/** Starts a {@link TcpProxy} on 127.0.0.1 to `targetPort` (its target may change with `retarget`). */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy & { retarget(port: number): void }> {
  let target = targetPort;
  let accepted = 0;
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const server = createServer((client) => {
    accepted += 1;
    const upstream = connect(target, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    // Forwarded by hand, not with pipe(): pipe() resumes a paused source when the other side
    // drains, and pause() must hold until resume().
    client.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => client.write(d));
    client.on('end', () => upstream.end());
    // Whatever the server sent before it closed still reaches the client first.
    upstream.on('end', () => client.end());
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', () => pairs.delete(pair));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    get accepted() {
      return accepted;
    },
    retarget(p: number) {
      target = p;
    },
    pause() {
      for (const { upstream } of pairs) upstream.pause();
    },
    resume() {
      for (const { upstream } of pairs) upstream.resume();
    },
    cut() {
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
