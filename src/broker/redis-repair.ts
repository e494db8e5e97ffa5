/**
 * Repair, don't lose: the order in which one process hands a room's events to its members.
 *
 * Redis pub/sub is at-most-once: a subscriber that reconnects (network blip, Redis restart,
 * failover, an output buffer over its limit) misses whatever was published meanwhile. Each
 * process therefore tracks, per room with local members, the position (epoch, seq) it last
 * delivered, and checks every channel message against it:
 * - the next seq: delivered;
 * - an old seq: a duplicate (the repair already delivered it), dropped;
 * - a gap: the missing events are read from the room's stream and delivered first, in order,
 *   while later messages of the room wait; whatever the stream no longer has is announced with
 *   `reset` (members get StreamReset), never skipped silently;
 * - another epoch: the stream was reset (its keys were lost): `reset`, then the new epoch's
 *   events the stream still has, then the message; late messages of an epoch the room has left
 *   are dropped (its members were told already).
 * After the subscriber reconnects, `check` compares each room's position in Redis with the one
 * delivered, so a quiet room catches up (or hears of the reset) without waiting for its next
 * event.
 *
 * Redis-free: the broker passes the reads in, so the logic is tested with fakes too.
 */
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import type { BrokerCounters, StreamPosition } from './broker.js';

/** One event as it reaches this process (from the channel or read back from the stream). */
export interface RoomEvent {
  room: string;
  epoch: string;
  seq: number;
  excludeSelf: boolean;
  connId: string;
  /** The Event protobuf without seq. */
  encoded: Uint8Array;
}

/** What the order needs from the broker. */
export interface RepairDeps {
  deliver(e: RoomEvent): void;
  reset(room: string, position: StreamPosition): void;
  /**
   * The events `from..to` of `room` under `epoch` that its stream still has, oldest first;
   * empty when the epoch is not the room's any more. Rejects when Redis cannot be read.
   */
  fetch(room: string, epoch: string, from: number, to: number): Promise<RoomEvent[]>;
  /**
   * The room's current position (created when it has none). With `delivered`: if the room is
   * still in that epoch but behind that seq (Redis lost its last writes), a new epoch is started
   * so that no seq is used twice. Rejects when Redis cannot be read.
   */
  position(room: string, delivered?: StreamPosition): Promise<StreamPosition>;
  /** Reports a failed read. */
  failed(err: unknown, room: string, what: string): void;
  /** How long `caughtUp` waits at most (default 5 s; tests shorten it). */
  catchUpMaxMs?: number;
}

/** Plain counters for /metrics (see BrokerCounters). */
export type RepairCounters = Omit<BrokerCounters, 'unavailable'>;

interface RoomState {
  readonly room: string;
  /** Last delivered; undefined until the first event or position. */
  pos: StreamPosition | undefined;
  /** A read is in flight: later events wait in `queue`. */
  busy: boolean;
  queue: RoomEvent[];
  /** A check was asked for while busy. */
  recheck: boolean;
  /** Epochs this room has left (the last few): late messages of theirs are dropped. */
  retired: string[];
  /** Reads waiting for delivery to reach their position (see caughtUp). */
  waiters: Waiter[];
}

interface Waiter {
  target: StreamPosition;
  resolve: () => void;
  timers: NodeJS.Timeout[];
  reject: (err: Error) => void;
}

/** Whether a room that delivered up to `pos` has delivered `target`. */
function reached(pos: StreamPosition | undefined, target: StreamPosition): boolean {
  return target.seq === 0 || (pos?.epoch === target.epoch && pos.seq >= target.seq);
}

/** How long `check` keeps retrying a position read while Redis comes back. */
const CHECK_RETRY_MS = 250;
const CHECK_ATTEMPTS = 40;
/** How long a read waits for delivery to catch up before a check, and at most. */
const CATCH_UP_CHECK_MS = 1000;
const CATCH_UP_MAX_MS = 5000;
/** Old epochs remembered per room. */
const RETIRED_KEPT = 4;

/** Tracks and repairs the delivery order of the rooms with local members. See the module comment. */
export class DeliveryOrder {
  private readonly rooms = new Map<string, RoomState>();
  readonly counters: RepairCounters = { gaps: 0, repairedEvents: 0, resets: 0, duplicates: 0, lateReads: 0 };

  constructor(private readonly deps: RepairDeps) {}

  /** The room has local members: track it. */
  open(room: string): void {
    if (!this.rooms.has(room)) this.rooms.set(room, { room, pos: undefined, busy: false, queue: [], recheck: false, retired: [], waiters: [] });
  }

  /** No local members left: forget it (an in-flight read finds it gone and stops). */
  close(room: string): void {
    const st = this.rooms.get(room);
    if (st !== undefined) this.release(st, true);
    this.rooms.delete(room);
  }

  /** Forgets every room. */
  clear(): void {
    for (const st of this.rooms.values()) this.release(st, true);
    this.rooms.clear();
  }

  /** Whether `room` is tracked (has local members). */
  has(room: string): boolean {
    return this.rooms.has(room);
  }

  /** The rooms tracked. */
  names(): IterableIterator<string> {
    return this.rooms.keys();
  }

  /** The position delivered in `room`, if known (for tests and diagnostics). */
  delivered(room: string): StreamPosition | undefined {
    const pos = this.rooms.get(room)?.pos;
    return pos === undefined ? undefined : { ...pos };
  }

  /**
   * A position read right after this process subscribed to the room: where delivery starts when
   * nothing was delivered yet (events up to it were published before anyone here joined).
   */
  baseline(room: string, position: StreamPosition): void {
    const st = this.rooms.get(room);
    if (st !== undefined && st.pos === undefined && !st.busy) {
      st.pos = { ...position };
      this.release(st, false);
    }
  }

  /**
   * Resolves once this process has delivered `room` up to `position` (read from Redis on another
   * connection than the subscriber's, so it can be ahead of what was delivered here). A reader
   * that goes on after this (a join reply, a replay) cannot then see those events again, live.
   * If delivery does not get there in time (the message was lost and nothing followed it), a
   * check repairs up to Redis's position. If it still has not got there after `catchUpMaxMs`,
   * this rejects with ERROR_CODE_INTERNAL (the client retries): answering anyway would let the
   * reader receive those events twice, once read and once live.
   */
  caughtUp(room: string, position: StreamPosition): Promise<void> {
    const st = this.rooms.get(room);
    if (st === undefined || reached(st.pos, position)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = { target: { ...position }, resolve, reject, timers: [] };
      w.timers.push(
        setTimeout(() => {
          this.check(room);
        }, CATCH_UP_CHECK_MS),
        setTimeout(() => {
          const i = st.waiters.indexOf(w);
          if (i >= 0) st.waiters.splice(i, 1);
          this.counters.lateReads += 1;
          reject(new ProtocolError(ErrorCode.ERROR_CODE_INTERNAL, `this server has not caught up with room "${room}" yet: try again`));
        }, this.deps.catchUpMaxMs ?? CATCH_UP_MAX_MS),
      );
      st.waiters.push(w);
    });
  }

  /** Resolves the waiters that delivery has reached (all of them with `all`). */
  private release(st: RoomState, all: boolean): void {
    if (st.waiters.length === 0) return;
    const waiting: Waiter[] = [];
    for (const w of st.waiters) {
      if (all || reached(st.pos, w.target)) {
        for (const t of w.timers) clearTimeout(t);
        w.resolve();
      } else {
        waiting.push(w);
      }
    }
    st.waiters = waiting;
  }

  /** A channel message. */
  event(e: RoomEvent): void {
    const st = this.rooms.get(e.room);
    if (st === undefined) return;
    if (st.busy) st.queue.push(e);
    else this.process(st, e);
  }

  private process(st: RoomState, e: RoomEvent): void {
    const pos = st.pos;
    if (pos === undefined) {
      st.pos = { epoch: e.epoch, seq: e.seq };
      this.deps.deliver(e);
      this.release(st, false);
    } else if (e.epoch !== pos.epoch) {
      if (st.retired.includes(e.epoch)) {
        // Sent before the room moved on; its members were told (reset) already.
        this.counters.duplicates += 1;
        return;
      }
      this.counters.gaps += 1;
      this.startRepair(st, e, e.epoch, 1, true);
    } else if (e.seq <= pos.seq) {
      this.counters.duplicates += 1;
    } else if (e.seq === pos.seq + 1) {
      pos.seq = e.seq;
      this.deps.deliver(e);
      if (st.waiters.length > 0) this.release(st, false);
    } else {
      this.counters.gaps += 1;
      this.startRepair(st, e, pos.epoch, pos.seq + 1, false);
    }
  }

  /** Puts `e` back at the head of the queue and fills `from..e.seq-1` before it. */
  private startRepair(st: RoomState, e: RoomEvent, epoch: string, from: number, newEpoch: boolean): void {
    st.queue.unshift(e);
    if (from > e.seq - 1) {
      // A new epoch at its first event: nothing to fetch.
      this.fill(st, epoch, from, e.seq - 1, [], newEpoch);
      this.finish(st);
      return;
    }
    st.busy = true;
    void this.repair(st, epoch, from, e.seq - 1, newEpoch);
  }

  /** Reads `from..to` of `epoch` and delivers it; the caller has set `busy`. */
  private async repair(st: RoomState, epoch: string, from: number, to: number, newEpoch: boolean): Promise<void> {
    let events: RoomEvent[] = [];
    try {
      events = await this.deps.fetch(st.room, epoch, from, to);
    } catch (err) {
      this.deps.failed(err, st.room, 'gap repair');
    }
    if (this.rooms.get(st.room) !== st) return;
    this.fill(st, epoch, from, to, events, newEpoch);
    this.finish(st);
  }

  /**
   * Delivers the contiguous tail of `events` that ends at `to`; anything before it is lost, and
   * members hear so (reset at the position just before the tail). Leaves the position at `to`.
   */
  private fill(st: RoomState, epoch: string, from: number, to: number, events: RoomEvent[], newEpoch: boolean): void {
    let start = events.length;
    let expect = to;
    while (start > 0 && events[start - 1]?.seq === expect) {
      start -= 1;
      expect -= 1;
    }
    const first = expect + 1;
    if (newEpoch || first !== from) {
      this.counters.resets += 1;
      this.deps.reset(st.room, { epoch, seq: first - 1 });
    }
    for (const e of events.slice(start)) this.deps.deliver(e);
    this.counters.repairedEvents += events.length - start;
    const old = st.pos?.epoch;
    if (old !== undefined && old !== epoch) {
      st.retired.push(old);
      if (st.retired.length > RETIRED_KEPT) st.retired.shift();
    }
    st.pos = { epoch, seq: to };
    this.release(st, false);
  }

  private isBusy(st: RoomState): boolean {
    return st.busy;
  }

  /** Ends a read: a pending check runs, or the queued events go out. */
  private finish(st: RoomState): void {
    st.busy = false;
    if (st.recheck) {
      st.recheck = false;
      this.check(st.room);
      return;
    }
    // process() may start a read (busy again): the queue then waits for it.
    while (!this.isBusy(st) && this.rooms.get(st.room) === st) {
      const next = st.queue.shift();
      if (next === undefined) return;
      this.process(st, next);
    }
  }

  /**
   * Compares the room's position in Redis with the one delivered (after a resubscribe):
   * catches up on what the stream has, or announces a reset.
   */
  check(room: string): void {
    const st = this.rooms.get(room);
    if (st === undefined) return;
    if (st.busy) {
      st.recheck = true;
      return;
    }
    st.busy = true;
    void this.runCheck(st);
  }

  private async runCheck(st: RoomState): Promise<void> {
    let now: StreamPosition | undefined;
    for (let attempt = 1; now === undefined && attempt <= CHECK_ATTEMPTS; attempt += 1) {
      try {
        now = await this.deps.position(st.room);
      } catch (err) {
        if (attempt === CHECK_ATTEMPTS) this.deps.failed(err, st.room, 'position check');
        else await new Promise((resolve) => setTimeout(resolve, CHECK_RETRY_MS));
      }
      if (this.rooms.get(st.room) !== st) return;
    }
    const pos = st.pos;
    if (now !== undefined && now.epoch === pos?.epoch && now.seq < pos.seq) {
      // Redis went back in time: move the room to a new epoch (or find that another process did).
      try {
        now = await this.deps.position(st.room, pos);
      } catch (err) {
        this.deps.failed(err, st.room, 'position check');
        now = undefined;
      }
      if (this.rooms.get(st.room) !== st) return;
    }
    if (now === undefined || pos === undefined || (now.epoch === pos.epoch && now.seq <= pos.seq)) {
      if (pos === undefined && now !== undefined) {
        st.pos = now;
        this.release(st, false);
      }
      this.finish(st);
      return;
    }
    this.counters.gaps += 1;
    if (now.epoch !== pos.epoch) {
      if (now.seq === 0) {
        this.fill(st, now.epoch, 1, 0, [], true);
        this.finish(st);
        return;
      }
      await this.repair(st, now.epoch, 1, now.seq, true);
    } else {
      await this.repair(st, pos.epoch, pos.seq + 1, now.seq, false);
    }
  }
}
