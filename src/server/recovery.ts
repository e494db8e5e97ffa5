/**
 * Joining a room with `since`: replay what the connection missed, then go live, with no gap and
 * no duplicate, whether the broker answers at once (in-process) or over the network (Redis).
 *
 * 1. The room is held open (the broker listens to it) and the connection starts collecting the
 *    room's live events (recoveries.ts) without being subscribed to its topic yet.
 * 2. The broker gives the room's position (for Redis, once this process's subscription is in
 *    place) and the stored events after `since`.
 * 3. In one corked burst: the replayed events, then the collected live events newer than the
 *    last replayed one (and any stream reset among them), then the subscription to the topic;
 *    the JoinReply follows at once. Live events published after that reach the connection
 *    through its topic, after everything above (uWS sends publishes at the end of the loop
 *    iteration, and a socket subscribed after a publish does not get it).
 *
 * An event published with exclude_self is never replayed to its publisher: neither to this
 * connection nor to the one it names as its previous (Join.previous_conn_id).
 */
import type { HistoryRead, StoredEvent, StreamPosition } from '../broker/broker.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { decodeEventFrame, encodeEventJson } from '../protocol/events.js';
import { RecoveryResult } from '../protocol/types.js';
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

/**
 * Joins `conn` to `room` (validated, allowed, not a member yet) and replays the events after
 * `since`. Resolves (or returns, with an in-process broker) once everything up to the live
 * stream has been sent; the caller sends the JoinReply right after. Rejects if the broker fails:
 * then the connection is not in the room.
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
    try {
      return finish(ctx, conn, room, since, previousConnId, read, pending);
    } finally {
      done();
    }
  }
  return read.then(
    (r) => {
      try {
        let outcome: JoinOutcome | undefined;
        const ws = conn.ws;
        if (ws === undefined || conn.closed) throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'the connection closed');
        ws.cork(() => {
          outcome = finish(ctx, conn, room, since, previousConnId, r, pending);
        });
        return outcome as JoinOutcome;
      } finally {
        done();
      }
    },
    (err: unknown) => {
      done();
      throw err;
    },
  );
}

/** Step 3 of the module comment; runs inside a cork. */
function finish(ctx: ServerContext, conn: Conn, room: string, since: StreamPosition, previousConnId: string, read: HistoryRead, pending: Recovering): JoinOutcome {
  let recovery: RecoveryResult;
  let replay: StoredEvent[] = [];
  if (read.complete) {
    replay = read.events.filter((e) => !ownExcluded(e, conn, previousConnId));
    // A replay must fit in the send buffer with room to spare, or the connection would be cut as
    // a slow consumer and come back for the same replay. Too much to replay is "too old".
    let bytes = 0;
    for (const e of replay) bytes += conn.encoding === 'proto' ? e.frame.length : e.frame.length * 2;
    recovery = bytes <= ctx.config.maxBackpressure / 4 ? RecoveryResult.RECOVERY_RESULT_RECOVERED : RecoveryResult.RECOVERY_RESULT_TOO_OLD;
    if (recovery !== RecoveryResult.RECOVERY_RESULT_RECOVERED) replay = [];
  } else {
    recovery = read.miss === 'too_old' ? RecoveryResult.RECOVERY_RESULT_TOO_OLD : RecoveryResult.RECOVERY_RESULT_EPOCH_CHANGED;
  }
  const recovered = recovery === RecoveryResult.RECOVERY_RESULT_RECOVERED;
  let epoch = read.epoch;
  let last = recovered ? since.seq : read.seq;
  for (const e of replay) {
    sendEvent(conn, e.frame);
    last = e.seq;
  }
  // Live events that arrived while the history was being read, past what was replayed.
  for (const item of pending.buffer) {
    if ('reset' in item) {
      sendReset(conn, room, item.reset);
      epoch = item.reset.epoch;
      last = item.reset.seq;
    } else if (item.seq > last) {
      if (!ownExcluded(item, conn, previousConnId)) sendEvent(conn, item.frame);
      last = item.seq;
    }
  }
  enterRoom(ctx, conn, room);
  ctx.stats.recoveries[recovery] = (ctx.stats.recoveries[recovery] ?? 0) + 1;
  ctx.stats.replayedEvents += replay.length;
  // After a reset among the live events, `last` counts in the new epoch.
  return { epoch, seq: epoch === read.epoch ? Math.max(last, read.seq) : last, recovered, missed: replay.length, recovery };
}
