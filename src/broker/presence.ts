/**
 * Who is in which room, by user and connection. The server reports every join and leave;
 * queries come from the `presence`/`presenceStats` commands and the admin API.
 *
 * Plain ids only, no sockets. The in-process store is the default; a shared store (Redis) lets
 * several processes answer for the same room.
 */

/** One user in a room, with their connections there. */
export interface PresenceMember {
  userId: string;
  connIds: string[];
}

/** Counts for one room. */
export interface PresenceCounts {
  connections: number;
  users: number;
}

/** Where presence lives. */
export interface PresenceStore {
  /** Connects (if needed). Called before the server listens. */
  start(): Promise<void>;
  /** `connId` of `userId` is now in `room`. */
  add(room: string, connId: string, userId: string): void;
  /** `connId` has left `room`. */
  remove(room: string, connId: string): void;
  /** Everyone in `room`, grouped by user. */
  members(room: string): Promise<PresenceMember[]>;
  /** How many connections and distinct users are in `room`. */
  counts(room: string): Promise<PresenceCounts>;
  close(): Promise<void>;
}
