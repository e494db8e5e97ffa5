/**
 * Which rooms have members on this process, and how many per encoding.
 *
 * A room is two uWS topics, one per encoding ("p:<room>" for protobuf members, "j:<room>" for
 * JSON members), so a publish can encode once per encoding and make one native publish each.
 * The counts come from uWS's subscription callback; nothing here polls. A room's entry exists
 * exactly while it has members: created by the first subscribe, dropped by the last unsubscribe
 * (including the implicit ones when a socket closes).
 *
 * No uWS types: this is fed topic names and counts, so it can be tested on its own.
 */
import type { Encoding } from '../protocol/types.js';

const PREFIX: Readonly<Record<Encoding, string>> = { proto: 'p:', json: 'j:' };

/** The topic that carries `room` to members of one encoding. */
export function topicFor(room: string, encoding: Encoding): string {
  return PREFIX[encoding] + room;
}

/** A room with members on this process. */
export interface RoomEntry {
  readonly name: string;
  readonly protoTopic: string;
  readonly jsonTopic: string;
  /** Members that take protobuf frames. */
  proto: number;
  /** Members that take JSON frames. */
  json: number;
  /** Connections recovering into the room (not subscribed yet, see recovery.ts). */
  held: number;
}

/** Told when a room gains its first member or loses its last one. */
export interface RoomHooks {
  opened(room: string): void;
  closed(room: string): void;
}

/** The room table of one process. */
export class Rooms {
  private readonly entries = new Map<string, RoomEntry>();
  private readonly hooks: RoomHooks;

  constructor(hooks: RoomHooks) {
    this.hooks = hooks;
  }

  /** Feeds one subscription change: `topic` now has `count` subscribers. */
  topicCount(topic: string, count: number): void {
    const encoding: Encoding | undefined = topic.startsWith(PREFIX.proto) ? 'proto' : topic.startsWith(PREFIX.json) ? 'json' : undefined;
    if (encoding === undefined) return;
    const name = topic.slice(2);
    let entry = this.entries.get(name);
    if (entry === undefined) {
      if (count === 0) return;
      entry = this.open(name);
    }
    entry[encoding] = count;
    this.closeIfEmpty(entry);
  }

  /**
   * Keeps `room` open for a connection that is about to join it but is not subscribed yet (it is
   * recovering missed events): the broker listens to the room meanwhile. Pair with release().
   */
  hold(room: string): void {
    const entry = this.entries.get(room) ?? this.open(room);
    entry.held += 1;
  }

  /** Ends a hold(). */
  release(room: string): void {
    const entry = this.entries.get(room);
    if (entry === undefined || entry.held === 0) return;
    entry.held -= 1;
    this.closeIfEmpty(entry);
  }

  private open(name: string): RoomEntry {
    const entry: RoomEntry = { name, protoTopic: topicFor(name, 'proto'), jsonTopic: topicFor(name, 'json'), proto: 0, json: 0, held: 0 };
    this.entries.set(name, entry);
    this.hooks.opened(name);
    return entry;
  }

  private closeIfEmpty(entry: RoomEntry): void {
    if (entry.proto + entry.json + entry.held !== 0) return;
    this.entries.delete(entry.name);
    this.hooks.closed(entry.name);
  }

  /** The entry of a room with members, or undefined. */
  get(room: string): RoomEntry | undefined {
    return this.entries.get(room);
  }

  /** Rooms with members, largest first. */
  list(): Array<{ name: string; members: number }> {
    return [...this.entries.values()]
      .map((e) => ({ name: e.name, members: e.proto + e.json }))
      .sort((a, b) => b.members - a.members || (a.name < b.name ? -1 : 1));
  }

  /** Room names with members, in no particular order. */
  names(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** How many rooms have members. */
  get size(): number {
    return this.entries.size;
  }
}
