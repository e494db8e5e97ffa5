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

/** One connection's state. uWS keeps this object as the socket's user data. */
export interface Conn {
  /** Unique across processes: "<node id>-<counter>". */
  readonly id: string;
  readonly encoding: Encoding;
  /** The room named in the URL path, joined on open. */
  readonly urlRoom: string | undefined;
  readonly remoteAddress: string;
  readonly connectedAtUs: number;
  /** Rooms this connection is in. */
  readonly rooms: Set<string>;
  /** Who is on it; undefined until a token is verified (when the server requires one). */
  identity: Identity | undefined;
  /** A token is being verified (`connect`, or the URL token after open). */
  authPending: boolean;
  /** The `?token=` of the handshake, verified after open. */
  urlToken: string | undefined;
  /** Set by the upgrade when the connection is to be closed as soon as it opens. */
  refusal: Refusal | undefined;
  /** Rate limit bucket and flood window (see rate-limit.ts). */
  rate: RateState;
  /** Unreadable frames in a row. */
  badFrames: number;
  /** Under the `drop` policy: found over maxBackpressure and not yet caught up. */
  slow: boolean;
  /** The auth deadline or the token expiry, whichever applies. */
  timer: NodeJS.Timeout | undefined;
  /** Set on open. */
  ws: WebSocket<Conn> | undefined;
  /** Set once the socket has closed; a closed socket must not be touched. */
  closed: boolean;
}

/** Open connections of this process. */
export class Connections {
  /** This process's id, the prefix of every connection id. */
  readonly nodeId: string;
  private counter = 0;
  private readonly open = new Map<string, Conn>();
  private readonly users = new Map<string, Set<Conn>>();
  private readonly addresses = new Map<string, number>();

  constructor(nodeId = randomBytes(4).toString('hex')) {
    this.nodeId = nodeId;
  }

  /** A fresh connection record (not yet open). */
  create(encoding: Encoding, urlRoom: string | undefined, remoteAddress: string, identity: Identity | undefined, rateLimitBurst: number): Conn {
    this.counter += 1;
    const now = performance.now();
    return {
      id: `${this.nodeId}-${this.counter.toString(36)}`,
      encoding,
      urlRoom,
      remoteAddress,
      connectedAtUs: Date.now() * 1000,
      rooms: new Set(),
      identity,
      authPending: false,
      urlToken: undefined,
      refusal: undefined,
      rate: { tokens: rateLimitBurst, refilledAt: now, periodStart: now, accepted: 0, refused: 0, prevAccepted: 0, prevRefused: 0 },
      badFrames: 0,
      slow: false,
      timer: undefined,
      ws: undefined,
      closed: false,
    };
  }

  /** Registers an opened connection. */
  add(conn: Conn): void {
    this.open.set(conn.id, conn);
    this.addresses.set(conn.remoteAddress, (this.addresses.get(conn.remoteAddress) ?? 0) + 1);
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
    const n = (this.addresses.get(conn.remoteAddress) ?? 1) - 1;
    if (n === 0) this.addresses.delete(conn.remoteAddress);
    else this.addresses.set(conn.remoteAddress, n);
    this.unindexUser(conn);
  }

  /** An open connection by id. */
  get(id: string): Conn | undefined {
    return this.open.get(id);
  }

  /** Open connections of a user. */
  ofUser(userId: string): Conn[] {
    return [...(this.users.get(userId) ?? [])];
  }

  /** Open connections from an address. */
  fromAddress(address: string): number {
    return this.addresses.get(address) ?? 0;
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
    let set = this.users.get(userId);
    if (set === undefined) {
      set = new Set();
      this.users.set(userId, set);
    }
    set.add(conn);
  }

  private unindexUser(conn: Conn): void {
    const userId = conn.identity?.userId;
    if (userId === undefined || userId === '') return;
    const set = this.users.get(userId);
    if (set === undefined) return;
    set.delete(conn);
    if (set.size === 0) this.users.delete(userId);
  }
}
