/**
 * How a publish reaches every process that has members in a room.
 *
 * The server calls `publish` for every event (from a client, the HTTP API or the ticker). The
 * broker gives the event its room sequence number and hands it to `deliver` in every process
 * that has opened the room, this one included; `deliver` does the local fan-out. The server
 * tells the broker which rooms have local members (`roomOpened`/`roomClosed`), so a broker
 * only listens for rooms it has to.
 *
 * The broker sees room names, numbers and bytes only: no sockets, no uWS types.
 */

/** An event before it has a sequence number. */
export interface Publication {
  room: string;
  /** Server receive time, microseconds since the Unix epoch. */
  timeUs: number;
  text?: string | undefined;
  /**
   * Bytes payload. From a WebSocket frame this is a view into uWS's receive buffer, valid only
   * until the message handler returns: a broker that keeps it past `publish` must copy it first
   * (the Redis broker encodes it before its first await).
   */
  data?: Uint8Array | undefined;
  /** The publishing connection's id, '' for server-side publishes. */
  connId: string;
  /** The publishing user's id, '' for server-side and anonymous publishes. */
  userId: string;
  /** What made a server-side publish ("ticker", "http", an HTTP caller's name); unset for clients'. */
  source?: string | undefined;
  /** Leave the publishing connection out of the fan-out (publish_no_self). */
  excludeSelf: boolean;
}

/**
 * A position in a room's event stream: the last event seen. `epoch` names one life of the room's
 * sequence (it changes whenever the sequence cannot continue); `seq` never restarts under the
 * same epoch.
 */
export interface StreamPosition {
  epoch: string;
  seq: number;
}

/** One stored event, ready to send. */
export interface StoredEvent {
  seq: number;
  /** The complete protobuf frame a member receives (ServerMessage{event}, with seq); owned. */
  frame: Uint8Array;
  /** The publishing connection ('' for server-side publishes). */
  connId: string;
  /** Published with exclude_self: never replayed to its publisher. */
  excludeSelf: boolean;
}

/** What to read from a room's history. */
export interface HistoryQuery {
  /** The events after this position (oldest first); without it, the newest `limit`. */
  since?: StreamPosition | undefined;
  /** At most this many events. */
  limit: number;
  /** Without `since`: newest first instead of oldest first. */
  reverse: boolean;
}

/** Why a read from `since` could not return every event after it. */
export type HistoryMiss = 'epoch_changed' | 'too_old';

/** The answer to a history read. */
export interface HistoryRead {
  /** The room's current position. */
  epoch: string;
  seq: number;
  /**
   * With `since`: the events after since.seq, oldest first (all of them when `complete`, else up
   * to `limit`). Without: the newest `limit`, in the order asked for.
   */
  events: StoredEvent[];
  /** `since` was given and every event after it is in `events`. */
  complete: boolean;
  /** Why not complete (when `since` was given). */
  miss?: HistoryMiss | undefined;
}

/** An event with its room sequence number, as delivered to each process. */
export interface SequencedPublication extends Publication {
  seq: number;
  /**
   * The complete protobuf frame (ServerMessage{event} with seq), when the broker already made it
   * (to store it): the fan-out sends these bytes instead of encoding again. A view that is valid
   * only during `deliver`: copy it to keep it.
   */
  frame?: Uint8Array | undefined;
  /**
   * The event as protobuf (roomcast.v1.Event without seq), when it was encoded in another
   * process. The fan-out then frames these bytes for protobuf members instead of encoding
   * again, and decodes them only if the room has JSON members; timeUs, text, data, userId and
   * source are not filled in.
   */
  encoded?: Uint8Array;
}

/**
 * Whether a broker has already logged `err` (e.g. Redis being away, which it reports once per
 * outage rather than once per failed operation): callers answer it without logging it again.
 */
export function alreadyReported(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { reported?: unknown }).reported === true;
}

/** Called for each publication that reaches this process, in room order. */
export type Deliver = (publication: SequencedPublication) => void;

/** A join or leave in a room that has presence events on. Not sequenced. */
export interface PresenceNotice {
  room: string;
  action: 'join' | 'leave';
  userId: string;
  connId: string;
}

/** What a broker hands to the server. */
export interface BrokerHandlers {
  /** Fans a sequenced publication out to this process's members. */
  deliver: Deliver;
  /** Fans a presence notice out to this process's members. */
  presence(notice: PresenceNotice): void;
  /**
   * The room's stream was reset under this process's members (a new epoch: events may have been
   * lost); `position` is where the new stream stands (its next event has seq + 1).
   */
  reset(room: string, position: StreamPosition): void;
  /** Applies another process's admin action to this process's connections; returns how many it affected. */
  admin?(action: AdminAction): number;
}

/** An admin action carried to every process (see Broker.admin). */
export type AdminAction =
  { kind: 'disconnect'; userId: string; reason: string; reconnect: boolean } | { kind: 'remove'; userId: string; room: string; reason: string };

/** What the other processes answered to an admin action. */
export interface AdminResult {
  /** Connections they affected, summed over the answers that arrived in time. */
  connections: number;
  /** Processes that answered in time. */
  processes: number;
  /** Processes that got the action (other than this one). */
  expected: number;
}

/** The sequence number given to a publication; 0 when no process had the room open. */
export type PublishResult = number | Promise<number>;

/** A message bus between server processes. See the module comment. */
export interface Broker {
  /** A short name for logs and metrics ("memory", "redis"). */
  readonly kind: string;
  /** Connects (if needed) and starts handing publications and notices to `handlers`. */
  start(handlers: BrokerHandlers): Promise<void>;
  /**
   * Sequences and delivers a publication. In-process brokers deliver before returning and
   * return the number; others return a promise.
   */
  publish(publication: Publication): PublishResult;
  /** Delivers a presence notice to every process with the room open. */
  announce(notice: PresenceNotice): void;
  /** This process now has members in `room`. */
  roomOpened(room: string): void;
  /** This process has no members left in `room`; its state may go. */
  roomClosed(room: string): void;
  /**
   * The room's current position; creates the stream (a new epoch) if it has none. A broker that
   * listens over the network resolves once this process's subscription to the room is in place,
   * so a publish made after the answer cannot miss this process.
   */
  stream(room: string): StreamPosition | Promise<StreamPosition>;
  /** Stored events of a room (see {@link HistoryRead}). */
  history(room: string, query: HistoryQuery): HistoryRead | Promise<HistoryRead>;
  /**
   * Claims `key` for `ttlMs` among all processes: true for the first claim, false while it
   * holds. Lets periodic server-side work (the ticker) run once per room, not once per process.
   */
  claim(key: string, ttlMs: number): boolean | Promise<boolean>;
  /** Stops delivering and releases connections. */
  close(): Promise<void>;
  /**
   * Carries an admin action to the other processes (brokers shared between processes); resolves
   * with what they answered within a bounded wait.
   */
  admin?(action: AdminAction): Promise<AdminResult>;
  /** What this process holds for room streams, for brokers that keep them in memory. */
  usage?(): { streams: number; bytes: number };
  /** Delivery repair counters, for brokers that repair what the network lost (Redis). */
  readonly counters?: BrokerCounters;
}

/** Counters of a broker that repairs delivery between processes (Redis), for /metrics. */
export interface BrokerCounters {
  /** Gaps found in a room's delivery (a seq skipped, or a new epoch). */
  gaps: number;
  /** Events read back from a room's stream to fill a gap. */
  repairedEvents: number;
  /** StreamReset notices given to a room's members (what could not be repaired, a new epoch). */
  resets: number;
  /** Messages dropped because they had been delivered already (or belong to an epoch left). */
  duplicates: number;
  /** Operations (publishes, joins, reads) that failed because the broker's backend was away. */
  unavailable: number;
  /** Reads (joins, history) that went on before this process had delivered up to their position. */
  lateReads: number;
}
