/**
 * What the parts of a running server share. One object, built once in app.ts.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { Broker } from '../broker/broker.js';
import type { PresenceStore } from '../broker/presence.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Authenticator } from './auth.js';
import type { Conn } from './connections.js';
import type { Connections } from './connections.js';
import type { RoomPatterns } from './permissions.js';
import type { Recoveries } from './recoveries.js';
import type { Rooms } from './rooms.js';
import type { CloseReason, Stats } from './stats.js';

/** The shared state of one server. */
export interface ServerContext {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly app: TemplatedApp;
  readonly broker: Broker;
  readonly presence: PresenceStore;
  readonly auth: Authenticator;
  readonly rooms: Rooms;
  readonly conns: Connections;
  readonly stats: Stats;
  /** Rooms whose members get join/leave events. */
  readonly presenceRooms: RoomPatterns;
  /** Connections recovering into rooms: live events for them wait here (see recovery.ts). */
  readonly recoveries: Recoveries;
}

/** Now, in microseconds since the Unix epoch (sub-millisecond from the monotonic clock). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Closes an open connection on the server's initiative, counting why. */
export function closeConn(ctx: ServerContext, conn: Conn, code: number, reason: string, why: CloseReason): void {
  if (conn.closed || conn.ws === undefined) return;
  ctx.stats.closed[why] += 1;
  // Close reasons travel in the close frame, which allows 123 bytes.
  conn.ws.end(code, Buffer.byteLength(reason) > 123 ? `${reason.slice(0, 100)}…` : reason);
}
