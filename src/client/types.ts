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
  /** Per-room sequence number: 1 for the first event of the room's stream (epoch). */
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
  /**
   * Whether this client published it: its current connection, or (for an event replayed after a
   * reconnect) its previous one.
   */
  fromSelf: boolean;
}

/**
 * A position in a room's event stream: the last event seen. `seq` counts the room's events from
 * 1; `epoch` names one life of that count (it changes whenever the count cannot continue: the
 * stream expired, the server restarted with its in-memory broker, Redis lost the room). Under one
 * epoch `seq` never restarts.
 */
export interface StreamPosition {
  epoch: string;
  seq: number;
}

/** A room as joined: its name and its position at the moment of joining. */
export interface JoinResult {
  room: string;
  /** The room's last sequence number when the client joined (0 if it has had no event). */
  seq: number;
  /** The room's current epoch ('' from a server that keeps no streams). */
  epoch: string;
}

/**
 * The reply to a publish: the event's sequence number (0 when the room had no members and keeps
 * no history, so nothing was delivered or stored).
 */
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

/** How a rejoin with `since` went (the proto's RecoveryResult). */
export type RecoveryOutcome =
  /** Every missed event was replayed (as ordinary `event`s, before the `rejoin`). */
  | 'recovered'
  /** The room's stream was reset since (new epoch): events may be lost. Resync. */
  | 'epoch_changed'
  /** Some missed events are no longer in the room's history (size or age). Resync. */
  | 'too_old'
  /** The server did not say (it keeps no history): events may be lost. Resync. */
  | 'unsupported'
  /** Nothing to recover: a first join (no position yet), or the rejoin failed. */
  | 'none';

/** Why the client cannot vouch for a room's events any more: see {@link ResyncInfo}. */
export type ResyncReason = 'epoch_changed' | 'too_old' | 'unsupported' | 'stream_reset';

/**
 * A room the client joined by itself: after a reconnect (every room it was in, with `since` =
 * its position there), and on the first connection (the `rooms` option and the URL's room, with
 * `since` undefined). Replayed events come before it.
 */
export interface RejoinInfo {
  room: string;
  /** The client's position before the rejoin (what it asked to recover from); undefined for a first join. */
  since: StreamPosition | undefined;
  /** The room's position after the rejoin (and any replay); undefined if the rejoin failed. */
  position: StreamPosition | undefined;
  /** How recovery went. */
  recovery: RecoveryOutcome;
  /** How many events were replayed. */
  missed: number;
  /** Why the rejoin failed; the client no longer counts itself in the room. */
  error?: ServerError;
}

/** A rejoin replayed every missed event of a room: the client lost nothing there. */
export interface RecoveredInfo {
  room: string;
  /** How many events were replayed (emitted as `event`s just before this). */
  missed: number;
  /** The room's position now. */
  position: StreamPosition;
}

/**
 * Events of a room may have been lost and the client cannot replay them: the application should
 * reload the room's state from its own source of truth. Live events continue from `position`
 * (the next has seq `position.seq + 1`).
 */
export interface ResyncInfo {
  room: string;
  /**
   * `epoch_changed` / `too_old` / `unsupported`: a rejoin could not recover (see
   * {@link RecoveryOutcome}); `stream_reset`: the server reset the room's stream under a live
   * connection (StreamReset).
   */
  reason: ResyncReason;
  /** The client's position before. */
  previous: StreamPosition | undefined;
  /** The room's position now. */
  position: StreamPosition;
}

/** A room's stored events (the reply to `history`). */
export interface HistoryResult {
  room: string;
  /** The room's current epoch. */
  epoch: string;
  /** The room's current (last) sequence number. */
  seq: number;
  /** The events, in the order asked for. */
  events: RoomEvent[];
  /** `since` was given and every event after it is in `events` (within `limit`). */
  complete: boolean;
}

/** Counters of the client's recovery, for monitoring and tests. */
export interface ClientStats {
  /** Rejoins that replayed every missed event. */
  recovered: number;
  /** Events replayed by those rejoins. */
  replayed: number;
  /** `resync` events emitted (rejoins that could not recover, and stream resets). */
  resyncs: number;
  /** Events dropped because the client had already handed them over (seq at or before the room's position). */
  duplicatesDropped: number;
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
  /** A room was joined by the client itself: again after a reconnect, or first from the options (or failed to be). */
  rejoin: RejoinInfo;
  /** A rejoin replayed every event the client missed in a room. */
  recovered: RecoveredInfo;
  /** Events of a room may have been lost: reload its state (a rejoin could not recover, or the stream was reset). */
  resync: ResyncInfo;
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
