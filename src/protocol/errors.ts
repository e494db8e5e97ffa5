/**
 * The two catalogues a client can act on: request error codes (sent in an Error message, the
 * connection lives on) and WebSocket close codes (the connection ends). Both are enums in the
 * proto, so every generated client has the same constants; this module adds what the server
 * needs around them. README.md documents every value (a unit test holds the two together).
 */
import { roomcast } from '../gen/roomcast.js';

/** Request error codes (proto enum roomcast.v1.ErrorCode). */
export const ErrorCode = roomcast.v1.ErrorCode;
/** A request error code. */
export type ErrorCode = roomcast.v1.ErrorCode;

/** WebSocket close codes the server sends (proto enum roomcast.v1.CloseCode). */
export const CloseCode = roomcast.v1.CloseCode;
/** A close code. */
export type CloseCode = roomcast.v1.CloseCode;

/** The proto name of an error code, e.g. "ERROR_CODE_NOT_A_MEMBER" (any number: a newer peer's code too). */
export function errorCodeName(code: number): string {
  // A numeric enum maps values back to names; an unknown value (a newer peer's) has none.
  const names: Readonly<Record<number, string | undefined>> = roomcast.v1.ErrorCode;
  const name = names[code];
  return name ?? `ERROR_CODE_${code}`;
}

/**
 * Whether a client should reconnect after a close code: the standard "going away" and the
 * 4000-4499 range say yes; 1000 (asked for), 1009 and 4500-4999 say no. 1006 (no close frame)
 * says yes, with backoff: it is a network loss or a cut by uWS itself (idle timeout, full send
 * buffer, a frame past twice maxFrameBytes, a text frame that is not UTF-8), and a client cannot
 * tell these apart. The last two are the client's own fault, which the SDK never commits (it
 * sends only frames it encoded, within its size limit); the backoff bounds any other client's loop.
 */
export function shouldReconnect(code: number): boolean {
  if (code === 1000 || code === 1009) return false;
  if (code >= 4500 && code <= 4999) return false;
  return true;
}

/** A request the server refuses, with the code and message the client will see. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}
