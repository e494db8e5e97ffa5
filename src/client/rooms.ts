/**
 * The rooms a client means to be in, and the last sequence number it saw in each: what a
 * reconnect rejoins, and where a resume would start from once the server keeps history.
 */

/** One room the client is in. */
interface RoomState {
  /** The largest sequence number seen in the room (events, publish and join replies). */
  lastSeq: number | undefined;
}

/** The rooms a client is in, by name. */
export class RoomSet {
  private readonly rooms = new Map<string, RoomState>();

  /** Records that the client is in `room`, whose sequence number is `seq` at the moment. */
  joined(room: string, seq: number): void {
    const r = this.rooms.get(room);
    if (r === undefined) this.rooms.set(room, { lastSeq: seq > 0 ? seq : undefined });
    // A rejoin resets the count: the room may have emptied and started over since.
    else r.lastSeq = seq > 0 ? seq : undefined;
  }

  /** Records a sequence number seen in `room` (an event, or the reply to a publish). */
  saw(room: string, seq: number): void {
    const r = this.rooms.get(room);
    if (r !== undefined && seq > (r.lastSeq ?? 0)) r.lastSeq = seq;
  }

  /** Forgets `room` (left, removed, or a rejoin failed). */
  forget(room: string): void {
    this.rooms.delete(room);
  }

  /** Whether the client is in `room`. */
  has(room: string): boolean {
    return this.rooms.has(room);
  }

  /** The last sequence number seen in `room`: where a resume would start. */
  lastSeq(room: string): number | undefined {
    return this.rooms.get(room)?.lastSeq;
  }

  /** The room names, in the order they were joined. */
  names(): string[] {
    return [...this.rooms.keys()];
  }
}
