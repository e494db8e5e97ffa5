/**
 * Who may use the HTTP API: the API key, or a token with the `admin` claim.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, ProtocolError } from '../../protocol/errors.js';
import type { ServerContext } from '../context.js';
import { countAuthFailure } from '../stats.js';

function sameSecret(given: string, expected: string): boolean {
  // Compare digests so the comparison takes the same time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}

/**
 * Lets a request through with the API key or a token carrying `admin: true`. Open only when
 * neither an API key nor a token key is configured (local use).
 */
export async function authorize(ctx: ServerContext, header: string): Promise<void> {
  const { apiKey } = ctx.config;
  if (apiKey === '' && !ctx.auth.enabled) return;
  const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  if (given === '') throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, 'missing credentials: send Authorization: Bearer <API key or admin token>');
  if (apiKey !== '' && sameSecret(given, apiKey)) return;
  if (!ctx.auth.enabled || given.split('.').length !== 3) throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, 'wrong API key');
  let admin: boolean;
  try {
    admin = (await ctx.auth.verify(given)).grants.admin;
  } catch (err) {
    countAuthFailure(ctx.stats, err);
    throw err;
  }
  if (!admin) throw new ProtocolError(ErrorCode.ERROR_CODE_PERMISSION_DENIED, 'the token has no admin claim');
}
