/**
 * When open connections' tokens expire, watched by one timer for the whole process rather than a
 * timer per connection (a Node Timeout with its closure is ~0.25 KB, held as long as the
 * connection). Tokens expire on whole seconds (JWT `exp`), so connections are filed by that
 * second: the connection itself while it is alone there, a Set once several share it. A tick a
 * second, running only while some connection is filed, hands every connection whose second has
 * come to `onExpire`; a connection is closed within a second of its `exp`.
 *
 * No uWS types: it files anything with an `expiresAtSec` field, so it is tested on its own.
 */

/** What is filed: `expiresAtSec` is owned by this class while filed (0 = not filed). */
export interface Expiring {
  expiresAtSec: number;
}

/** Token expiries of one process. */
export class Expiries<T extends Expiring> {
  private readonly bySecond = new Map<number, T | Set<T>>();
  private timer: NodeJS.Timeout | undefined;
  /** Every second up to this one has been handed out. */
  private checkedSec = 0;

  constructor(
    private readonly onExpire: (item: T) => void,
    private readonly nowMs: () => number = Date.now,
    private readonly tickMs = 1000,
  ) {}

  /** Files `item` to expire at `atSec` (seconds since the epoch; 0 = never), replacing any earlier filing. */
  set(item: T, atSec: number): void {
    this.remove(item);
    if (atSec === 0) return;
    if (this.timer === undefined) {
      this.checkedSec = Math.floor(this.nowMs() / 1000) - 1;
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
    // A second already handed out comes round with the next tick.
    const sec = Math.max(atSec, this.checkedSec + 1);
    item.expiresAtSec = sec;
    const there = this.bySecond.get(sec);
    if (there === undefined) this.bySecond.set(sec, item);
    else if (there instanceof Set) there.add(item);
    else this.bySecond.set(sec, new Set([there, item]));
  }

  /** Takes `item` out (on close, or a new token without expiry). */
  remove(item: T): void {
    const sec = item.expiresAtSec;
    if (sec === 0) return;
    item.expiresAtSec = 0;
    const there = this.bySecond.get(sec);
    if (there === item) this.bySecond.delete(sec);
    else if (there instanceof Set) {
      there.delete(item);
      if (there.size === 1) this.bySecond.set(sec, there.values().next().value as T);
      else if (there.size === 0) this.bySecond.delete(sec);
    }
    if (this.bySecond.size === 0) this.stop();
  }

  /** Hands out every item whose second has come (run by the timer; public for tests). */
  tick(): void {
    const nowSec = Math.floor(this.nowMs() / 1000);
    // A second is due once it has begun: `exp` is the first second the token is no longer valid.
    for (let sec = this.checkedSec + 1; sec <= nowSec; sec++) {
      const there = this.bySecond.get(sec);
      if (there === undefined) continue;
      this.bySecond.delete(sec);
      for (const item of there instanceof Set ? [...there] : [there]) {
        item.expiresAtSec = 0;
        this.onExpire(item);
      }
    }
    this.checkedSec = Math.max(this.checkedSec, nowSec);
    if (this.bySecond.size === 0) this.stop();
  }

  /** Items filed (for tests). */
  get size(): number {
    let n = 0;
    for (const there of this.bySecond.values()) n += there instanceof Set ? there.size : 1;
    return n;
  }

  /** Stops the timer (also on server close); filing again restarts it. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
