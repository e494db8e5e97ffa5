/**
 * Why a command failed, as classes an application can tell apart with `instanceof`: the server
 * refused it (a code from the proto's ErrorCode catalogue), no reply came in time, or the
 * connection ended before the reply.
 */
import { type ErrorCode, errorCodeName } from '../protocol/errors.js';

/** The base of every error the client rejects a command with. */
export class RoomcastClientError extends Error {
  /** The command that failed ("join", "publish", ...). */
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.name = 'RoomcastClientError';
    this.command = command;
  }
}

/** The server answered with an Error: `code` says why (see the README's error code table). */
export class ServerError extends RoomcastClientError {
  /** The proto ErrorCode value. */
  readonly code: ErrorCode;
  /** The code's proto name, e.g. "ERROR_CODE_NOT_A_MEMBER". */
  readonly codeName: string;
  constructor(command: string, code: ErrorCode, message: string) {
    super(command, `${command}: ${errorCodeName(code)}: ${message}`);
    this.name = 'ServerError';
    this.code = code;
    this.codeName = errorCodeName(code);
  }
}

/** No reply came within the command's timeout. The command may still have taken effect. */
export class TimeoutError extends RoomcastClientError {
  readonly timeoutMs: number;
  constructor(command: string, timeoutMs: number) {
    super(command, `${command}: no reply within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The connection ended before the reply came (the command may or may not have taken effect),
 * or the client is closed, or the command was given before `connect()`.
 */
export class DisconnectedError extends RoomcastClientError {
  /** The WebSocket close code, when a connection ended; 0 otherwise. */
  readonly code: number;
  constructor(command: string, message: string, code = 0) {
    super(command, `${command}: ${message}`);
    this.name = 'DisconnectedError';
    this.code = code;
  }
}
