/**
 * Why the server closes or refuses a connection: each reason is a label of
 * `roomcast_closed_total{reason}` and has the close code it sends unless the caller picks another
 * (an admin disconnect may ask the client to reconnect). One table: a new reason is one row.
 */
import { CloseCode } from '../protocol/errors.js';

/** Every close reason, with its default close code. */
export const CLOSE_REASONS = {
  slow_consumer: { code: CloseCode.CLOSE_CODE_SLOW_CONSUMER },
  protocol_abuse: { code: CloseCode.CLOSE_CODE_PROTOCOL_ABUSE },
  frame_too_big: { code: CloseCode.CLOSE_CODE_MESSAGE_TOO_BIG },
  flooding: { code: CloseCode.CLOSE_CODE_FLOODING },
  unauthenticated: { code: CloseCode.CLOSE_CODE_UNAUTHENTICATED },
  token_expired: { code: CloseCode.CLOSE_CODE_TOKEN_EXPIRED },
  too_many_connections: { code: CloseCode.CLOSE_CODE_TRY_AGAIN_LATER },
  too_many_per_ip: { code: CloseCode.CLOSE_CODE_TRY_AGAIN_LATER },
  connect_rate: { code: CloseCode.CLOSE_CODE_TRY_AGAIN_LATER },
  policy: { code: CloseCode.CLOSE_CODE_POLICY },
  admin: { code: CloseCode.CLOSE_CODE_DISCONNECTED },
  internal: { code: CloseCode.CLOSE_CODE_INTERNAL_ERROR },
} as const satisfies Record<string, { code: CloseCode }>;

/** Why the server closed or refused a connection (a label of roomcast_closed_total). */
export type CloseReason = keyof typeof CLOSE_REASONS;

/** The reasons, in table order. */
export const CLOSE_REASON_NAMES = Object.keys(CLOSE_REASONS) as readonly CloseReason[];
