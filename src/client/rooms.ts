/**
 * The rooms a client means to be in, and its position in each room's stream: what a reconnect
 * rejoins, and where recovery starts (Join.since). A position is the last event the application
 * was given, `(epoch, seq)`: events are numbered from 1 within an epoch, and a new epoch means
 * the numbering started over.
 */
import type { StreamPosition } from './types.js';

/** One room the client is in. */
interface RoomState {
  /** The last event handed to the application (or the room's position at the join). */
  position: StreamPosition | undefined;
}

/** What {@link RoomSet.event} decided about an event. */
export type EventVerdict =
  /** Not a room the client is in: pass it on, position untouched. */
  | 'untracked'
  /** The next event (or a later one): pass it on; the position moved to it. */
  | 'new'
  /** At or before the position in the same epoch: already handed over, drop it. */
  | 'duplicate';

/** The rooms a client is in, by name. */
export class RoomSet {
  private readonly rooms = new Map<string, RoomState>();

  /** Records that the client is in `room`, with no position yet (a join is on its way). */
  add(room: string): void {
    if (!this.rooms.has(room)) this.rooms.set(room, { position: undefined });
  }

  /**
   * Records a join reply (or a room of the Welcome) on a new connection, or a stream reset:
   * the room's position becomes `at`, except that under the same epoch it never moves back
   * (replayed events may already have taken it to `at.seq`).
   */
  joined(room: string, at: StreamPosition): void {
    const r = this.rooms.get(room);
    if (r === undefined) {
      this.rooms.set(room, { position: { ...at } });
      return;
    }
    if (r.position?.epoch === at.epoch && r.position.seq >= at.seq) return;
    r.position = { ...at };
  }

  /** The room's stream was reset (a new epoch): its position is `at`, whatever it was. */
  reset(room: string, at: StreamPosition): void {
    const r = this.rooms.get(room);
    if (r !== undefined) r.position = { ...at };
  }

  /**
   * Records the reply to a `join` of a room the client may already be in on this connection.
   * If it is, the reply changes nothing: events before the reply's seq may still be on their
   * way, and moving the position past them would drop them as duplicates.
   */
  joinedAgain(room: string, at: StreamPosition): void {
    const r = this.rooms.get(room);
    if (r?.position?.epoch === at.epoch) return;
    this.joined(room, at);
  }

  /**
   * An event of `room` with sequence number `seq` arrived. Events carry no epoch: they belong
   * to the epoch the client holds, which only a join reply or a stream reset changes.
   */
  event(room: string, seq: number): EventVerdict {
    const r = this.rooms.get(room);
    if (r?.position === undefined) return 'untracked';
    if (seq <= r.position.seq) return 'duplicate';
    r.position = { epoch: r.position.epoch, seq };
    return 'new';
  }

  /**
   * This client published event `seq` to `room` with exclude_self, so it will never receive
   * it: the position moves past it when it is the very next event (else an earlier event is
   * still on its way, and moving now would drop it).
   */
  skipped(room: string, seq: number): void {
    const r = this.rooms.get(room);
    if (r?.position !== undefined && seq === r.position.seq + 1) r.position = { epoch: r.position.epoch, seq };
  }

  /** Forgets `room` (left, removed, or a rejoin failed). */
  forget(room: string): void {
    this.rooms.delete(room);
  }

  /** Whether the client is in `room`. */
  has(room: string): boolean {
    return this.rooms.has(room);
  }

  /** The client's position in `room`: where recovery starts. A copy. */
  position(room: string): StreamPosition | undefined {
    const p = this.rooms.get(room)?.position;
    return p === undefined ? undefined : { ...p };
  }

  /** The room names, in the order they were joined. */
  names(): string[] {
    return [...this.rooms.keys()];
  }
}
