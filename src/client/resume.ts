/**
 * Rejoining a fresh connection's rooms, each with the client's last position there, and telling
 * the application how recovery went (`rejoin`, then `recovered` or `resync`). The server replays
 * what was missed before each join reply; the reply is handled as it is read (not when its
 * promise settles), so the live events right behind it meet the new position.
 */
import type { ClientMessage, CommandName, ServerMessage } from '../protocol/types.js';
import { positionOf, toNumber, toRecovery } from './convert.js';
import { ErrorCode } from '../protocol/errors.js';
import { ServerError } from './errors.js';
import type { RoomSet } from './rooms.js';
import type { ClientEvents, ClientStats, RecoveryOutcome, StreamPosition, Welcome } from './types.js';

/** What a rejoin needs from the session. */
export interface ResumeContext {
  readonly rooms: RoomSet;
  readonly counters: ClientStats;
  /** The previous connection's id: its exclude_self events are not replayed to this client. */
  readonly previousConnId: string;
  /** The rooms to be in on this connection. */
  readonly wanted: readonly string[];
  emit<K extends keyof ClientEvents>(name: K, value: ClientEvents[K]): void;
  /** Sends a command now on the new connection; `onReply` runs as the reply is read. */
  send(command: CommandName, body: ClientMessage, onReply?: (reply: ServerMessage) => void): Promise<ServerMessage>;
}

/** A room is joined again (or first) at `at`: record it and tell the application how recovery went. */
function rejoined(ctx: ResumeContext, room: string, since: StreamPosition | undefined, at: StreamPosition, recovery: RecoveryOutcome, missed: number): void {
  ctx.rooms.joined(room, at);
  const position = ctx.rooms.position(room) ?? at;
  ctx.emit('rejoin', { room, since, position, recovery, missed });
  if (recovery === 'recovered') {
    ctx.counters.recovered += 1;
    ctx.counters.replayed += missed;
    ctx.emit('recovered', { room, missed, position });
  } else if (recovery !== 'none') {
    ctx.counters.resyncs += 1;
    ctx.emit('resync', { room, reason: recovery, previous: since, position });
  }
}

/**
 * Joins what this client should be in (`ctx.wanted`), each with `since` = the client's position
 * there, so that the server replays what was missed (before the join reply) or says why it
 * cannot. Rooms the URL joined are kept if still wanted and left otherwise. Rejects when a join
 * fails for another reason than the server's refusal, or with ERROR_CODE_INTERNAL (the
 * connection is then dropped and a new one tries again after a backoff).
 */
export async function rejoinRooms(ctx: ResumeContext, welcome: Welcome): Promise<void> {
  const { wanted } = ctx;
  for (const r of welcome.rooms) {
    if (!wanted.includes(r.room)) void ctx.send('leave', { leave: { room: r.room } }).catch(() => {});
  }
  const joins = wanted.map(async (room) => {
    const since = ctx.rooms.position(room);
    const byUrl = welcome.rooms.find((r) => r.room === room);
    if (byUrl !== undefined) {
      // Joined on connect, without `since`: nothing was replayed.
      rejoined(ctx, room, since, { epoch: byUrl.epoch, seq: byUrl.seq }, since === undefined ? 'none' : 'unsupported', 0);
      return;
    }
    const join = since === undefined ? { room } : { room, since, previousConnId: ctx.previousConnId };
    try {
      // Handled as the reply is read: the live events right behind it belong to the new position.
      await ctx.send('join', { join }, (m) => {
        const reply = m.join ?? {};
        rejoined(ctx, room, since, positionOf(reply), since === undefined ? 'none' : toRecovery(reply), toNumber(reply.missed));
      });
    } catch (err) {
      if (!(err instanceof ServerError)) throw err;
      // The server could not answer for the room now (its broker is away or behind): keep the
      // room and try again on a new connection, after a backoff, rather than give it up.
      if (err.code === ErrorCode.ERROR_CODE_INTERNAL) throw new Error(`rejoining room "${room}" failed for now: ${err.message}`);
      ctx.rooms.forget(room);
      ctx.emit('rejoin', { room, since, position: undefined, recovery: 'none', missed: 0, error: err });
    }
  });
  const results = await Promise.allSettled(joins);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
