/**
 * Per-connection state (the uWS user data) and the table of open connections.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'uWebSockets.js';
import type { Encoding } from '../protocol/codec.js';

/** One connection's state. uWS keeps this object as the socket's user data. */
export interface Conn {
  /** Unique across processes: "<node id>-<counter>". */
  readonly id: string;
  readonly encoding: Encoding;
  /** The room named in the URL path, joined on open. */
  readonly urlRoom: string | undefined;
  readonly remoteAddress: string;
  /** Rooms this connection is in. */
  readonly rooms: Set<string>;
  /** Unreadable frames in a row. */
  badFrames: number;
  /** Under the `drop` policy: found over maxBackpressure and not yet caught up. */
  slow: boolean;
  /** Set on open. */
  ws: WebSocket<Conn> | undefined;
  /** Set once the socket has closed; a closed socket must not be touched. */
  closed: boolean;
}

/** Open connections of this process, by id. */
export class Connections {
  /** This process's id, the prefix of every connection id. */
  readonly nodeId: string;
  private counter = 0;
  private readonly open = new Map<string, Conn>();

  constructor(nodeId = randomBytes(4).toString('hex')) {
    this.nodeId = nodeId;
  }

  /** A fresh connection record (not yet open). */
  create(encoding: Encoding, urlRoom: string | undefined, remoteAddress: string): Conn {
    this.counter += 1;
    return {
      id: `${this.nodeId}-${this.counter.toString(36)}`,
      encoding,
      urlRoom,
      remoteAddress,
      rooms: new Set(),
      badFrames: 0,
      slow: false,
      ws: undefined,
      closed: false,
    };
  }

  add(conn: Conn): void {
    this.open.set(conn.id, conn);
  }

  delete(conn: Conn): void {
    conn.closed = true;
    this.open.delete(conn.id);
  }

  get(id: string): Conn | undefined {
    return this.open.get(id);
  }

  get size(): number {
    return this.open.size;
  }

  values(): IterableIterator<Conn> {
    return this.open.values();
  }
}
