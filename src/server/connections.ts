/**
 * Per-connection state (the uWS user data) and the table of open connections, indexed by id,
 * by user and by remote address.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'uWebSockets.js';
import type { Encoding } from '../protocol/types.js';
import type { Identity } from './auth/permissions.js';
import type { CloseCode } from '../protocol/errors.js';
import type { CloseReason } from './close-reasons.js';
import type { RateState } from './rate-limit.js';

/** A close decided before the socket opened (limits, origin, a bad URL token). */
export interface Refusal {
  code: CloseCode;
  reason: string;
  why: CloseReason;
}

/**
 * What uWS keeps for a socket: the connection record behind one property. uWS.js copies the
 * user-data object's own properties onto its native socket object, and with a dozen of them that
 * object turns into a dictionary of ~0.7 KB per socket; with one it stays a small fast object.
 */
export interface SocketData {
  readonly conn: Conn;
}

/**
 * The rooms a connection is in: none, one room name, or (from a second room on) a Set. Most
 * connections are in one room, and a Set costs ~0.15 KB of heap where a string field costs none.
 */
export type RoomList = undefined | string | Set<string>;

/**
 * One connection's state. Kept lean, since a server holds one per socket: what only a feature in
 * use needs (a rate state, a timer, a second room) appears when that feature is used.
 */
export interface Conn {
  /** Unique across processes: "<node id>-<counter>". */
  readonly id: string;
  readonly encoding: Encoding;
  /** The room named in the URL path, joined on open (cleared once the connection is open). */
  urlRoom: string | undefined;
  readonly remoteAddress: string;
  readonly connectedAtUs: number;
  /** Rooms this connection is in (see {@link RoomList}; read through inRoom/roomCount/roomsOf). */
  rooms: RoomList;
  /** Who is on it; undefined until a token is verified (when the server requires one). */
  identity: Identity | undefined;
  /** A token is being verified (`connect`, or the URL token after open). */
  authPending: boolean;
  /** The `?token=` of the handshake, verified after open. */
  urlToken: string | undefined;
  /** Set by the upgrade when the connection is to be closed as soon as it opens. */
  refusal: Refusal | undefined;
  /**
   * Rate limit bucket and flood window (see rate-limit.ts): created by the first frame (or kept
   * from the address's last connection), so an idle connection holds none.
   */
  rate: RateState | undefined;
  /** Unreadable frames in a row. */
  badFrames: number;
  /** Under the `drop` policy: found over maxBackpressure and not yet caught up. */
  slow: boolean;
  /** The auth deadline (a connection that must still send `connect`); token expiry is in expiries.ts. */
  timer: NodeJS.Timeout | undefined;
  /** When its token expires, in whole seconds since the epoch (0: never, or no token). */
  expiresAtSec: number;
  /** Set on open. */
  ws: WebSocket<SocketData> | undefined;
  /** Set once the socket has closed; a closed socket must not be touched. */
  closed: boolean;
}

/** Whether `conn` is in `room`. */
export function inRoom(conn: Conn, room: string): boolean {
  const r = conn.rooms;
  return r === room || (typeof r === 'object' && r.has(room));
}

/** How many rooms `conn` is in. */
export function roomCount(conn: Conn): number {
  const r = conn.rooms;
  return r === undefined ? 0 : typeof r === 'string' ? 1 : r.size;
}

/** The rooms `conn` is in (a copy). */
export function roomsOf(conn: Conn): string[] {
  const r = conn.rooms;
  return r === undefined ? [] : typeof r === 'string' ? [r] : [...r];
}

/** Adds `room`; false if `conn` was in it already. */
export function addRoom(conn: Conn, room: string): boolean {
  const r = conn.rooms;
  if (r === undefined) conn.rooms = room;
  else if (typeof r === 'string') {
    if (r === room) return false;
    conn.rooms = new Set([r, room]);
  } else {
    if (r.has(room)) return false;
    r.add(room);
  }
  return true;
}

/** Removes `room`; false if `conn` was not in it. A Set left with one room goes back to a string. */
export function removeRoom(conn: Conn, room: string): boolean {
  const r = conn.rooms;
  if (r === undefined) return false;
  if (typeof r === 'string') {
    if (r !== room) return false;
    conn.rooms = undefined;
    return true;
  }
  if (!r.delete(room)) return false;
  if (r.size === 1) conn.rooms = r.values().next().value;
  else if (r.size === 0) conn.rooms = undefined;
  return true;
}

/** Open connections of this process. */
export class Connections {
  /** This process's id, the prefix of every connection id. */
  readonly nodeId: string;
  private counter = 0;
  private readonly open = new Map<string, Conn>();
  /** A user's one connection, or a Set from their second on (most users have one). */
  private readonly users = new Map<string, Conn | Set<Conn>>();
  /** Open connections per address, kept only when a per-address limit needs it. */
  private readonly addresses: Map<string, number> | undefined;

  /** `countAddresses`: keep the per-address count (for maxConnectionsPerIp). */
  constructor(nodeId = randomBytes(4).toString('hex'), countAddresses = true) {
    this.nodeId = nodeId;
    this.addresses = countAddresses ? new Map() : undefined;
  }

  /** A fresh connection record (not yet open). */
  create(encoding: Encoding, urlRoom: string | undefined, remoteAddress: string, identity: Identity | undefined, rate?: RateState): Conn {
    this.counter += 1;
    return {
      id: `${this.nodeId}-${this.counter.toString(36)}`,
      encoding,
      urlRoom,
      remoteAddress,
      connectedAtUs: Date.now() * 1000,
      rooms: undefined,
      identity,
      authPending: false,
      urlToken: undefined,
      refusal: undefined,
      rate,
      badFrames: 0,
      slow: false,
      timer: undefined,
      expiresAtSec: 0,
      ws: undefined,
      closed: false,
    };
  }

  /** Registers an opened connection. */
  add(conn: Conn): void {
    this.open.set(conn.id, conn);
    this.addresses?.set(conn.remoteAddress, (this.addresses.get(conn.remoteAddress) ?? 0) + 1);
    this.indexUser(conn);
  }

  /** Gives a connection its (new) identity and indexes it under the user. */
  setIdentity(conn: Conn, identity: Identity): void {
    this.unindexUser(conn);
    conn.identity = identity;
    if (this.open.has(conn.id)) this.indexUser(conn);
  }

  /** Forgets a closed connection. */
  delete(conn: Conn): void {
    conn.closed = true;
    if (!this.open.delete(conn.id)) return;
    const addresses = this.addresses;
    if (addresses !== undefined) {
      const n = (addresses.get(conn.remoteAddress) ?? 1) - 1;
      if (n === 0) addresses.delete(conn.remoteAddress);
      else addresses.set(conn.remoteAddress, n);
    }
    this.unindexUser(conn);
  }

  /** An open connection by id. */
  get(id: string): Conn | undefined {
    return this.open.get(id);
  }

  /** Open connections of a user. */
  ofUser(userId: string): Conn[] {
    const u = this.users.get(userId);
    return u === undefined ? [] : u instanceof Set ? [...u] : [u];
  }

  /** Open connections from an address (0 when not counted, see the constructor). */
  fromAddress(address: string): number {
    return this.addresses?.get(address) ?? 0;
  }

  /** How many connections are open. */
  get size(): number {
    return this.open.size;
  }

  /** The open connections. */
  values(): IterableIterator<Conn> {
    return this.open.values();
  }

  private indexUser(conn: Conn): void {
    const userId = conn.identity?.userId;
    if (userId === undefined || userId === '') return;
    const u = this.users.get(userId);
    if (u === undefined) this.users.set(userId, conn);
    else if (u instanceof Set) u.add(conn);
    else if (u !== conn) this.users.set(userId, new Set([u, conn]));
  }

  private unindexUser(conn: Conn): void {
    const userId = conn.identity?.userId;
    if (userId === undefined || userId === '') return;
    const u = this.users.get(userId);
    if (u === conn) this.users.delete(userId);
    else if (u instanceof Set) {
      u.delete(conn);
      if (u.size === 1) this.users.set(userId, u.values().next().value as Conn);
      else if (u.size === 0) this.users.delete(userId);
    }
  }
}
