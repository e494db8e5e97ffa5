/**
 * What the client hands to applications: replies and pushed messages as plain, typed objects.
 * 64-bit fields (sequence numbers, microsecond times) are numbers: exact up to 2^53, which they
 * stay far below.
 */
import type { ServerError } from './errors.js';

/** Where the client is in its life. */
export type ClientState =
  /** Created; `connect()` not called yet. */
  | 'idle'
  /** Opening the first connection. */
  | 'connecting'
  /** Connected, authenticated if configured, rooms joined; commands go out at once. */
  | 'open'
  /** Lost its connection and will try again after a backoff delay (commands wait). */
  | 'reconnecting'
  /** Done: closed by `close()` or by a close code that says "do not reconnect". */
  | 'closed';

/** A text or binary payload. Text travels as a protobuf/JSON string, bytes as bytes/base64. */
export type Payload = string | Uint8Array;

/** A room event (roomcast.v1.Event), pushed to every member of the room. */
export interface RoomEvent {
  room: string;
  /** Per-room sequence number: 1 for the first event after the room came into being. */
  seq: number;
  /** When the server received the publish, in microseconds since the Unix epoch. */
  timeUs: number;
  /** Set for text events. */
  text?: string;
  /** Set for binary events. */
  data?: Uint8Array;
  /** The publishing connection; empty for server-side events (HTTP API, ticker). */
  connId: string;
  /** The publishing user; empty for server-side events and anonymous publishers. */
  userId: string;
  /** Whether this client's current connection published it. */
  fromSelf: boolean;
}

/** A room as joined: its name and its last sequence number at the moment of joining. */
export interface JoinResult {
  room: string;
  seq: number;
}

/** The reply to a publish: the event's sequence number (0 if the room had no members). */
export interface PublishResult {
  room: string;
  seq: number;
}

/** The first message of every connection (roomcast.v1.Welcome). */
export interface Welcome {
  connId: string;
  /** Rooms joined by the URL path (`/rooms/<room>`). */
  rooms: JoinResult[];
  maxPayloadBytes: number;
  /** The user of the token in the URL; empty when anonymous or not yet authenticated. */
  userId: string;
  /** Whether the server waits for a `connect` command before any other. */
  authRequired: boolean;
}

/** The reply to `authenticate` (the proto's `connect` command). */
export interface AuthResult {
  userId: string;
  /** When the token expires, in microseconds since the Unix epoch; 0 if it does not. */
  expiresAtUs: number;
}

/** The reply to `refresh`. */
export interface RefreshResult {
  expiresAtUs: number;
}

/** One user in a room, with each of their connections there. */
export interface PresenceMember {
  userId: string;
  connIds: string[];
}

/** Who is in a room. */
export interface PresenceResult {
  room: string;
  members: PresenceMember[];
}

/** How many connections and distinct users are in a room. */
export interface PresenceStatsResult {
  room: string;
  connections: number;
  users: number;
}

/** A member came or went (roomcast.v1.PresenceEvent), in a room with presence events on. */
export interface PresenceChange {
  room: string;
  action: 'join' | 'leave' | 'unspecified';
  userId: string;
  connId: string;
}

/** The server took this connection out of a room. The client forgets the room. */
export interface RemovedInfo {
  room: string;
  reason: string;
}

/**
 * A room the client joined by itself: after a reconnect (every room it was in), and on the first
 * connection (the `rooms` option and the URL's room). The resume hook: `lastSeq` is the last
 * sequence number this client knew of in the room before the connection dropped, `seq` the
 * room's sequence number now, so `lastSeq + 1 .. seq` were missed (unless `seq < lastSeq`: the
 * room emptied and started over). The server keeps no history yet; once it does, the client will
 * ask for those events on rejoin.
 */
export interface RejoinInfo {
  room: string;
  /**
   * The last sequence number the client knew of in the room (from an event, a publish reply or
   * the previous join); undefined for a first join or when the room had seen no event.
   */
  lastSeq: number | undefined;
  /** The room's sequence number at the rejoin; undefined if the rejoin failed. */
  seq: number | undefined;
  /** Why the rejoin failed; the client no longer counts itself in the room. */
  error?: ServerError;
}

/** A connection is ready (after its Welcome, authentication and rejoins). */
export interface OpenInfo {
  welcome: Welcome;
  /** False for the first connection, true after a reconnect. */
  reconnected: boolean;
}

/** A connection ended. */
export interface DisconnectInfo {
  /** The WebSocket close code (1006 when the connection dropped without one). */
  code: number;
  reason: string;
  /** Whether the client will reconnect. */
  reconnect: boolean;
  /** The backoff delay before the next attempt (0 when not reconnecting). */
  delayMs: number;
}

/** The client is done and will not reconnect. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** The events a client emits, by name. */
export interface ClientEvents {
  /** A connection is ready. */
  open: OpenInfo;
  /** A room event arrived. */
  event: RoomEvent;
  /** A member came or went in a room with presence events on. */
  presence: PresenceChange;
  /** The server took this connection out of a room. */
  removed: RemovedInfo;
  /** A room was joined again after a reconnect (or failed to be). */
  rejoin: RejoinInfo;
  /** A connection ended; `reconnect` says whether another follows. */
  disconnect: DisconnectInfo;
  /** The client is done. */
  close: CloseInfo;
  /** The state changed. */
  state: ClientState;
  /** An error from the server that answers no pending command (e.g. an unreadable frame). */
  serverError: ServerError;
  /** A frame from the server that this client could not read; it was skipped. */
  frameError: Error;
}
