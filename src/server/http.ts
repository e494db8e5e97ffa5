/**
 * The HTTP API for backends: publish into a room, list rooms, health.
 *
 * Bodies are roomcast.v1 messages: proto3 JSON by default, protobuf with
 * `Content-Type: application/x-protobuf`. Replies use protobuf when the request's Accept header
 * asks for it (or, with no Accept preference, when the request body was protobuf). Errors are an
 * Error message with the code's HTTP status.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { decodeMessage, type Encoding, encodeMessage, type PublishCommand, type TypeName } from '../protocol/codec.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { checkPayload, checkRoomName } from '../protocol/limits.js';
import { nowUs, type ServerContext } from './context.js';

const PROTOBUF_TYPE = 'application/x-protobuf';

const STATUS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.ERROR_CODE_UNAUTHENTICATED]: '401 Unauthorized',
  [ErrorCode.ERROR_CODE_PERMISSION_DENIED]: '403 Forbidden',
  [ErrorCode.ERROR_CODE_NOT_FOUND]: '404 Not Found',
  [ErrorCode.ERROR_CODE_PAYLOAD_TOO_LARGE]: '413 Payload Too Large',
  [ErrorCode.ERROR_CODE_RATE_LIMITED]: '429 Too Many Requests',
  [ErrorCode.ERROR_CODE_INTERNAL]: '500 Internal Server Error',
};

/** The HTTP status line for an error code (400 unless listed). */
export function httpStatus(code: ErrorCode): string {
  return STATUS[code] ?? '400 Bad Request';
}

interface RequestInfo {
  method: string;
  url: string;
  replyEncoding: Encoding;
  bodyEncoding: Encoding;
}

function requestInfo(req: HttpRequest): RequestInfo {
  const accept = req.getHeader('accept');
  const bodyEncoding: Encoding = req.getHeader('content-type').startsWith(PROTOBUF_TYPE) ? 'proto' : 'json';
  let replyEncoding: Encoding = bodyEncoding;
  if (accept.includes(PROTOBUF_TYPE)) replyEncoding = 'proto';
  else if (accept.includes('json')) replyEncoding = 'json';
  return { method: req.getMethod(), url: req.getUrl(), replyEncoding, bodyEncoding };
}

/** Writes a whole response, corked (safe from any callback). */
function respond(res: HttpResponse, status: string, type: TypeName, body: object, encoding: Encoding, extraHeaders: Record<string, string> = {}): void {
  if (res.aborted === true) return;
  const payload = encodeMessage(type, body, encoding);
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', encoding === 'proto' ? PROTOBUF_TYPE : 'application/json');
    for (const [k, v] of Object.entries(extraHeaders)) res.writeHeader(k, v);
    res.end(payload);
  });
}

function respondError(res: HttpResponse, err: ProtocolError, encoding: Encoding): void {
  const headers: Record<string, string> = err.code === ErrorCode.ERROR_CODE_UNAUTHENTICATED ? { 'www-authenticate': 'Bearer realm="roomcast"' } : {};
  respond(res, httpStatus(err.code), 'Error', { code: err.code, message: err.message }, encoding, headers);
}

/** Throws UNAUTHENTICATED unless the request carries the API key (when one is configured). */
function checkApiKey(ctx: ServerContext, req: HttpRequest): void {
  const key = ctx.config.apiKey;
  if (key === '') return;
  const header = req.getHeader('authorization');
  const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  // Compare digests so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(key).digest();
  if (given === '' || !timingSafeEqual(a, b)) {
    throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, given === '' ? 'missing API key: send Authorization: Bearer <key>' : 'wrong API key');
  }
}

/**
 * Reads a request body of at most `limit` bytes, then calls `done` (inside uWS's data callback,
 * so `done` must respond corked, as `respond` does). Aborted requests call nothing.
 */
function readBody(res: HttpResponse, limit: number, onTooLarge: () => void, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  res.onAborted(() => {
    failed = true;
    res.aborted = true;
  });
  res.onData((chunk, isLast) => {
    if (failed) return;
    size += chunk.byteLength;
    if (size > limit) {
      failed = true;
      onTooLarge();
      return;
    }
    // uWS reuses the chunk's memory after this callback returns: copy it.
    chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
  });
}

/** Runs a synchronous handler, turning thrown errors into error responses. */
function guarded(ctx: ServerContext, res: HttpResponse, info: RequestInfo, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) {
      respondError(res, err, info.replyEncoding);
      return;
    }
    ctx.log.error({ err, method: info.method, url: info.url }, 'HTTP handler failed');
    respondError(res, new ProtocolError(ErrorCode.ERROR_CODE_INTERNAL, 'internal error'), info.replyEncoding);
  }
}

function publishHandler(ctx: ServerContext, res: HttpResponse, req: HttpRequest): void {
  const info = requestInfo(req);
  const rawRoom = req.getParameter(0) ?? '';
  guarded(ctx, res, info, () => {
    checkApiKey(ctx, req);
    const room = checkRoomName(safeDecode(rawRoom));
    const limit = ctx.config.maxFrameBytes;
    readBody(
      res,
      limit,
      () => respondError(res, new ProtocolError(ErrorCode.ERROR_CODE_PAYLOAD_TOO_LARGE, `body exceeds ${limit} bytes`), info.replyEncoding),
      (body) =>
        guarded(ctx, res, info, () => {
          const p = decodeMessage<PublishCommand>('Publish', body, info.bodyEncoding === 'proto');
          if (p.room != null && p.room !== '' && p.room !== room) {
            throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, `body names room "${p.room}" but the path names "${room}"`);
          }
          if (p.excludeSelf === true) throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'excludeSelf needs a publishing connection; the HTTP API has none');
          checkPayload(p, ctx.config.maxPayloadBytes);
          const result = ctx.broker.publish({ room, timeUs: nowUs(), text: p.text ?? undefined, data: p.data ?? undefined, connId: '', excludeSelf: false });
          const reply = (seq: number): void => respond(res, '200 OK', 'PublishReply', { room, seq }, info.replyEncoding);
          if (typeof result === 'number') reply(result);
          else {
            result.then(reply, (err: unknown) => {
              ctx.log.error({ err, room }, 'broker publish failed');
              respondError(res, new ProtocolError(ErrorCode.ERROR_CODE_INTERNAL, 'the broker failed; try again'), info.replyEncoding);
            });
          }
        }),
    );
  });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_ROOM_NAME, 'room name is not valid percent-encoding');
  }
}

function notFound(res: HttpResponse, req: HttpRequest): void {
  const info = requestInfo(req);
  respondError(res, new ProtocolError(ErrorCode.ERROR_CODE_NOT_FOUND, `no route for ${info.method.toUpperCase()} ${info.url}`), info.replyEncoding);
}

function methodNotAllowed(allowed: string) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const info = requestInfo(req);
    respond(res, '405 Method Not Allowed', 'Error', { code: ErrorCode.ERROR_CODE_BAD_REQUEST, message: `use ${allowed}` }, info.replyEncoding, { allow: allowed });
  };
}

/** Registers the HTTP routes on the app. */
export function registerHttpRoutes(ctx: ServerContext, app: TemplatedApp): void {
  app.get('/healthz', (res) => {
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('content-type', 'application/json').end(JSON.stringify({ status: 'ok', connections: ctx.conns.size, rooms: ctx.rooms.size }));
    });
  });
  app.get('/api/rooms', (res, req) => {
    const info = requestInfo(req);
    guarded(ctx, res, info, () => {
      checkApiKey(ctx, req);
      respond(res, '200 OK', 'RoomList', { rooms: ctx.rooms.list() }, info.replyEncoding);
    });
  });
  app.post('/api/rooms/:room/publish', (res, req) => publishHandler(ctx, res, req));
  app.any('/api/rooms', methodNotAllowed('GET'));
  app.any('/api/rooms/:room/publish', methodNotAllowed('POST'));
  app.any('/healthz', methodNotAllowed('GET'));
  app.any('/*', notFound);
}
