/**
 * A connection's identity over time: the token given on connect (URL or `connect` command), the
 * deadline for sending one, `refresh` with a newer token, and the close when a token expires.
 */
import { CloseCode, ErrorCode, ProtocolError } from '../../protocol/errors.js';
import { closeConn } from '../close.js';
import type { Conn, Refusal } from '../connections.js';
import type { ServerContext } from '../context.js';
import { countAuthFailure } from '../stats.js';
import type { Identity } from './permissions.js';

function clearTimer(conn: Conn): void {
  if (conn.timer !== undefined) clearTimeout(conn.timer);
  conn.timer = undefined;
}

/** What the process's expiry watch (expiries.ts) does with a connection whose token has expired. */
export function expireConn(ctx: ServerContext, conn: Conn): void {
  if (conn.closed) return;
  ctx.stats.authFailures.expired += 1;
  closeConn(ctx, conn, 'token_expired', 'token expired: reconnect with a new token');
}

/** Gives an open connection its identity and watches the token's expiry (to the second, as `exp` is). */
export function applyIdentity(ctx: ServerContext, conn: Conn, identity: Identity): void {
  clearTimer(conn);
  ctx.conns.setIdentity(conn, identity);
  ctx.expiries.set(conn, Math.ceil(identity.expiresAtMs / 1000));
}

/** For a connection that must still authenticate: closes it if `connect` does not come in time. */
export function armAuthDeadline(ctx: ServerContext, conn: Conn): void {
  clearTimer(conn);
  conn.timer = setTimeout(() => {
    conn.timer = undefined;
    if (conn.closed || conn.identity !== undefined) return;
    ctx.stats.authFailures.timeout += 1;
    closeConn(ctx, conn, 'unauthenticated', `no connect command within ${ctx.config.authTimeoutMs} ms`);
  }, ctx.config.authTimeoutMs);
}

/** Stops watching the connection's deadline and token expiry (on close). */
export function forgetIdentity(ctx: ServerContext, conn: Conn): void {
  clearTimer(conn);
  ctx.expiries.remove(conn);
}

/** The `connect` command: verifies the token and gives the connection its identity. */
export async function connect(ctx: ServerContext, conn: Conn, token: string): Promise<Identity> {
  if (conn.identity !== undefined && !(conn.identity.anonymous && conn.rooms === undefined)) {
    throw new ProtocolError(
      ErrorCode.ERROR_CODE_BAD_REQUEST,
      conn.identity.anonymous ? 'leave every room before connect' : 'already authenticated: use refresh for a new token',
    );
  }
  if (conn.authPending) throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'a connect is already being verified');
  if (token === '') {
    ctx.stats.authFailures.missing += 1;
    throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, 'connect needs a token');
  }
  conn.authPending = true;
  try {
    const identity = await ctx.auth.verify(token);
    // dispatch() refuses joins while authPending; this guards the rule it relies on.
    if (conn.rooms !== undefined) throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'leave every room before connect');
    if (!conn.closed) applyIdentity(ctx, conn, identity);
    return identity;
  } catch (err) {
    if (!(err instanceof ProtocolError && err.code === ErrorCode.ERROR_CODE_BAD_REQUEST)) countAuthFailure(ctx.stats, err);
    throw err;
  } finally {
    conn.authPending = false;
  }
}

/** The `refresh` command: a newer token for the same user. */
export async function refresh(ctx: ServerContext, conn: Conn, token: string): Promise<Identity> {
  const current = conn.identity;
  if (current === undefined || current.anonymous)
    throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, 'refresh needs an authenticated connection: send connect');
  let identity: Identity;
  try {
    identity = await ctx.auth.verify(token);
  } catch (err) {
    countAuthFailure(ctx.stats, err);
    throw err;
  }
  if (identity.userId !== current.userId) {
    throw new ProtocolError(ErrorCode.ERROR_CODE_PERMISSION_DENIED, `the new token is for another user ("${identity.userId}")`);
  }
  if (!conn.closed) applyIdentity(ctx, conn, identity);
  return identity;
}

/** The close for a token that failed verification on connect. */
export function refusalFor(err: unknown): Refusal {
  if (err instanceof ProtocolError && err.code === ErrorCode.ERROR_CODE_TOKEN_EXPIRED) {
    return { code: CloseCode.CLOSE_CODE_TOKEN_EXPIRED, reason: 'token expired: reconnect with a new token', why: 'token_expired' };
  }
  const detail = err instanceof Error ? err.message : String(err);
  return { code: CloseCode.CLOSE_CODE_UNAUTHENTICATED, reason: detail, why: 'unauthenticated' };
}
