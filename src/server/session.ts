/**
 * One connection's commands: decode the frame, run the command, answer in the connection's
 * encoding. Errors become Error replies carrying the command's id; only abuse closes.
 */
import type { WebSocket } from 'uWebSockets.js';
import type { PublishResult } from '../broker/broker.js';
import { type ClientMessage, type DecodedCommand, decodeClientFrame, encodeServerMessage, readRequestId, type ServerMessage } from '../protocol/codec.js';
import { CloseCode, ErrorCode, errorCodeName, ProtocolError } from '../protocol/errors.js';
import { checkPayload, checkRoomName } from '../protocol/limits.js';
import type { Conn } from './connections.js';
import { nowUs, type ServerContext } from './context.js';
import { topicFor } from './rooms.js';

/** Sends one message on an open connection (inside a uWS callback, where sockets are corked). */
export function send(conn: Conn, message: ServerMessage): void {
  if (conn.closed || conn.ws === undefined) return;
  conn.ws.send(encodeServerMessage(message, conn.encoding), conn.encoding === 'proto');
}

/** Sends from outside a uWS callback (after a promise): corks so the frame goes out in one write. */
function sendLater(conn: Conn, message: ServerMessage): void {
  const ws = conn.ws;
  if (conn.closed || ws === undefined) return;
  ws.cork(() => send(conn, message));
}

/** Sends an Error reply for request `id`. */
export function sendError(conn: Conn, id: number, code: ErrorCode, message: string): void {
  send(conn, id === 0 ? { error: { code, message } } : { id, error: { code, message } });
}

/** Answers with `build(value)` now, or when `value` resolves. */
function replyWhen(ctx: ServerContext, conn: Conn, id: number, value: number | Promise<number>, build: (v: number) => ServerMessage): void {
  if (typeof value === 'number') {
    send(conn, { id, ...build(value) });
    return;
  }
  value.then(
    (v) => sendLater(conn, { id, ...build(v) }),
    (err: unknown) => {
      ctx.log.error({ err, conn: conn.id }, 'broker request failed');
      sendLater(conn, { id, error: { code: ErrorCode.ERROR_CODE_INTERNAL, message: 'the broker failed; try again' } });
    },
  );
}

/** Joins `room` (already validated). Returns the room's last sequence number. */
export function joinRoom(ctx: ServerContext, conn: Conn, ws: WebSocket<Conn>, room: string): number | Promise<number> {
  if (!conn.rooms.has(room)) {
    conn.rooms.add(room);
    ws.subscribe(topicFor(room, conn.encoding));
  }
  return ctx.broker.lastSeq(room);
}

/** Handles one frame from a client. */
export function onMessage(ctx: ServerContext, ws: WebSocket<Conn>, bytes: ArrayBuffer, isBinary: boolean): void {
  const conn = ws.getUserData();
  if (bytes.byteLength > ctx.config.maxFrameBytes) {
    ws.end(CloseCode.CLOSE_CODE_MESSAGE_TOO_BIG, `frame of ${bytes.byteLength} bytes exceeds maxFrameBytes (${ctx.config.maxFrameBytes})`);
    return;
  }
  const view = new Uint8Array(bytes);
  let cmd: DecodedCommand;
  try {
    cmd = decodeClientFrame(view, isBinary);
  } catch (err) {
    onBadFrame(ctx, conn, ws, err, readRequestId(view, isBinary));
    return;
  }
  conn.badFrames = 0;
  try {
    dispatch(ctx, conn, ws, cmd);
  } catch (err) {
    if (err instanceof ProtocolError) {
      sendError(conn, cmd.id, err.code, err.message);
    } else {
      ctx.log.error({ err, conn: conn.id, command: cmd.command }, 'command failed');
      sendError(conn, cmd.id, ErrorCode.ERROR_CODE_INTERNAL, 'internal error');
    }
  }
}

function onBadFrame(ctx: ServerContext, conn: Conn, ws: WebSocket<Conn>, err: unknown, id: number): void {
  if (!(err instanceof ProtocolError)) throw err;
  if (err.code === ErrorCode.ERROR_CODE_MALFORMED_FRAME) {
    conn.badFrames += 1;
    if (conn.badFrames >= ctx.config.maxBadFrames) {
      ctx.log.info({ conn: conn.id, remote: conn.remoteAddress }, 'closing connection after repeated malformed frames');
      ws.end(CloseCode.CLOSE_CODE_PROTOCOL_ABUSE, `${conn.badFrames} malformed frames in a row`);
      return;
    }
  }
  if (ctx.log.isLevelEnabled('debug')) {
    ctx.log.debug({ conn: conn.id, code: errorCodeName(err.code), reason: err.message }, 'bad frame');
  }
  sendError(conn, id, err.code, err.message);
}

function dispatch(ctx: ServerContext, conn: Conn, ws: WebSocket<Conn>, cmd: DecodedCommand): void {
  const m: ClientMessage = cmd.message;
  const id = cmd.id;
  switch (cmd.command) {
    case 'publish': {
      const p = m.publish ?? {};
      const room = checkRoomName(p.room);
      if (!conn.rooms.has(room)) throw new ProtocolError(ErrorCode.ERROR_CODE_NOT_A_MEMBER, `not a member of room "${room}": join it first`);
      checkPayload(p, ctx.config.maxPayloadBytes);
      const result: PublishResult = ctx.broker.publish({
        room,
        timeUs: nowUs(),
        text: p.text ?? undefined,
        data: p.data ?? undefined,
        connId: conn.id,
        excludeSelf: p.excludeSelf === true,
      });
      replyWhen(ctx, conn, id, result, (seq) => ({ publish: { room, seq } }));
      return;
    }
    case 'join': {
      const room = checkRoomName(m.join?.room);
      replyWhen(ctx, conn, id, joinRoom(ctx, conn, ws, room), (seq) => ({ join: { room, seq } }));
      return;
    }
    case 'leave': {
      const room = checkRoomName(m.leave?.room);
      if (!conn.rooms.delete(room)) throw new ProtocolError(ErrorCode.ERROR_CODE_NOT_A_MEMBER, `not a member of room "${room}"`);
      ws.unsubscribe(topicFor(room, conn.encoding));
      send(conn, { id, leave: { room } });
      return;
    }
    case 'echo': {
      const e = m.echo ?? {};
      checkPayload(e, ctx.config.maxPayloadBytes, true);
      send(conn, { id, echo: e.data != null ? { data: e.data } : { text: e.text ?? '' } });
      return;
    }
    case 'close': {
      send(conn, { id, close: {} });
      ws.end(CloseCode.CLOSE_CODE_NORMAL, 'closed on request');
      return;
    }
    case undefined:
      throw new ProtocolError(ErrorCode.ERROR_CODE_UNKNOWN_COMMAND, 'unknown command: the frame names no command this server knows');
    default:
      throw new ProtocolError(ErrorCode.ERROR_CODE_UNKNOWN_COMMAND, `command "${cmd.command}" is not supported by this server yet`);
  }
}
