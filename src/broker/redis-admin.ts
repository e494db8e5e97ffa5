/**
 * The Redis broker's admin channel: an admin action taken on one process (disconnect, remove)
 * reaches every other process of the deployment, and their answers are summed.
 *
 * Messages (JSON): `{t:'a', id, from, action}` an action, `{t:'r', id, to, n}` an answer
 * (`n` connections affected), addressed to the process that sent the action.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { AdminAction, AdminResult } from './broker.js';
import type { RedisAccess } from './redis-access.js';
import { controlChannel } from './redis-scripts.js';

/** What the admin channel needs from the broker. */
export interface AdminDeps {
  /** Prefix of every key and channel. */
  prefix: string;
  /** The connections (undefined before start and after close). */
  access: () => RedisAccess | undefined;
  /** Applies another process's action here; returns the connections it affected. */
  apply: (action: AdminAction) => number;
  /** What a failed command becomes (an outage is logged there). */
  failure: (err: unknown, what: string) => unknown;
  /** How long an action waits for the other processes' answers (ms). */
  replyMs: number;
  log: Logger;
}

interface AdminWait {
  sum: number;
  answered: number;
  expected: number;
  done: () => void;
}

/** This process's end of the admin channel. */
export class AdminChannel {
  /** The channel's name. */
  readonly name: string;
  private readonly nameBytes: Buffer;
  /** This process's name on the channel. */
  private readonly processId = randomBytes(8).toString('hex');
  private readonly waits = new Map<string, AdminWait>();
  private seq = 0;

  constructor(private readonly deps: AdminDeps) {
    this.name = controlChannel(deps.prefix);
    this.nameBytes = Buffer.from(this.name);
  }

  /** Whether a message arrived on this channel. */
  carries(channel: Buffer): boolean {
    return channel.equals(this.nameBytes);
  }

  /** Subscribes to the channel; without it, other processes' actions do not reach this one. */
  async listen(access: RedisAccess): Promise<void> {
    await access.subscribe(this.name).catch((err: unknown) => {
      this.deps.log.warn({ err }, 'cannot subscribe to the admin channel: admin actions of other processes will not reach this one');
    });
  }

  /**
   * Carries an admin action to every other process through the admin channel and sums the
   * connections they report. PUBLISH (SPUBLISH on the fixed admin shard of a cluster) answers
   * how many processes are subscribed, so the wait ends as soon as all of them have answered,
   * or after `replyMs`: a process that answers later is not counted (its action still
   * happens).
   */
  async send(action: AdminAction): Promise<AdminResult> {
    const access = this.deps.access();
    if (access === undefined) throw new Error('the Redis broker is not started');
    this.seq += 1;
    const id = `${this.processId}:${String(this.seq)}`;
    let finish = (): void => undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const wait: AdminWait = { sum: 0, answered: 0, expected: Number.POSITIVE_INFINITY, done: finish };
    this.waits.set(id, wait);
    const timer = setTimeout(finish, this.deps.replyMs);
    try {
      let receivers: number;
      try {
        receivers = await access.publish(this.name, JSON.stringify({ t: 'a', id, from: this.processId, action }));
      } catch (err) {
        throw this.deps.failure(err, 'admin');
      }
      wait.expected = Math.max(0, receivers - 1);
      if (wait.answered >= wait.expected) finish();
      await finished;
      return { connections: wait.sum, processes: wait.answered, expected: wait.expected };
    } finally {
      clearTimeout(timer);
      this.waits.delete(id);
    }
  }

  /** A message on the admin channel: another process's action (apply, answer) or an answer. */
  receive(text: string): void {
    const m = JSON.parse(text) as { t: string; id: string; from?: string; to?: string; action?: AdminAction; n?: number };
    if (m.t === 'a') {
      if (m.from === this.processId || m.action === undefined || m.from === undefined) return;
      const n = this.deps.apply(m.action);
      this.deps
        .access()
        ?.publish(this.name, JSON.stringify({ t: 'r', id: m.id, to: m.from, n }))
        .catch((err: unknown) => {
          this.deps.log.warn({ err }, 'admin answer not sent');
        });
    } else if (m.t === 'r' && m.to === this.processId) {
      const wait = this.waits.get(m.id);
      if (wait === undefined) return;
      wait.sum += typeof m.n === 'number' ? m.n : 0;
      wait.answered += 1;
      if (wait.answered >= wait.expected) wait.done();
    }
  }

  /** Ends every wait (with what has been counted so far). */
  close(): void {
    for (const w of this.waits.values()) w.done();
    this.waits.clear();
  }
}
