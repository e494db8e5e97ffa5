/**
 * One connection's frames: rate limit, decode, check who may do what, run the command, answer
 * in the connection's encoding. Errors become Error replies carrying the command's id; only
 * abuse (garbage, flooding) closes the connection.
 */
import type { WebSocket } from 'uWebSockets.js';
import { alreadyReported } from '../broker/broker.js';
import { type DecodedCommand, decodeClientFrame, readRequestId } from '../protocol/client-frame.js';
import { longToNumber } from '../protocol/codec.js';
import { CloseCode, ErrorCode, errorCodeName, ProtocolError } from '../protocol/errors.js';
import { checkPayload, checkRoomName } from '../protocol/limits.js';
import type { ClientMessage, ServerMessage } from '../protocol/types.js';
import { type Conn, inRoom, roomCount, type SocketData } from './connections.js';
import { connect, refresh } from './auth/identity.js';
import { canJoin, canPublish, type Identity } from './auth/permissions.js';
import { nowUs } from './clock.js';
import { closeConn } from './close.js';
import type { ServerContext } from './context.js';
import { readHistory } from './history.js';
import { joinRoom, leaveRoom } from './membership.js';
import { recoverJoin } from './recovery.js';
import { send, sendLater } from './send.js';
import { freshRateState, refuseAndCheck, takeToken } from './rate-limit.js';

/** Sends an Error reply for request `id` (0: not tied to a request), counting it. */
function sendError(ctx: ServerContext, conn: Conn, id: number, code: ErrorCode, message: string, later = false): void {
  ctx.stats.errors[code] = (ctx.stats.errors[code] ?? 0) + 1;
  const m: ServerMessage = id === 0 ? { error: { code, message } } : { id, error: { code, message } };
  if (later) sendLater(conn, m);
  else send(conn, m);
}

/** Reports a failed command: protocol errors as they are, anything else as INTERNAL (logged). */
function fail(ctx: ServerContext, conn: Conn, cmd: DecodedCommand, err: unknown, later: boolean): void {
  if (err instanceof ProtocolError) {
    sendError(ctx, conn, cmd.id, err.code, err.message, later);
    return;
  }
  if (!alreadyReported(err)) ctx.log.error({ err, conn: conn.id, command: cmd.command }, 'command failed');
  sendError(ctx, conn, cmd.id, ErrorCode.ERROR_CODE_INTERNAL, 'internal error', later);
}

/** Answers with `build(value)` now, or when `value` resolves. */
function replyWhen<T>(ctx: ServerContext, conn: Conn, cmd: DecodedCommand, value: T | Promise<T>, build: (v: T) => ServerMessage): void {
  if (!(value instanceof Promise)) {
    send(conn, { id: cmd.id, ...build(value) });
    return;
  }
  value.then(
    (v) => sendLater(conn, { id: cmd.id, ...build(v) }),
    (err: unknown) => fail(ctx, conn, cmd, err, true),
  );
}

/** Handles one frame from a client. */
export function onMessage(ctx: ServerContext, ws: WebSocket<SocketData>, bytes: ArrayBuffer, isBinary: boolean): void {
  const conn = ws.getUserData().conn;
  ctx.stats.framesIn += 1;
  ctx.stats.bytesIn += bytes.byteLength;
  if (bytes.byteLength > ctx.config.maxFrameBytes) {
    closeConn(ctx, conn, 'frame_too_big', `frame of ${bytes.byteLength} bytes exceeds maxFrameBytes (${ctx.config.maxFrameBytes})`);
    return;
  }
  const view = new Uint8Array(bytes);
  if (ctx.config.rateLimitPerSec > 0 && !takeToken(ctx.config, (conn.rate ??= freshRateState(ctx.config, performance.now())), performance.now())) {
    onRateLimited(ctx, conn, view, isBinary);
    return;
  }
  let cmd: DecodedCommand;
  try {
    cmd = decodeClientFrame(view, isBinary);
  } catch (err) {
    onBadFrame(ctx, conn, err, readRequestId(view, isBinary));
    return;
  }
  conn.badFrames = 0;
  try {
    dispatch(ctx, conn, cmd);
  } catch (err) {
    fail(ctx, conn, cmd, err, false);
  }
}

function onRateLimited(ctx: ServerContext, conn: Conn, view: Uint8Array, isBinary: boolean): void {
  ctx.stats.rateLimited += 1;
  const { flooding, refused, total } = refuseAndCheck(ctx.config, (conn.rate ??= freshRateState(ctx.config, performance.now())), performance.now());
  if (flooding) {
    ctx.log.info({ conn: conn.id, remote: conn.remoteAddress }, 'closing a connection that keeps flooding');
    const window = ctx.config.floodWindowMs / 1000;
    closeConn(ctx, conn, 'flooding', `${refused} of ${total} frames over the rate limit in ${window} s`);
    return;
  }
  sendError(
    ctx,
    conn,
    readRequestId(view, isBinary),
    ErrorCode.ERROR_CODE_RATE_LIMITED,
    `over the rate limit of ${ctx.config.rateLimitPerSec} frames/s (burst ${ctx.config.rateLimitBurst}); the frame was not processed`,
  );
}

function onBadFrame(ctx: ServerContext, conn: Conn, err: unknown, id: number): void {
  if (!(err instanceof ProtocolError)) throw err;
  if (err.code === ErrorCode.ERROR_CODE_MALFORMED_FRAME) {
    conn.badFrames += 1;
    if (conn.badFrames >= ctx.config.maxBadFrames) {
      ctx.log.info({ conn: conn.id, remote: conn.remoteAddress }, 'closing connection after repeated malformed frames');
      closeConn(ctx, conn, 'protocol_abuse', `${conn.badFrames} malformed frames in a row`);
      return;
    }
  }
  if (ctx.log.isLevelEnabled('debug')) {
    ctx.log.debug({ conn: conn.id, code: errorCodeName(err.code), reason: err.message }, 'bad frame');
  }
  sendError(ctx, conn, id, err.code, err.message);
}

/** The connection's identity, or UNAUTHENTICATED when it still has to send `connect`. */
function who(conn: Conn): Identity {
  if (conn.identity === undefined) throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, 'authenticate first: send connect with a token');
  return conn.identity;
}

/** A room the connection is in (presence queries also allow admins). */
function memberRoom(conn: Conn, raw: string | null | undefined, adminToo = false): string {
  // A member's room name was checked when it joined: skip the pattern test on this (hot) path.
  if (raw != null && inRoom(conn, raw)) return raw;
  const room = checkRoomName(raw);
  if (!inRoom(conn, room) && !(adminToo && conn.identity?.grants.admin === true)) {
    throw new ProtocolError(ErrorCode.ERROR_CODE_NOT_A_MEMBER, `not a member of room "${room}"${adminToo ? '' : ': join it first'}`);
  }
  return room;
}

/** Commands a connection may send while its token is being verified. */
const WHILE_VERIFYING: ReadonlySet<string | undefined> = new Set(['echo', 'close']);

function dispatch(ctx: ServerContext, conn: Conn, cmd: DecodedCommand): void {
  const m: ClientMessage = cmd.message;
  // Until the token is checked the connection's rights are unknown: a join now would be judged
  // by the identity it is about to lose (anonymous) and outlive the change.
  if (conn.authPending && !WHILE_VERIFYING.has(cmd.command)) {
    throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'a token is being verified: wait for the connect reply (or the welcome)');
  }
  switch (cmd.command) {
    case 'publish': {
      const p = m.publish ?? {};
      const identity = who(conn);
      const room = memberRoom(conn, p.room);
      if (!canPublish(identity, room)) throw new ProtocolError(ErrorCode.ERROR_CODE_PERMISSION_DENIED, `may not publish to room "${room}"`);
      checkPayload(p, ctx.config.maxPayloadBytes);
      if (p.source != null && p.source !== '') {
        throw new ProtocolError(
          ErrorCode.ERROR_CODE_BAD_REQUEST,
          "source is for server-side publishes (HTTP API); a client's events carry its connId and userId",
        );
      }
      const seq = ctx.broker.publish({
        room,
        timeUs: nowUs(),
        text: p.text ?? undefined,
        data: p.data ?? undefined,
        connId: conn.id,
        userId: identity.userId,
        excludeSelf: p.excludeSelf === true,
      });
      replyWhen(ctx, conn, cmd, seq, (s) => ({ publish: { room, seq: s } }));
      return;
    }
    case 'join': {
      const identity = who(conn);
      const room = checkRoomName(m.join?.room);
      const member = inRoom(conn, room);
      if (!member) {
        if (!canJoin(identity, room)) throw new ProtocolError(ErrorCode.ERROR_CODE_PERMISSION_DENIED, `may not join room "${room}"`);
        const count = roomCount(conn);
        if (count >= ctx.config.maxRoomsPerConnection) {
          throw new ProtocolError(ErrorCode.ERROR_CODE_TOO_MANY_ROOMS, `already in ${count} rooms, the most one connection may join`);
        }
      }
      const since = m.join?.since;
      if (since != null && !member) {
        const position = { epoch: since.epoch ?? '', seq: longToNumber(since.seq) };
        replyWhen(ctx, conn, cmd, recoverJoin(ctx, conn, room, position, m.join?.previousConnId ?? ''), (o) => ({ join: { room, ...o } }));
        return;
      }
      replyWhen(ctx, conn, cmd, joinRoom(ctx, conn, room), (pos) => ({ join: { room, seq: pos.seq, epoch: pos.epoch } }));
      return;
    }
    case 'history': {
      const h = m.history ?? {};
      const identity = who(conn);
      const room = checkRoomName(h.room);
      if (!inRoom(conn, room) && !canJoin(identity, room)) throw new ProtocolError(ErrorCode.ERROR_CODE_PERMISSION_DENIED, `may not read room "${room}"`);
      const since = h.since != null ? { epoch: h.since.epoch ?? '', seq: longToNumber(h.since.seq) } : undefined;
      replyWhen(ctx, conn, cmd, readHistory(ctx, room, { since, limit: h.limit ?? 0, reverse: h.reverse === true }, conn.id), (reply) => ({ history: reply }));
      return;
    }
    case 'leave': {
      const room = checkRoomName(m.leave?.room);
      if (!leaveRoom(ctx, conn, room)) throw new ProtocolError(ErrorCode.ERROR_CODE_NOT_A_MEMBER, `not a member of room "${room}"`);
      send(conn, { id: cmd.id, leave: { room } });
      return;
    }
    case 'echo': {
      const e = m.echo ?? {};
      checkPayload(e, ctx.config.maxPayloadBytes, true);
      // Echo exactly what was sent: a payload-less echo gets a payload-less reply.
      send(conn, { id: cmd.id, echo: e.data != null ? { data: e.data } : e.text != null ? { text: e.text } : {} });
      return;
    }
    case 'close': {
      send(conn, { id: cmd.id, close: {} });
      conn.ws?.end(CloseCode.CLOSE_CODE_NORMAL, 'closed on request');
      return;
    }
    case 'connect': {
      replyWhen(ctx, conn, cmd, connect(ctx, conn, m.connect?.token ?? ''), (identity) => ({
        connect: { userId: identity.userId, expiresAtUs: identity.expiresAtMs * 1000 },
      }));
      return;
    }
    case 'refresh': {
      replyWhen(ctx, conn, cmd, refresh(ctx, conn, m.refresh?.token ?? ''), (identity) => ({ refresh: { expiresAtUs: identity.expiresAtMs * 1000 } }));
      return;
    }
    case 'presence': {
      who(conn);
      const room = memberRoom(conn, m.presence?.room, true);
      replyWhen(ctx, conn, cmd, ctx.presence.members(room), (members) => ({ presence: { room, members } }));
      return;
    }
    case 'presenceStats': {
      who(conn);
      const room = memberRoom(conn, m.presenceStats?.room, true);
      replyWhen(ctx, conn, cmd, ctx.presence.counts(room), (c) => ({ presenceStats: { room, connections: c.connections, users: c.users } }));
      return;
    }
    case undefined:
      throw new ProtocolError(
        ErrorCode.ERROR_CODE_UNKNOWN_COMMAND,
        cmd.unknownKey !== undefined
          ? `unknown command "${cmd.unknownKey}": the frame names no command this server knows`
          : 'unknown command: the frame names no command this server knows',
      );
  }
}
