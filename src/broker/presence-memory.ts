/**
 * The in-process presence store: per room, connection -> user, and user -> connection count
 * (so distinct-user counts cost nothing). A room's entry goes with its last connection.
 */
import type { PresenceCounts, PresenceMember, PresenceStore } from './presence.js';

interface RoomPresence {
  conns: Map<string, string>;
  users: Map<string, number>;
}

class MemoryPresence implements PresenceStore {
  private readonly rooms = new Map<string, RoomPresence>();

  start(): Promise<void> {
    return Promise.resolve();
  }

  add(room: string, connId: string, userId: string): void {
    let r = this.rooms.get(room);
    if (r === undefined) {
      r = { conns: new Map(), users: new Map() };
      this.rooms.set(room, r);
    }
    if (r.conns.has(connId)) return;
    r.conns.set(connId, userId);
    r.users.set(userId, (r.users.get(userId) ?? 0) + 1);
  }

  remove(room: string, connId: string): void {
    const r = this.rooms.get(room);
    const userId = r?.conns.get(connId);
    if (r === undefined || userId === undefined) return;
    r.conns.delete(connId);
    const left = (r.users.get(userId) ?? 1) - 1;
    if (left === 0) r.users.delete(userId);
    else r.users.set(userId, left);
    if (r.conns.size === 0) this.rooms.delete(room);
  }

  members(room: string): Promise<PresenceMember[]> {
    const r = this.rooms.get(room);
    if (r === undefined) return Promise.resolve([]);
    const byUser = new Map<string, string[]>();
    for (const [connId, userId] of r.conns) {
      const list = byUser.get(userId);
      if (list === undefined) byUser.set(userId, [connId]);
      else list.push(connId);
    }
    return Promise.resolve([...byUser].map(([userId, connIds]) => ({ userId, connIds })));
  }

  counts(room: string): Promise<PresenceCounts> {
    const r = this.rooms.get(room);
    return Promise.resolve({ connections: r?.conns.size ?? 0, users: r?.users.size ?? 0 });
  }

  close(): Promise<void> {
    this.rooms.clear();
    return Promise.resolve();
  }
}

/** Creates the in-process presence store. */
export function createMemoryPresence(): PresenceStore {
  return new MemoryPresence();
}
