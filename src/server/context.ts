/**
 * What the parts of a running server share. One object, built once in app.ts.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { Broker } from '../broker/broker.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Connections } from './connections.js';
import type { FanoutStats } from './fanout.js';
import type { Rooms } from './rooms.js';

/** The shared state of one server. */
export interface ServerContext {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly app: TemplatedApp;
  readonly broker: Broker;
  readonly rooms: Rooms;
  readonly conns: Connections;
  readonly fanout: FanoutStats;
}

/** Now, in microseconds since the Unix epoch (sub-millisecond from the monotonic clock). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
