/**
 * Reading a room's stored events, for the `history` command and GET /api/rooms/<room>/history.
 */
import type { HistoryQuery, HistoryRead } from '../broker/broker.js';
import { eventOfFrame } from '../protocol/events.js';
import type { HistoryReply } from '../protocol/types.js';
import type { ServerContext } from './context.js';

/** The most events one read returns (and what limit 0 means). */
export const MAX_HISTORY_LIMIT = 1000;

function toReply(room: string, read: HistoryRead, limit: number, forConnId: string): HistoryReply {
  // Cut at the limit: with `since`, the caller reads on from the last event it got.
  const stored = read.events.length > limit ? read.events.slice(0, limit) : read.events;
  // A connection never reads back its own exclude_self events, as in a replay.
  const events = stored.filter((e) => !(e.excludeSelf && forConnId !== '' && e.connId === forConnId)).map((e) => eventOfFrame(e.frame));
  return { room, epoch: read.epoch, seq: read.seq, events, complete: read.complete && stored.length === read.events.length };
}

/**
 * Reads `room`'s history: with `since`, the events after it (oldest first); without, the newest
 * `limit` (newest first with `reverse`). `forConnId` is the reading connection ('' for HTTP).
 */
export function readHistory(ctx: ServerContext, room: string, query: HistoryQuery, forConnId: string): HistoryReply | Promise<HistoryReply> {
  const limit = query.limit <= 0 || query.limit > MAX_HISTORY_LIMIT ? MAX_HISTORY_LIMIT : query.limit;
  const read = ctx.broker.history(room, { ...query, limit });
  if (read instanceof Promise) return read.then((r) => toReply(room, r, limit, forConnId));
  return toReply(room, read, limit, forConnId);
}
