/**
 * The Redis broker's subscriptions to room channels: one per room with local members, made
 * again after the subscriber reconnects, after which each room checks what it missed.
 */
import type { Logger } from '../log.js';
import { alreadyReported } from './broker.js';
import type { RedisAccess } from './redis-access.js';
import type { DeliveryOrder } from './redis-repair.js';
import { roomKeys } from './redis-scripts.js';

/** What the subscriptions need from the broker. */
export interface SubscriptionDeps {
  /** Prefix of every channel. */
  prefix: string;
  /** The connections (undefined before start and after close). */
  access: () => RedisAccess | undefined;
  /** The rooms this process delivers, and their checks after a reconnect. */
  order: DeliveryOrder;
  /** What a failed command becomes (an outage is logged there). */
  failure: (err: unknown, what: string) => unknown;
  log: Logger;
}

/** Subscriptions to the channels of the rooms with local members. */
export class RoomSubscriptions {
  /** Pending or done SUBSCRIBEs of open rooms: a join waits for its room's before answering. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: SubscriptionDeps) {}

  /** Subscribes to a room's channel; a failed SUBSCRIBE is forgotten, so the next join retries it. */
  subscribe(room: string): Promise<unknown> | undefined {
    const access = this.deps.access();
    if (access === undefined) return undefined;
    const done = access.subscribe(roomKeys(this.deps.prefix, room).channel);
    done.catch((err: unknown) => {
      const reported = !access.subscriberReady && alreadyReported(this.deps.failure(err, 'subscribe'));
      if (!reported) this.deps.log.error({ err, room }, 'subscribe failed');
      if (this.pending.get(room) === done) this.pending.delete(room);
    });
    this.pending.set(room, done);
    return done;
  }

  /** The room's subscription, once in place: the pending one, or a new one for an open room without. */
  settled(room: string): Promise<unknown> | undefined {
    return this.pending.get(room) ?? (this.deps.order.has(room) ? this.subscribe(room) : undefined);
  }

  /** Leaves a room's channel. */
  unsubscribe(room: string): void {
    this.pending.delete(room);
    this.deps
      .access()
      ?.unsubscribe(roomKeys(this.deps.prefix, room).channel)
      .catch((err: unknown) => {
        this.deps.log.warn({ err, room }, 'unsubscribe failed');
      });
  }

  /**
   * The subscriber reconnected: messages published meanwhile were lost to this process. Once the
   * subscriptions are back in place, each room compares its position in Redis with the one it
   * delivered (and repairs, or resets).
   */
  resubscribed(): void {
    const access = this.deps.access();
    const order = this.deps.order;
    const rooms = [...order.names()];
    if (access === undefined || rooms.length === 0) return;
    if (access.cluster) {
      // ioredis re-subscribes every channel itself after a node change (one SSUBSCRIBE per slot,
      // sent without waiting): check once those have had time to land.
      setTimeout(() => {
        for (const room of rooms) if (order.has(room)) order.check(room);
      }, 250).unref();
      return;
    }
    access.subscribe(...rooms.map((room) => roomKeys(this.deps.prefix, room).channel)).then(
      () => {
        for (const room of rooms) order.check(room);
      },
      (err: unknown) => {
        this.deps.log.warn({ err }, 'resubscribe failed');
      },
    );
  }

  /** Forgets every subscription (the connections are closing). */
  clear(): void {
    this.pending.clear();
  }
}
