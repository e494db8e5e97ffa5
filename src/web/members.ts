/**
 * Who is in the page's room, one entry per connection. A `presence` query replaces the whole
 * list; `presence` events (sent only in rooms the server's `presenceEvents` option names) patch
 * it in between. The page queries again every few seconds, so the list is right within that
 * time even where no events come. No DOM here, so it is unit-tested in Node.
 */
import type { PresenceChange, PresenceResult } from '../client/index.js';

/** One connection in the room and its user ('' for anonymous connections). */
export interface Member {
  connId: string;
  userId: string;
}

/** The room's connections; see the module comment. */
export class Members {
  private readonly byConn = new Map<string, string>();

  /** Takes a presence query's answer as the whole truth. Returns whether anything changed. */
  replace(result: PresenceResult): boolean {
    const next = new Map<string, string>();
    for (const m of result.members) for (const c of m.connIds) next.set(c, m.userId);
    const changed = next.size !== this.byConn.size || [...next].some(([c, u]) => this.byConn.get(c) !== u);
    this.byConn.clear();
    for (const [c, u] of next) this.byConn.set(c, u);
    return changed;
  }

  /** Applies one join or leave. Returns whether anything changed. */
  apply(change: PresenceChange): boolean {
    if (change.action === 'join') {
      if (this.byConn.get(change.connId) === change.userId) return false;
      this.byConn.set(change.connId, change.userId);
      return true;
    }
    if (change.action === 'leave') return this.byConn.delete(change.connId);
    return false;
  }

  /** Whether a connection is known to be in the room. */
  has(connId: string): boolean {
    return this.byConn.has(connId);
  }

  /** Forgets everyone (the page left the room). */
  clear(): void {
    this.byConn.clear();
  }

  /** How many connections are in the room. */
  get size(): number {
    return this.byConn.size;
  }

  /** Everyone, named users first (by name), then anonymous connections, each by connection id. */
  list(): Member[] {
    return [...this.byConn]
      .map(([connId, userId]) => ({ connId, userId }))
      .sort((a, b) => Number(a.userId === '') - Number(b.userId === '') || a.userId.localeCompare(b.userId) || a.connId.localeCompare(b.connId));
  }
}
