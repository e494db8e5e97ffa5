/**
 * What the HTTP API reads from request headers before it touches a body: the message framing
 * (Content-Length / Transfer-Encoding, checked the way RFC 9112 asks, because uWS's parser
 * silently takes the first of two Content-Lengths) and the media types that pick an encoding
 * (case-insensitive, parameters ignored).
 */
import type { HttpRequest } from 'uWebSockets.js';
import type { Encoding } from '../protocol/types.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';

/** The media type of protobuf bodies. */
export const PROTOBUF_TYPE = 'application/x-protobuf';

/** How a request says its body is framed, read from every header line (not only the first). */
export interface Framing {
  /** The declared length, or undefined without a Content-Length. */
  readonly contentLength: number | undefined;
  /** Whether a Transfer-Encoding header is present. */
  readonly chunked: boolean;
  /** Why the framing is ambiguous (a 400), or undefined when it is fine. */
  readonly problem: string | undefined;
}

/**
 * Reads the framing headers. Two Content-Lengths that differ, a list of different values, a
 * value that is not a plain number, or Content-Length together with Transfer-Encoding are a
 * problem: a proxy in front might read the other length, which is how requests are smuggled.
 * (uWS v20.30 itself already drops the connection for the last three; the first reaches us.)
 */
export function readFraming(req: HttpRequest): Framing {
  const lengths = new Set<string>();
  const seen = { chunked: false };
  req.forEach((key, value) => {
    if (key === 'content-length') for (const v of value.split(',')) lengths.add(v.trim());
    else if (key === 'transfer-encoding') seen.chunked = true;
  });
  const [first] = lengths;
  let problem: string | undefined;
  if (lengths.size > 1) problem = `conflicting Content-Length headers (${[...lengths].join(', ')})`;
  else if (first !== undefined && !/^\d{1,15}$/.test(first)) problem = 'Content-Length is not a number';
  else if (first !== undefined && seen.chunked) problem = 'Content-Length together with Transfer-Encoding';
  const contentLength = first !== undefined && problem === undefined ? Number(first) : undefined;
  return { contentLength, chunked: seen.chunked, problem };
}

/** Whether a request with this framing has body bytes on the wire. */
export function hasBody(f: Framing): boolean {
  return f.chunked || (f.contentLength ?? 0) > 0;
}

/** The 400 for an ambiguous framing. */
export function framingError(f: Framing): ProtocolError {
  return new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, `${f.problem ?? 'bad framing'}: the request is ambiguous and the connection is closed`);
}

/** `"Application/X-Protobuf; charset=x"` -> `"application/x-protobuf"`. */
export function mediaType(header: string): string {
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/** The encoding of a body with this Content-Type: protobuf for application/x-protobuf, else JSON. */
export function bodyEncodingOf(contentType: string): Encoding {
  return mediaType(contentType) === PROTOBUF_TYPE ? 'proto' : 'json';
}

/**
 * The reply encoding an Accept header asks for: protobuf when it lists application/x-protobuf,
 * JSON when it lists a JSON type, else undefined (no preference).
 */
export function acceptedEncoding(accept: string): Encoding | undefined {
  const types = accept.split(',').map(mediaType);
  if (types.includes(PROTOBUF_TYPE)) return 'proto';
  if (types.some((t) => t.endsWith('json'))) return 'json';
  return undefined;
}
