/**
 * The HTTP request wrapper over uWS: reads what a handler needs from the stack-bound request,
 * collects the body, checks credentials, picks the reply encoding, and turns thrown errors into
 * Error replies with the matching status.
 *
 * Bodies are roomcast.v1 messages: proto3 JSON by default, protobuf with
 * `Content-Type: application/x-protobuf`. Replies use protobuf when the request's Accept header
 * asks for it (or, with no Accept preference, when the request body was protobuf).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { decodeMessage, type Encoding, encodeMessage, type TypeName } from '../protocol/codec.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import type { ServerContext } from './context.js';
import { countAuthFailure } from './identity.js';

const PROTOBUF_TYPE = 'application/x-protobuf';

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
  message<T>(type: TypeName): Promise<T>;
}

/** What a handler answers: a message, or raw text (metrics). */
export type HttpReply = { type: TypeName; body: object; status?: string } | { text: string; contentType: string };

function writeReply(res: HttpResponse, status: string, contentType: string, payload: string | Uint8Array, headers: Record<string, string> = {}): void {
  if (res.aborted === true) return;
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', contentType);
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(payload);
  });
}

function writeError(res: HttpResponse, err: ProtocolError, encoding: Encoding, status = httpStatus(err.code), extra: Record<string, string> = {}): void {
  const headers = err.code === ErrorCode.ERROR_CODE_UNAUTHENTICATED || err.code === ErrorCode.ERROR_CODE_TOKEN_EXPIRED ? { 'www-authenticate': 'Bearer realm="roomcast"', ...extra } : extra;
  writeReply(res, status, encoding === 'proto' ? PROTOBUF_TYPE : 'application/json', encodeMessage('Error', { code: err.code, message: err.message }, encoding), headers);
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
 * handler returns. `abort` settles the promise when the client goes away mid-body.
 */
function collectBody(res: HttpResponse, limit: number): { body: Promise<Buffer>; abort(): void } {
  let fail: (err: Error) => void = () => {};
  const body = new Promise<Buffer>((resolve, reject) => {
    fail = reject;
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > limit) {
        failed = true;
        reject(new ProtocolError(ErrorCode.ERROR_CODE_PAYLOAD_TOO_LARGE, `body exceeds ${limit} bytes`));
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
  });
  return { body, abort: () => fail(new Error('request aborted')) };
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
    const accept = req.getHeader('accept');
    const bodyEncoding: Encoding = req.getHeader('content-type').startsWith(PROTOBUF_TYPE) ? 'proto' : 'json';
    let replyEncoding: Encoding = bodyEncoding;
    if (accept.includes(PROTOBUF_TYPE)) replyEncoding = 'proto';
    else if (accept.includes('json')) replyEncoding = 'json';
    const rawParams = Array.from({ length: options.params ?? 0 }, (_, i) => req.getParameter(i) ?? '');
    const authorization = req.getHeader('authorization');
    const method = req.getMethod();
    const url = req.getUrl();
    const query = req.getQuery() ?? '';
    const collected = options.body === true ? collectBody(res, ctx.config.maxFrameBytes) : undefined;
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
        message: async <T>(type: TypeName) => {
          const bytes = await body;
          if (bytes.length === 0) return decodeMessage<T>(type, bodyEncoding === 'proto' ? bytes : '{}', bodyEncoding === 'proto');
          return decodeMessage<T>(type, bytes, bodyEncoding === 'proto');
        },
      };
      return fn(call);
    };
    run().then(
      (reply) => {
        if ('text' in reply) writeReply(res, '200 OK', reply.contentType, reply.text);
        else writeReply(res, reply.status ?? '200 OK', replyEncoding === 'proto' ? PROTOBUF_TYPE : 'application/json', encodeMessage(reply.type, reply.body, replyEncoding));
      },
      (err: unknown) => {
        if (err instanceof ProtocolError) {
          writeError(res, err, replyEncoding);
          return;
        }
        ctx.log.error({ err, method, url }, 'HTTP handler failed');
        writeError(res, new ProtocolError(ErrorCode.ERROR_CODE_INTERNAL, 'internal error'), replyEncoding);
      },
    );
  };
}

function sameSecret(given: string, expected: string): boolean {
  // Compare digests so the comparison takes the same time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}

/**
 * Lets a request through with the API key or a token carrying `admin: true`. Open only when
 * neither an API key nor a token key is configured (local use).
 */
async function authorize(ctx: ServerContext, header: string): Promise<void> {
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
    countAuthFailure(ctx, err);
    throw err;
  }
  if (!admin) throw new ProtocolError(ErrorCode.ERROR_CODE_PERMISSION_DENIED, 'the token has no admin claim');
}

/** Answers 405 on a known path with the wrong method. */
export function methodNotAllowed(allowed: string): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const encoding: Encoding = req.getHeader('accept').includes(PROTOBUF_TYPE) ? 'proto' : 'json';
    writeError(res, new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, `use ${allowed}`), encoding, '405 Method Not Allowed', { allow: allowed });
  };
}
