/**
 * Connections in the middle of a recovering join (see recovery.ts): not subscribed to the room's
 * topic yet, so the fan-out hands them the room's live events here instead, until their replay
 * from history is out. Empty almost always: the fan-out pays one size check per publish.
 *
 * No uWS types: entries hold a plain key for the connection.
 */
import type { SequencedPublication, StoredEvent, StreamPosition } from '../broker/broker.js';

/** A stream reset that happened while the connection was recovering. */
export interface ResetMark {
  reset: StreamPosition;
}

/** One connection recovering into one room. */
export interface Recovering {
  readonly connId: string;
  /** Live events (and resets) of the room since the recovery began, in order. */
  readonly buffer: Array<StoredEvent | ResetMark>;
  /** Bytes of the frames in `buffer`. */
  bytes: number;
  /** Past this many bytes `overflow` is called (once the replay is paced). */
  limit: number;
  overflow: (() => void) | undefined;
}

/** A replay waiting for its connection's send buffer to drain. */
export interface Paced {
  resume(): void;
}

/** The connections recovering, by room. */
export class Recoveries {
  private readonly byRoom = new Map<string, Set<Recovering>>();
  private readonly waiting = new Map<string, Set<Paced>>();

  /** Starts buffering `room` for a connection. */
  begin(room: string, connId: string): Recovering {
    const r: Recovering = { connId, buffer: [], bytes: 0, limit: Infinity, overflow: undefined };
    let set = this.byRoom.get(room);
    if (set === undefined) {
      set = new Set();
      this.byRoom.set(room, set);
    }
    set.add(r);
    return r;
  }

  /** Stops buffering for `r`. */
  end(room: string, r: Recovering): void {
    const set = this.byRoom.get(room);
    if (set === undefined) return;
    set.delete(r);
    if (set.size === 0) this.byRoom.delete(room);
  }

  /** Whether `connId` is recovering into `room`. */
  has(room: string, connId: string): boolean {
    for (const r of this.byRoom.get(room) ?? []) if (r.connId === connId) return true;
    return false;
  }

  /**
   * Hands a live event to the connections recovering into its room. `frame` makes the event's
   * protobuf frame when someone needs it; frames are views into reused buffers, so this copies.
   */
  offer(p: SequencedPublication, frame: (p: SequencedPublication) => Uint8Array): void {
    if (this.byRoom.size === 0) return;
    const set = this.byRoom.get(p.room);
    if (set === undefined) return;
    const e: StoredEvent = { seq: p.seq, frame: new Uint8Array(p.frame ?? frame(p)), connId: p.connId, excludeSelf: p.excludeSelf };
    for (const r of set) {
      r.buffer.push(e);
      r.bytes += e.frame.length;
      if (r.bytes > r.limit) r.overflow?.();
    }
  }

  /** `p` goes on when `connId` drains (or closes). */
  pace(connId: string, p: Paced): void {
    let set = this.waiting.get(connId);
    if (set === undefined) {
      set = new Set();
      this.waiting.set(connId, set);
    }
    set.add(p);
  }

  /** `p` is done. */
  unpace(connId: string, p: Paced): void {
    const set = this.waiting.get(connId);
    if (set === undefined) return;
    set.delete(p);
    if (set.size === 0) this.waiting.delete(connId);
  }

  /** The connection drained (uWS `drain`) or closed: paced replays go on (or give up). */
  resume(connId: string): void {
    if (this.waiting.size === 0) return;
    const set = this.waiting.get(connId);
    if (set === undefined) return;
    for (const p of [...set]) p.resume();
  }

  /** Hands a stream reset to the connections recovering into its room. */
  offerReset(room: string, position: StreamPosition): void {
    const set = this.byRoom.get(room);
    if (set === undefined) return;
    for (const r of set) r.buffer.push({ reset: position });
  }
}
