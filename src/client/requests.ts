/**
 * Commands waiting for their replies: request ids, timeouts, and matching each reply (or Error)
 * to its command. Commands given while the client is not open wait here unsent, in order, until
 * a connection is ready; commands already sent when a connection drops cannot be answered any
 * more and fail.
 */
import type { ClientMessage, CommandName, ServerMessage } from '../protocol/types.js';
import { ErrorCode } from '../protocol/errors.js';
import { RoomcastClientError, ServerError, TimeoutError } from './errors.js';

interface Pending {
  readonly command: CommandName;
  readonly message: ClientMessage;
  readonly resolve: (reply: ServerMessage) => void;
  readonly reject: (err: Error) => void;
  readonly onReply: ((reply: ServerMessage) => void) | undefined;
  readonly timer: ReturnType<typeof setTimeout>;
  sent: boolean;
}

/** The largest request id: ids are uint32 on the wire. */
const MAX_ID = 2 ** 32 - 1;

/** The table of commands waiting for replies. */
export class Requests {
  private nextId = 1;
  // Insertion order is id order, which is the order unsent commands must go out in.
  private readonly pending = new Map<number, Pending>();

  /**
   * Registers `message` as command `command` and gives it an id. `reply` resolves with the
   * reply, or rejects with a {@link ServerError} or, after `timeoutMs`, a {@link TimeoutError}.
   * With `sent` false the command waits until {@link takeUnsent} hands it out; with `sent` true
   * the caller sends the returned `message` itself, now. `onReply` sees a successful reply
   * synchronously, before the next frame is read (the promise settles only later, after frames
   * already received), for state that the very next event depends on.
   */
  add(
    command: CommandName,
    message: ClientMessage,
    timeoutMs: number,
    sent: boolean,
    onReply?: (reply: ServerMessage) => void,
  ): { message: ClientMessage; reply: Promise<ServerMessage> } {
    const id = this.allocateId();
    const withId: ClientMessage = { ...message, id };
    const reply = new Promise<ServerMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(command, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { command, message: withId, resolve, reject, onReply, timer, sent });
    });
    return { message: withId, reply };
  }

  /** Unsent commands in order, now marked sent. */
  takeUnsent(): ClientMessage[] {
    const out: ClientMessage[] = [];
    for (const p of this.pending.values()) {
      if (p.sent) continue;
      p.sent = true;
      out.push(p.message);
    }
    return out;
  }

  /** Whether any command waits to be sent. */
  get hasUnsent(): boolean {
    for (const p of this.pending.values()) if (!p.sent) return true;
    return false;
  }

  /**
   * Settles the command `reply.id` answers. Returns false when no command waits for that id
   * (id 0, or a reply that came after its command timed out).
   */
  settle(reply: ServerMessage): boolean {
    const id = reply.id ?? 0;
    const p = id === 0 ? undefined : this.pending.get(id);
    if (p === undefined) return false;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (reply.error != null) {
      p.reject(new ServerError(p.command, reply.error.code ?? ErrorCode.ERROR_CODE_UNSPECIFIED, reply.error.message ?? ''));
    } else if (reply[p.command] == null) {
      // A reply of another kind would be a server bug; say so rather than hand over garbage.
      const kind = Object.keys(reply).find((k) => k !== 'id' && reply[k as keyof ServerMessage] != null) ?? 'nothing';
      p.reject(new RoomcastClientError(p.command, `${p.command}: the server replied with ${kind}`));
    } else {
      p.onReply?.(reply);
      p.resolve(reply);
    }
    return true;
  }

  /** Rejects the commands that were sent (their connection is gone) with `error(command)`. */
  failSent(error: (command: CommandName) => Error): void {
    this.fail((p) => p.sent, error);
  }

  /** Rejects every command, sent or not. */
  failAll(error: (command: CommandName) => Error): void {
    this.fail(() => true, error);
  }

  /** Commands waiting (sent or not). */
  get size(): number {
    return this.pending.size;
  }

  private fail(which: (p: Pending) => boolean, error: (command: CommandName) => Error): void {
    for (const [id, p] of this.pending) {
      if (!which(p)) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(error(p.command));
    }
  }

  private allocateId(): number {
    // Wraps after 2^32 - 1 commands; skips 0 (looks like a pushed message) and ids still waiting.
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= MAX_ID ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }
}
