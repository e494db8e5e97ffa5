/**
 * The HTTP request wrapper over uWS: reads what a handler needs from the stack-bound request,
 * collects the body, checks credentials, picks the reply encoding, and turns thrown errors into
 * Error replies with the matching status.
 *
 * Bodies are roomcast.v1 messages: proto3 JSON by default, protobuf with
 * `Content-Type: application/x-protobuf`. Replies use protobuf when the request's Accept header
 * asks for it (or, with no Accept preference, when the request body was protobuf).
 */
import { alreadyReported } from '../broker/broker.js';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { decodeJson, decodeProto, encodeJson, encodeProto } from '../protocol/codec.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import type { Encoding, Messages, TypeName } from '../protocol/types.js';
import { authorize } from './auth/api-key.js';
import type { ServerContext } from './context.js';

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
  writeReply(res, status, encoding === 'proto' ? PROTOBUF_TYPE : 'application/json', encodeReply('Error', { code: err.code, message: err.message }, encoding), headers);
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
        message: async <K extends TypeName>(type: K) => {
          const bytes = await body;
          if (bodyEncoding === 'proto') return decodeProto(type, bytes);
          return decodeJson(type, bytes.length === 0 ? '{}' : bytes);
        },
      };
      return fn(call);
    };
    run().then(
      (reply) => {
        if ('text' in reply) writeReply(res, '200 OK', reply.contentType, reply.text);
        else writeReply(res, reply.status ?? '200 OK', replyEncoding === 'proto' ? PROTOBUF_TYPE : 'application/json', encodeReply(reply.type, reply.body, replyEncoding));
      },
      (err: unknown) => {
        if (err instanceof ProtocolError) {
          writeError(res, err, replyEncoding);
          return;
        }
        if (!alreadyReported(err)) ctx.log.error({ err, method, url }, 'HTTP handler failed');
        writeError(res, new ProtocolError(ErrorCode.ERROR_CODE_INTERNAL, 'internal error'), replyEncoding);
      },
    );
  };
}

/** Answers 405 on a known path with the wrong method. */
export function methodNotAllowed(allowed: string): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const encoding: Encoding = req.getHeader('accept').includes(PROTOBUF_TYPE) ? 'proto' : 'json';
    writeError(res, new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, `use ${allowed}`), encoding, '405 Method Not Allowed', { allow: allowed });
  };
}
