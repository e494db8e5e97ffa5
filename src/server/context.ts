/**
 * What the parts of a running server share. One object, built once in app.ts.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { Broker } from '../broker/broker.js';
import type { PresenceStore } from '../broker/presence.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { AddressLimits } from './address-limits.js';
import type { Expiries } from './auth/expiries.js';
import type { Authenticator } from './auth/tokens.js';
import type { ClientAddresses } from './client-address.js';
import type { Conn, Connections } from './connections.js';
import type { RoomPatterns } from './auth/permissions.js';
import type { Recoveries } from './recoveries.js';
import type { Rooms } from './rooms.js';
import type { Stats } from './stats.js';

/** The shared state of one server. */
export interface ServerContext {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly app: TemplatedApp;
  readonly broker: Broker;
  readonly presence: PresenceStore;
  readonly auth: Authenticator;
  /** Open connections by the second their token expires; one timer closes them (auth/expiries.ts). */
  readonly expiries: Expiries<Conn>;
  readonly rooms: Rooms;
  readonly conns: Connections;
  readonly stats: Stats;
  /** Rooms whose members get join/leave events. */
  readonly presenceRooms: RoomPatterns;
  /** Connections recovering into rooms: live events for them wait here (see recovery.ts). */
  readonly recoveries: Recoveries;
  /** Per-address connect rate and the rate state of closed connections. */
  readonly addressLimits: AddressLimits;
  /** Who per-address limits count a connection against (trustedProxies). */
  readonly clientAddresses: ClientAddresses;
}
