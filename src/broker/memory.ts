/**
 * The default broker: one process, no network. Sequence numbers live in a map that holds an
 * entry only while the room has members.
 */
import type { Broker, Deliver, Publication } from './broker.js';

class MemoryBroker implements Broker {
  readonly kind = 'memory';
  private deliver: Deliver | undefined;
  private readonly seqs = new Map<string, number>();

  async start(deliver: Deliver): Promise<void> {
    this.deliver = deliver;
  }

  publish(p: Publication): number {
    const last = this.seqs.get(p.room);
    if (last === undefined || this.deliver === undefined) return 0;
    const seq = last + 1;
    this.seqs.set(p.room, seq);
    this.deliver({ ...p, seq });
    return seq;
  }

  roomOpened(room: string): void {
    if (!this.seqs.has(room)) this.seqs.set(room, 0);
  }

  roomClosed(room: string): void {
    this.seqs.delete(room);
  }

  lastSeq(room: string): number {
    return this.seqs.get(room) ?? 0;
  }

  async close(): Promise<void> {
    this.deliver = undefined;
    this.seqs.clear();
  }
}

/** Creates the in-process broker. */
export function createMemoryBroker(): Broker {
  return new MemoryBroker();
}
