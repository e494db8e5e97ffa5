/**
 * The HTTP request wrapper over uWS: reads what a handler needs from the stack-bound request,
 * collects the body, checks credentials, picks the reply encoding, and turns thrown errors into
 * Error replies with the matching status.
 *
 * Bodies are roomcast.v1 messages: proto3 JSON by default, protobuf with
 * `Content-Type: application/x-protobuf`. Replies use protobuf when the request's Accept header
 * asks for it (or, with no Accept preference, when the request body was protobuf).
 *
 * A reply sent before the request's body has been read to its end (413, 401, any error) stops
 * reading the connection and says `Connection: close`: otherwise uWS would go on reading and
 * discarding the rest of the body. The socket is not closed at once: closing a socket with unread
 * data makes the kernel send a reset, which often reaches a client that is still writing before
 * the reply does (seen with uWS.js v20.30), so the client would never learn why. Paused, the
 * connection costs nothing; the client closes it once it has the reply, or uWS closes it when its
 * HTTP idle timeout (10 s) passes.
 */
import { alreadyReported } from '../broker/broker.js';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { decodeJson, decodeProto, encodeJson, encodeProto } from '../protocol/codec.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import type { Encoding, Messages, TypeName } from '../protocol/types.js';
import { authorize } from './auth/api-key.js';
import type { ServerContext } from './context.js';
import { acceptedEncoding, bodyEncodingOf, type Framing, framingError, hasBody, PROTOBUF_TYPE, readFraming } from './http-headers.js';

const STATUS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.ERROR_CODE_UNAUTHENTICATED]: '401 Unauthorized',
  [ErrorCode.ERROR_CODE_TOKEN_EXPIRED]: '401 Unauthorized',
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

/** One HTTP request, read out of uWS's stack-bound request object. */
export interface HttpCall {
  readonly method: string;
  readonly url: string;
  /** Route parameters, percent-decoded. */
  readonly params: readonly string[];
  readonly replyEncoding: Encoding;
  readonly bodyEncoding: Encoding;
  readonly authorization: string;
  /** The query string (without `?`), raw. */
  readonly query: string;
  /** The body (only for routes that read one). */
  readonly body: Promise<Buffer>;
  /** Decodes the body as a message of `type`; an empty body is the empty message. */
  message<K extends TypeName>(type: K): Promise<Messages[K]>;
}

/** What a handler answers: a message, or raw text (metrics). */
export type HttpReply = MessageReply | { text: string; contentType: string };

/** A message reply: the type's name and a body of that type. */
export type MessageReply = { [K in TypeName]: { type: K; body: Messages[K]; status?: string } }[TypeName];

/** A message in the reply encoding. */
function encodeReply<K extends TypeName>(type: K, body: Messages[K], encoding: Encoding): Uint8Array | string {
  return encoding === 'proto' ? encodeProto(type, body) : encodeJson(type, body);
}

/**
 * What happens to the connection after a reply: kept alive (the request was read to its end),
 * `stop` reading it (a body is still coming: see the module comment), or `close` it at once
 * (the framing is ambiguous: no byte after the headers may be read as another request).
 */
type After = 'keep' | 'stop' | 'close';

/** Writes a whole reply, then keeps, stops reading or closes the connection. */
function writeReply(
  res: HttpResponse,
  status: string,
  contentType: string,
  payload: string | Uint8Array,
  headers: Record<string, string> = {},
  after: After = 'keep',
): void {
  if (res.aborted === true) return;
  res.cork(() => {
    if (after === 'stop') res.pause();
    res.writeStatus(status).writeHeader('content-type', contentType);
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    if (after === 'stop') res.writeHeader('connection', 'close');
    res.end(payload, after === 'close');
  });
}

function writeError(
  res: HttpResponse,
  err: ProtocolError,
  encoding: Encoding,
  status = httpStatus(err.code),
  extra: Record<string, string> = {},
  after: After = 'keep',
): void {
  const headers =
    err.code === ErrorCode.ERROR_CODE_UNAUTHENTICATED || err.code === ErrorCode.ERROR_CODE_TOKEN_EXPIRED
      ? { 'www-authenticate': 'Bearer realm="roomcast"', ...extra }
      : extra;
  writeReply(
    res,
    status,
    encoding === 'proto' ? PROTOBUF_TYPE : 'application/json',
    encodeReply('Error', { code: err.code, message: err.message }, encoding),
    headers,
    after,
  );
}

/**
 * Answers a request whose framing is ambiguous with 400 and closes the connection (the bytes
 * after its headers cannot be trusted to be the body). True when it did.
 */
function refuseFraming(ctx: ServerContext, res: HttpResponse, framing: Framing, encoding: Encoding): boolean {
  if (framing.problem === undefined) return false;
  ctx.stats.httpClosed.bad_framing += 1;
  writeError(res, framingError(framing), encoding, undefined, {}, 'close');
  return true;
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, `bad percent-encoding in ${JSON.stringify(raw)}`);
  }
}

/**
 * Collects a body of at most `limit` bytes. uWS requires onData to be attached before the
 * handler returns. `abort` settles the promise when the client goes away mid-body; `done` says
 * whether the body has been read to its end. A declared Content-Length over the limit fails at
 * once, before a byte of the body is read.
 */
function collectBody(res: HttpResponse, limit: number, declared: number | undefined): { body: Promise<Buffer>; abort(): void; done(): boolean } {
  let fail: (err: Error) => void = () => {};
  let ended = false;
  const tooLarge = () => new ProtocolError(ErrorCode.ERROR_CODE_PAYLOAD_TOO_LARGE, `body exceeds ${limit} bytes`);
  const body = new Promise<Buffer>((resolve, reject) => {
    fail = reject;
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = declared !== undefined && declared > limit;
    if (failed) reject(tooLarge());
    res.onData((chunk, isLast) => {
      if (isLast) ended = true;
      if (failed) return;
      size += chunk.byteLength;
      if (size > limit) {
        failed = true;
        reject(tooLarge());
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
  });
  return { body, abort: () => fail(new Error('request aborted')), done: () => ended };
}

/**
 * Wraps an async route handler: reads what it needs from the request up front (uWS's request
 * object dies when the handler returns), handles aborts, turns thrown errors into Error replies.
 */
export function handler(
  ctx: ServerContext,
  options: { params?: number; body?: boolean; auth?: boolean },
  fn: (call: HttpCall) => Promise<HttpReply> | HttpReply,
): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const bodyEncoding = bodyEncodingOf(req.getHeader('content-type'));
    const replyEncoding: Encoding = acceptedEncoding(req.getHeader('accept')) ?? bodyEncoding;
    const framing = readFraming(req);
    if (refuseFraming(ctx, res, framing, replyEncoding)) return;
    const rawParams = Array.from({ length: options.params ?? 0 }, (_, i) => (req.getParameter(i) as string | undefined) ?? '');
    const authorization = req.getHeader('authorization');
    const method = req.getMethod();
    const url = req.getUrl();
    // uWS returns undefined, not the '' its types promise, for a URL without a query.
    const query = (req.getQuery() as string | undefined) ?? '';
    const collected = options.body === true ? collectBody(res, ctx.config.maxFrameBytes, framing.contentLength) : undefined;
    // A route that reads no body leaves one to uWS, which would read it to the end: stop instead.
    const after = (): After => {
      const pending = collected === undefined ? hasBody(framing) : !collected.done();
      if (!pending) return 'keep';
      if (res.aborted !== true) ctx.stats.httpClosed.unread_body += 1;
      return 'stop';
    };
    res.onAborted(() => {
      res.aborted = true;
      collected?.abort();
    });
    const body = collected?.body ?? Promise.resolve(Buffer.alloc(0));
    // A body nobody awaits (the handler failed first) must not become an unhandled rejection.
    body.catch(() => {});
    const run = async (): Promise<HttpReply> => {
      if (options.auth !== false) await authorize(ctx, authorization);
      const call: HttpCall = {
        method,
        url,
        params: rawParams.map(decodeParam),
        replyEncoding,
        bodyEncoding,
        authorization,
        query,
        body,
        message: async <K extends TypeName>(type: K) => {
          const bytes = await body;
          if (bodyEncoding === 'proto') return decodeProto(type, bytes);
          // Unknown fields are skipped, in both encodings, as in WebSocket frames.
          return decodeJson(type, bytes.length === 0 ? '{}' : bytes, { ignoreUnknownFields: true });
        },
      };
      return fn(call);
    };
    run().then(
      (reply) => {
        if ('text' in reply) writeReply(res, '200 OK', reply.contentType, reply.text, {}, after());
        else
          writeReply(
            res,
            reply.status ?? '200 OK',
            replyEncoding === 'proto' ? PROTOBUF_TYPE : 'application/json',
            encodeReply(reply.type, reply.body, replyEncoding),
            {},
            after(),
          );
      },
      (err: unknown) => {
        if (err instanceof ProtocolError) {
          writeError(res, err, replyEncoding, undefined, {}, after());
          return;
        }
        if (!alreadyReported(err)) ctx.log.error({ err, method, url }, 'HTTP handler failed');
        writeError(res, new ProtocolError(ErrorCode.ERROR_CODE_INTERNAL, 'internal error'), replyEncoding, undefined, {}, after());
      },
    );
  };
}

/** Answers 405 on a known path with the wrong method. */
export function methodNotAllowed(ctx: ServerContext, allowed: string): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const encoding: Encoding = acceptedEncoding(req.getHeader('accept')) === 'proto' ? 'proto' : 'json';
    const framing = readFraming(req);
    if (refuseFraming(ctx, res, framing, encoding)) return;
    const unread = hasBody(framing);
    if (unread) ctx.stats.httpClosed.unread_body += 1;
    writeError(
      res,
      new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, `use ${allowed}`),
      encoding,
      '405 Method Not Allowed',
      { allow: allowed },
      unread ? 'stop' : 'keep',
    );
  };
}
