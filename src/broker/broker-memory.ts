/**
 * The default broker: one process, no network. Sequence numbers live in a map that holds an
 * entry only while the room has members.
 */
import type { Broker, BrokerHandlers, PresenceNotice, Publication, SequencedPublication } from './broker.js';

class MemoryBroker implements Broker {
  readonly kind = 'memory';
  private handlers: BrokerHandlers | undefined;
  private readonly seqs = new Map<string, number>();

  async start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
  }

  publish(p: Publication): number {
    const last = this.seqs.get(p.room);
    if (last === undefined || this.handlers === undefined) return 0;
    const seq = last + 1;
    this.seqs.set(p.room, seq);
    // The publication is ours for this call: number it in place rather than copy it.
    const sequenced = p as SequencedPublication;
    sequenced.seq = seq;
    this.handlers.deliver(sequenced);
    return seq;
  }

  announce(notice: PresenceNotice): void {
    if (this.seqs.has(notice.room)) this.handlers?.presence(notice);
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

  /** One process: every claim is its own. */
  claim(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.handlers = undefined;
    this.seqs.clear();
  }
}

/** Creates the in-process broker. */
export function createMemoryBroker(): Broker {
  return new MemoryBroker();
}
