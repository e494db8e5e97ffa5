/**
 * The typed commands of the roomcast protocol, one method each, on top of the connection
 * management in ./session.ts. Each returns a promise of its reply and rejects with a
 * {@link ServerError} (the proto's ErrorCode), a {@link TimeoutError} or a
 * {@link DisconnectedError}.
 */
import type { ClientMessage } from '../protocol/types.js';
import { ErrorCode } from '../protocol/errors.js';
import { positionOf, toAuthResult, toHistory, toJoinResult, toNumber, toPresence, toPresenceStats } from './convert.js';
import { RoomcastClientError, ServerError } from './errors.js';
import type { ClientOptions } from './options.js';
import { Session } from './session.js';
import type {
  AuthResult,
  HistoryResult,
  JoinResult,
  Payload,
  PresenceResult,
  PresenceStatsResult,
  PublishResult,
  RefreshResult,
  StreamPosition,
} from './types.js';

/** Per-command options. */
export interface RequestOptions {
  /** Overrides the client's `requestTimeoutMs` for this command. */
  timeoutMs?: number;
}

/** Options of {@link RoomcastClient.publish}. */
export interface PublishOptions extends RequestOptions {
  /** Every member gets the event but this connection (the tutorial's publish_no_self). */
  excludeSelf?: boolean;
}

/** Options of {@link RoomcastClient.history}. */
export interface HistoryOptions extends RequestOptions {
  /**
   * Only the events after this position (oldest first), if it is in the room's current epoch;
   * `complete` in the result says whether every one of them was still stored.
   */
  since?: StreamPosition;
  /** At most this many events (default and cap: the server's, 1000). */
  limit?: number;
  /** Newest first instead of oldest first (without `since`). */
  reverse?: boolean;
}

function payloadOf(p: Payload): { text: string } | { data: Uint8Array } {
  return typeof p === 'string' ? { text: p } : { data: p };
}

/** A roomcast client. Create it with {@link createClient}. */
export class RoomcastClient extends Session {
  /** Sends `echo`: the server answers with the same payload (a round trip, e.g. to measure latency). */
  async echo(payload: Payload, options: RequestOptions = {}): Promise<Payload> {
    const r = await this.request('echo', { echo: payloadOf(payload) }, options.timeoutMs);
    return r.echo?.data ?? r.echo?.text ?? '';
  }

  /**
   * Joins `room` (joining a room the client is in changes nothing). Resolves with the room's
   * position at the join; the first event that follows has seq + 1. The client rejoins the room
   * after every reconnect, recovering what it missed, until it leaves.
   */
  async join(room: string, options: RequestOptions = {}): Promise<JoinResult> {
    // The position is recorded as the reply is read: events right behind it are counted from it.
    const reply = await this.request('join', { join: { room } }, options.timeoutMs, (m) => {
      this.roomSet.joinedAgain(m.join?.room ?? room, positionOf(m.join ?? {}));
    });
    return toJoinResult(reply.join ?? {});
  }

  /** Leaves `room`. Rejects with ERROR_CODE_NOT_A_MEMBER if the client was not in it. */
  async leave(room: string, options: RequestOptions = {}): Promise<void> {
    try {
      await this.request('leave', { leave: { room } }, options.timeoutMs);
    } catch (err) {
      // Not a member, says the server: then the client is not in it either.
      if (err instanceof ServerError && err.code === ErrorCode.ERROR_CODE_NOT_A_MEMBER) this.roomSet.forget(room);
      throw err;
    }
    this.roomSet.forget(room);
  }

  /**
   * Publishes `payload` (text or bytes) to `room`, which the client must be in. Resolves with
   * the event's sequence number. With `excludeSelf` every member but this connection gets it.
   */
  async publish(room: string, payload: Payload, options: PublishOptions = {}): Promise<PublishResult> {
    const body: ClientMessage = { publish: { room, ...payloadOf(payload), excludeSelf: options.excludeSelf === true } };
    const r = (await this.request('publish', body, options.timeoutMs)).publish ?? {};
    const result = { room: r.room ?? room, seq: toNumber(r.seq) };
    // Without exclude_self the event itself comes back (often after this reply) and moves the
    // position; with it, nothing will, so the position moves here.
    if (options.excludeSelf === true) this.roomSet.skipped(result.room, result.seq);
    return result;
  }

  /**
   * Reads `room`'s stored events (the `history` command; for members, or whoever may join the
   * room). Without `since`: the newest `limit` events, oldest first (newest first with
   * `reverse`). With `since`: the events after it, oldest first; `complete` is false when some
   * are gone (too old, or the room's epoch changed). Does not move the client's position.
   */
  async history(room: string, options: HistoryOptions = {}): Promise<HistoryResult> {
    // uint32 on the wire: anything else would be sent as some other number.
    const { limit, since } = options;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0 && limit <= 0xffffffff)) {
      throw new TypeError(`history: limit must be a whole number >= 0, got ${String(limit)}`);
    }
    if (since !== undefined && !(typeof since.epoch === 'string' && Number.isSafeInteger(since.seq) && since.seq >= 0)) {
      throw new TypeError(`history: since must be { epoch: string, seq: whole number >= 0 }, got ${JSON.stringify(since)}`);
    }
    const history: NonNullable<ClientMessage['history']> = { room, limit: limit ?? 0, reverse: options.reverse === true };
    if (since !== undefined) history.since = { epoch: since.epoch, seq: since.seq };
    const r = (await this.request('history', { history }, options.timeoutMs)).history ?? {};
    return toHistory(r, this.connId, this.previousConnId);
  }

  /**
   * Authenticates the connection with a JWT (the proto's `connect` command), for servers that
   * wait for one. The token is remembered and sent again, the same way, after every reconnect.
   * Usually set `token` with `tokenTransport: 'command'` in the options instead.
   */
  async authenticate(token: string, options: RequestOptions = {}): Promise<AuthResult> {
    const r = toAuthResult((await this.request('connect', { connect: { token } }, options.timeoutMs)).connect ?? {});
    this.authUserId = r.userId;
    if (typeof this.token !== 'function') this.token = token;
    this.tokenTransport = 'command';
    return r;
  }

  /**
   * Replaces the connection's token before it expires (`refresh`). Without an argument the
   * token comes from the `token` option (call its function for a fresh one). A token given here
   * is also used for later reconnects, unless the `token` option is a function.
   */
  async refresh(token?: string, options: RequestOptions = {}): Promise<RefreshResult> {
    const source = this.token;
    const t = token ?? (typeof source === 'function' ? await source() : source);
    if (t === undefined || t === '') throw new RoomcastClientError('refresh', 'refresh: no token: pass one, or set the token option');
    const r = await this.request('refresh', { refresh: { token: t } }, options.timeoutMs);
    if (token !== undefined && typeof source !== 'function') this.token = token;
    return { expiresAtUs: toNumber(r.refresh?.expiresAtUs) };
  }

  /** Who is in `room`: user ids with their connection ids. */
  async presence(room: string, options: RequestOptions = {}): Promise<PresenceResult> {
    return toPresence((await this.request('presence', { presence: { room } }, options.timeoutMs)).presence ?? {});
  }

  /** How many connections and distinct users are in `room`. */
  async presenceStats(room: string, options: RequestOptions = {}): Promise<PresenceStatsResult> {
    return toPresenceStats((await this.request('presenceStats', { presenceStats: { room } }, options.timeoutMs)).presenceStats ?? {});
  }
}

/** Creates a client; nothing connects until `connect()`. Throws a TypeError for bad options. */
export function createClient(options: ClientOptions): RoomcastClient {
  return new RoomcastClient(options);
}
