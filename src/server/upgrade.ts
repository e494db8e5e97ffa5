/**
 * The WebSocket handshake: pick the encoding from the offered subprotocols, read the room from
 * the URL path, create the connection record. Refusals are HTTP errors with an Error body,
 * before any WebSocket exists.
 */
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { type Encoding, encodeMessage, SUBPROTOCOLS } from '../protocol/codec.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { checkRoomName } from '../protocol/limits.js';
import type { ServerContext } from './context.js';
import { httpStatus } from './http.js';

const BY_SUBPROTOCOL = new Map<string, Encoding>(Object.entries(SUBPROTOCOLS).map(([enc, name]) => [name, enc as Encoding]));

/**
 * The encoding for a Sec-WebSocket-Protocol header: the first offered name we know, the default
 * when none is offered. Offering only names we do not know is an error (a browser would fail
 * the handshake anyway if we answered without one of them).
 */
export function negotiateEncoding(header: string, fallback: Encoding): { encoding: Encoding; subprotocol: string } {
  if (header.trim() === '') return { encoding: fallback, subprotocol: '' };
  for (const offered of header.split(',')) {
    const name = offered.trim();
    const encoding = BY_SUBPROTOCOL.get(name);
    if (encoding !== undefined) return { encoding, subprotocol: name };
  }
  throw new ProtocolError(
    ErrorCode.ERROR_CODE_BAD_REQUEST,
    `no supported subprotocol in ${JSON.stringify(header)}: offer ${SUBPROTOCOLS.proto} or ${SUBPROTOCOLS.json}`,
  );
}

function refuse(res: HttpResponse, err: ProtocolError): void {
  res.cork(() => {
    res.writeStatus(httpStatus(err.code)).writeHeader('content-type', 'application/json').end(encodeMessage('Error', { code: err.code, message: err.message }, 'json'));
  });
}

/** The upgrade handler for `/ws` and `/rooms/:room`. */
export function upgrade(ctx: ServerContext, res: HttpResponse, req: HttpRequest, context: us_socket_context_t, withRoom: boolean): void {
  try {
    let room: string | undefined;
    if (withRoom) {
      const raw = req.getParameter(0) ?? '';
      let decoded: string;
      try {
        decoded = decodeURIComponent(raw);
      } catch {
        throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_ROOM_NAME, 'room name is not valid percent-encoding');
      }
      room = checkRoomName(decoded);
    }
    const { encoding, subprotocol } = negotiateEncoding(req.getHeader('sec-websocket-protocol'), ctx.config.defaultEncoding);
    const remote = Buffer.from(res.getRemoteAddressAsText()).toString();
    const conn = ctx.conns.create(encoding, room, remote);
    res.upgrade(conn, req.getHeader('sec-websocket-key'), subprotocol, req.getHeader('sec-websocket-extensions'), context);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    refuse(res, err);
  }
}
