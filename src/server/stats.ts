/**
 * The server's counters: plain numbers bumped on hot paths (no allocation, no label lookup),
 * read by /metrics at scrape time and by tests.
 */
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { CLOSE_REASON_NAMES, type CloseReason } from './close-reasons.js';
import type { CutoffCause } from './connection/cutoffs.js';

/**
 * Why the server ended an HTTP connection after its reply (a label of roomcast_http_closed_total):
 * the reply went out before the request body had been read to its end (reading stops), or the
 * request's framing was ambiguous (two different Content-Lengths: closed at once).
 */
export type HttpCloseReason = 'unread_body' | 'bad_framing';

/** Why authentication failed (a label of roomcast_auth_failures_total). */
export type AuthFailure = 'missing' | 'invalid' | 'expired' | 'timeout';

/** Every counter the server keeps. */
export interface Stats {
  /** Frames received from clients, and their bytes. */
  framesIn: number;
  bytesIn: number;
  /** Publications fanned out on this process (that had local members). */
  publications: number;
  /** Messages handed to sockets by fan-out (one per member per publication), and their bytes. */
  deliveries: number;
  bytesOut: number;
  /** Presence events fanned out. */
  presenceEvents: number;
  /** Error replies by ErrorCode value. */
  errors: number[];
  /** Frames refused by the rate limit. */
  rateLimited: number;
  /** Connections the server closed or refused, by reason. */
  closed: Record<CloseReason, number>;
  /** Authentication failures, by reason. */
  authFailures: Record<AuthFailure, number>;
  /** Connections opened (accepted) since start. */
  connectionsOpened: number;
  /**
   * Accepted connections that ended, by close code, whoever closed them: 1006 counts network
   * drops and uWS's own cut-offs (idle timeout, backpressure limit, oversized frame).
   */
  disconnects: Record<number, number>;
  /** Of those, the ones uWS ended itself with no close frame (1006), by cause (see cutoffs.ts). */
  cutoffs: Record<CutoffCause, number>;
  /**
   * Recipients per publication as a histogram: counts per bucket of FANOUT_BUCKETS (the last
   * slot is +Inf), not cumulative, and their sum. See recordFanout.
   */
  fanoutCounts: number[];
  fanoutSum: number;
  /** Times a connection was found over maxBackpressure under the `drop` policy. */
  slowConsumerEpisodes: number;
  /** StreamReset notices fanned out (a room's stream changed epoch under its members). */
  streamResets: number;
  /** Joins with `since`, by RecoveryResult value. */
  recoveries: number[];
  /** Events replayed by recovering joins. */
  replayedEvents: number;
  /** HTTP connections not kept alive after the reply (no longer read, or closed), by reason. */
  httpClosed: Record<HttpCloseReason, number>;
}

/** Upper bounds of the fan-out histogram's buckets (recipients per publication). */
export const FANOUT_BUCKETS: readonly number[] = [1, 10, 100, 1000, 10_000, 100_000];

/** Counts one publication's recipients: a few compares, no allocation (it runs per publish). */
export function recordFanout(stats: Stats, recipients: number): void {
  let i = 0;
  while (i < FANOUT_BUCKETS.length && recipients > (FANOUT_BUCKETS[i] as number)) i += 1;
  stats.fanoutCounts[i] = (stats.fanoutCounts[i] ?? 0) + 1;
  stats.fanoutSum += recipients;
}

/** Fresh zeroed counters. */
export function createStats(): Stats {
  return {
    framesIn: 0,
    bytesIn: 0,
    publications: 0,
    deliveries: 0,
    bytesOut: 0,
    presenceEvents: 0,
    errors: [],
    rateLimited: 0,
    closed: Object.fromEntries(CLOSE_REASON_NAMES.map((r) => [r, 0])) as Record<CloseReason, number>,
    authFailures: { missing: 0, invalid: 0, expired: 0, timeout: 0 },
    connectionsOpened: 0,
    disconnects: {},
    cutoffs: { invalid_utf8: 0, frame_too_big: 0, idle_timeout: 0, bad_frame: 0, lost: 0 },
    fanoutCounts: new Array<number>(FANOUT_BUCKETS.length + 1).fill(0),
    fanoutSum: 0,
    slowConsumerEpisodes: 0,
    streamResets: 0,
    recoveries: [],
    replayedEvents: 0,
    httpClosed: { unread_body: 0, bad_framing: 0 },
  };
}

/** Counts a failed token verification by its cause. */
export function countAuthFailure(stats: Stats, err: unknown): void {
  if (err instanceof ProtocolError && err.code === ErrorCode.ERROR_CODE_TOKEN_EXPIRED) stats.authFailures.expired += 1;
  else stats.authFailures.invalid += 1;
}
