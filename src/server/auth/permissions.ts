/**
 * Which rooms an identity may join and publish to.
 *
 * Patterns are exact room names, a prefix ending in `*` ("team:*"), or `*` alone. Rooms named
 * `user:<id>` are per-user channels: only the user `<id>` may join them, whatever the patterns
 * say, so a backend can push to one person on all their devices.
 */

/** The prefix of per-user channels. */
export const USER_ROOM_PREFIX = 'user:';

/** A compiled list of room patterns. */
export class RoomPatterns {
  private readonly exact: ReadonlySet<string>;
  private readonly prefixes: readonly string[];
  private readonly any: boolean;

  constructor(patterns: readonly string[]) {
    this.any = patterns.includes('*');
    this.exact = new Set(patterns.filter((p) => !p.endsWith('*')));
    this.prefixes = patterns.filter((p) => p.endsWith('*') && p !== '*').map((p) => p.slice(0, -1));
  }

  /** Whether `room` matches any pattern. */
  matches(room: string): boolean {
    if (this.any || this.exact.has(room)) return true;
    for (const prefix of this.prefixes) if (room.startsWith(prefix)) return true;
    return false;
  }
}

/** What a connection is allowed. */
export interface Grants {
  join: RoomPatterns;
  publish: RoomPatterns;
  /** May use the admin side: presence of any room, the HTTP API with a token. */
  admin: boolean;
}

/** Who is on a connection. */
export interface Identity {
  /** The token's `sub`; '' for anonymous connections. */
  userId: string;
  anonymous: boolean;
  /** When the token expires (ms since the epoch); 0 = never. */
  expiresAtMs: number;
  grants: Grants;
}

/** Whether `who` may join `room`. */
export function canJoin(who: Identity, room: string): boolean {
  if (room.startsWith(USER_ROOM_PREFIX)) return !who.anonymous && room === USER_ROOM_PREFIX + who.userId;
  return who.grants.join.matches(room);
}

/** Whether `who` may publish to `room` (membership is checked separately). */
export function canPublish(who: Identity, room: string): boolean {
  if (room.startsWith(USER_ROOM_PREFIX)) return canJoin(who, room);
  return who.grants.publish.matches(room);
}
