/**
 * Joining a room with `since`: replay what the connection missed, then go live, with no gap and
 * no duplicate, whether the broker answers at once (in-process) or over the network (Redis).
 *
 * 1. The room is held open (the broker listens to it) and the connection starts collecting the
 *    room's live events (recoveries.ts) without being subscribed to its topic yet.
 * 2. The broker gives the room's position (for Redis, once this process's subscription is in
 *    place) and the stored events after `since`.
 * 3. The replayed events go out, then the collected live events newer than the last replayed
 *    one (and any stream reset among them), then the connection subscribes to the topic and the
 *    JoinReply follows at once. Live events published after that reach the connection through
 *    its topic, after everything above (uWS sends publishes at the end of the loop iteration,
 *    and a socket subscribed after a publish does not get it).
 *
 * Step 3 is paced by the send buffer: it runs in one corked burst when everything fits under a
 * quarter of maxBackpressure (the usual case), and otherwise sends up to that mark and goes on
 * from uWS's `drain` callback, so a large replay never makes the connection a slow consumer.
 * Live events collected meanwhile are bounded by maxBackpressure: past it the connection is
 * closed as a slow consumer (4000), and its next join recovers from where it got to.
 *
 * An event published with exclude_self is never replayed to its publisher: neither to this
 * connection nor to the one it names as its previous (Join.previous_conn_id).
 */
import type { HistoryRead, StoredEvent, StreamPosition } from '../broker/broker.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { decodeEventFrame, encodeEventJson } from '../protocol/events.js';
import { RecoveryResult } from '../protocol/types.js';
import { closeConn } from './close.js';
import type { Conn } from './connections.js';
import type { ServerContext } from './context.js';
import { enterRoom } from './membership.js';
import type { Recovering } from './recoveries.js';
import { send } from './send.js';

/** What a recovering join answers (the JoinReply's fields). */
export interface JoinOutcome {
  epoch: string;
  seq: number;
  recovered: boolean;
  missed: number;
  recovery: RecoveryResult;
}

/** Stored events read for one replay at most (the room's history size bounds it first). */
const MAX_REPLAY_EVENTS = 100_000;

function sendEvent(conn: Conn, frame: Uint8Array): void {
  const ws = conn.ws;
  if (ws === undefined) return;
  if (conn.encoding === 'proto') ws.send(frame, true);
  else ws.send(encodeEventJson(decodeEventFrame(frame)), false);
}

function sendReset(conn: Conn, room: string, position: StreamPosition): void {
  send(conn, { streamReset: { room, epoch: position.epoch, seq: position.seq } });
}

/** Whether an event must not go to this connection (its own exclude_self publish). */
function ownExcluded(e: StoredEvent, conn: Conn, previousConnId: string): boolean {
  return e.excludeSelf && (e.connId === conn.id || (previousConnId !== '' && e.connId === previousConnId));
}

/** Settles a paced replay. */
interface Settle {
  resolve(outcome: JoinOutcome): void;
  reject(err: unknown): void;
}

/**
 * Joins `conn` to `room` (validated, allowed, not a member yet) and replays the events after
 * `since`. Returns (in-process broker, small replay) or resolves once everything up to the live
 * stream has been sent; the caller sends the JoinReply right after. Rejects if the broker fails
 * or the connection goes: then the connection is not in the room.
 */
export function recoverJoin(ctx: ServerContext, conn: Conn, room: string, since: StreamPosition, previousConnId: string): JoinOutcome | Promise<JoinOutcome> {
  if (ctx.recoveries.has(room, conn.id)) throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, `already joining room "${room}"`);
  ctx.rooms.hold(room);
  const pending = ctx.recoveries.begin(room, conn.id);
  const done = (): void => {
    ctx.recoveries.end(room, pending);
    ctx.rooms.release(room);
  };
  const query = { since, limit: MAX_REPLAY_EVENTS, reverse: false };
  let read: HistoryRead | Promise<HistoryRead>;
  try {
    const position = ctx.broker.stream(room);
    read = position instanceof Promise ? position.then(() => ctx.broker.history(room, query)) : ctx.broker.history(room, query);
  } catch (err) {
    done();
    throw err;
  }
  if (!(read instanceof Promise)) {
    const replay = new Replay(ctx, conn, room, since, previousConnId, read, pending, done);
    // Inside the message handler: the socket is corked already.
    const outcome = replay.step();
    if (outcome !== undefined) return outcome;
    return replay.paced();
  }
  return read.then(
    (r) => {
      if (conn.ws === undefined || conn.closed) {
        done();
        throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'the connection closed');
      }
      const replay = new Replay(ctx, conn, room, since, previousConnId, r, pending, done);
      let outcome: JoinOutcome | undefined;
      conn.ws.cork(() => {
        outcome = replay.step();
      });
      return outcome ?? replay.paced();
    },
    (err: unknown) => {
      done();
      throw err;
    },
  );
}

/** Step 3 of the module comment for one connection and room. */
class Replay {
  private readonly replay: StoredEvent[];
  private readonly recovery: RecoveryResult;
  private next = 0;
  private nextLive = 0;
  private epoch: string;
  private last: number;
  private settle: Settle | undefined;
  private finished = false;
  private error: Error | undefined;

  constructor(
    private readonly ctx: ServerContext,
    private readonly conn: Conn,
    private readonly room: string,
    since: StreamPosition,
    private readonly previousConnId: string,
    private readonly read: HistoryRead,
    private readonly pending: Recovering,
    private readonly done: () => void,
  ) {
    if (read.complete) {
      this.recovery = RecoveryResult.RECOVERY_RESULT_RECOVERED;
      this.replay = read.events.filter((e) => !ownExcluded(e, conn, previousConnId));
    } else {
      this.recovery = read.miss === 'too_old' ? RecoveryResult.RECOVERY_RESULT_TOO_OLD : RecoveryResult.RECOVERY_RESULT_EPOCH_CHANGED;
      this.replay = [];
    }
    this.epoch = read.epoch;
    this.last = read.complete ? since.seq : read.seq;
    pending.limit = ctx.config.maxBackpressure;
    pending.overflow = () => this.overflow();
  }

  /** Whether the send buffer has room for more now. */
  private bufferHasSpace(): boolean {
    const ws = this.conn.ws;
    return ws !== undefined && ws.getBufferedAmount() < this.ctx.config.maxBackpressure / 4;
  }

  /**
   * Sends what the send buffer takes (call inside a cork). Returns the outcome when everything
   * is out and the connection is in the room, undefined when it waits for a drain.
   */
  step(): JoinOutcome | undefined {
    const { conn, replay, pending } = this;
    if (conn.closed || conn.ws === undefined) {
      this.fail(new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'the connection closed'));
      return undefined;
    }
    while (this.next < replay.length) {
      if (!this.bufferHasSpace()) return undefined;
      const e = replay[this.next] as StoredEvent;
      sendEvent(conn, e.frame);
      this.last = e.seq;
      this.next += 1;
    }
    // Live events that arrived meanwhile, past what was replayed.
    while (this.nextLive < pending.buffer.length) {
      if (!this.bufferHasSpace()) return undefined;
      const item = pending.buffer[this.nextLive];
      this.nextLive += 1;
      if (item === undefined) continue;
      if ('reset' in item) {
        sendReset(conn, this.room, item.reset);
        this.epoch = item.reset.epoch;
        this.last = item.reset.seq;
      } else if (item.seq > this.last) {
        if (!ownExcluded(item, conn, this.previousConnId)) sendEvent(conn, item.frame);
        this.last = item.seq;
      }
    }
    return this.finish();
  }

  private finish(): JoinOutcome {
    const { ctx, read } = this;
    this.finished = true;
    ctx.recoveries.unpace(this.conn.id, this);
    enterRoom(ctx, this.conn, this.room);
    this.done();
    ctx.stats.recoveries[this.recovery] = (ctx.stats.recoveries[this.recovery] ?? 0) + 1;
    ctx.stats.replayedEvents += this.replay.length;
    const recovered = this.recovery === RecoveryResult.RECOVERY_RESULT_RECOVERED;
    // After a reset among the live events, `last` counts in the new epoch.
    const seq = this.epoch === read.epoch ? Math.max(this.last, read.seq) : this.last;
    const outcome = { epoch: this.epoch, seq, recovered, missed: this.replay.length, recovery: this.recovery };
    this.settle?.resolve(outcome);
    return outcome;
  }

  private fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.error = err;
    this.ctx.recoveries.unpace(this.conn.id, this);
    this.done();
    this.settle?.reject(err);
  }

  /** Goes on from drains; resolves when done. */
  paced(): Promise<JoinOutcome> {
    // Called only after step() returned undefined, so a finished replay here is a failed one.
    if (this.finished) return Promise.reject(this.error ?? new Error('replay already finished'));
    return new Promise<JoinOutcome>((resolve, reject) => {
      this.settle = { resolve, reject };
      this.ctx.recoveries.pace(this.conn.id, this);
    });
  }

  /** The connection drained some of its send buffer (or closed): go on (inside a cork). */
  resume(): void {
    if (!this.finished) this.step();
  }

  /**
   * The live events collected while the replay waits passed maxBackpressure: a reader this slow
   * is a slow consumer. Its next join recovers from the last event it got.
   */
  private overflow(): void {
    if (this.finished) return;
    closeConn(this.ctx, this.conn, 'slow_consumer', 'slow consumer: too far behind while recovering');
    this.fail(new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'closed as a slow consumer while recovering'));
  }
}
