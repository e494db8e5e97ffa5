/**
 * The WebSocket handshake: pick the encoding from the offered subprotocols, read the room from
 * the URL path, take the `?token=`, check the Origin and connection limits.
 *
 * A handshake that is malformed (bad room name, no subprotocol we speak) gets an HTTP error.
 * One refused for who or where it comes from (token, Origin, limits) is accepted and then
 * closed at once with a close code from the catalogue, because a browser cannot read the HTTP
 * status of a failed handshake but can read a close code.
 */
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { encodeJson } from '../../protocol/codec.js';
import { CloseCode, ErrorCode, ProtocolError } from '../../protocol/errors.js';
import { checkRoomName } from '../../protocol/limits.js';
import { type Encoding, SUBPROTOCOLS } from '../../protocol/types.js';
import type { Refusal, SocketData } from '../connections.js';
import type { ServerContext } from '../context.js';
import { httpStatus } from '../http-handler.js';

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

/** Whether the limits leave room for one more connection from `address`; a refusal if not. */
export function checkLimits(ctx: ServerContext, address: string): Refusal | undefined {
  const { maxConnections, maxConnectionsPerIp } = ctx.config;
  if (maxConnections > 0 && ctx.conns.size >= maxConnections) {
    return { code: CloseCode.CLOSE_CODE_TRY_AGAIN_LATER, reason: `server full (${maxConnections} connections)`, why: 'too_many_connections' };
  }
  if (maxConnectionsPerIp > 0 && ctx.conns.fromAddress(address) >= maxConnectionsPerIp) {
    return { code: CloseCode.CLOSE_CODE_TRY_AGAIN_LATER, reason: `too many connections from ${address} (${maxConnectionsPerIp})`, why: 'too_many_per_ip' };
  }
  return undefined;
}

function refuseHttp(res: HttpResponse, err: ProtocolError): void {
  res.cork(() => {
    res
      .writeStatus(httpStatus(err.code))
      .writeHeader('content-type', 'application/json')
      .end(encodeJson('Error', { code: err.code, message: err.message }));
  });
}

/** The upgrade handler for `/ws`, `/rooms/:room` and `/rooms/*` (empty or multi-segment names). */
export function upgrade(ctx: ServerContext, res: HttpResponse, req: HttpRequest, context: us_socket_context_t, withRoom: boolean): void {
  // Everything is read from `req` now: it is only valid during this call.
  const key = req.getHeader('sec-websocket-key');
  const extensions = req.getHeader('sec-websocket-extensions');
  const origin = req.getHeader('origin');
  // uWS returns undefined, not the '' its types promise, for an absent query parameter.
  const token = (req.getQuery('token') as string | undefined) ?? '';
  let room: string | undefined;
  let encoding: Encoding;
  let subprotocol: string;
  try {
    if (withRoom) {
      // From the URL rather than the route parameter: `/rooms/` and `/rooms/a/b` come here too
      // (through the `/rooms/*` route) and get the same 400 as any other bad name.
      const raw = req.getUrl().slice('/rooms/'.length);
      let decoded: string;
      try {
        decoded = decodeURIComponent(raw);
      } catch {
        throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_ROOM_NAME, 'room name is not valid percent-encoding');
      }
      room = checkRoomName(decoded);
    }
    ({ encoding, subprotocol } = negotiateEncoding(req.getHeader('sec-websocket-protocol'), ctx.config.defaultEncoding));
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    refuseHttp(res, err);
    return;
  }
  const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
  let forwarded = '';
  let xForwardedFor = '';
  if (ctx.clientAddresses.enabled) {
    // Every line of each header: a proxy may add its own line rather than extend the first.
    req.forEach((k, v) => {
      if (k === 'forwarded') forwarded += forwarded === '' ? v : `,${v}`;
      else if (k === 'x-forwarded-for') xForwardedFor += xForwardedFor === '' ? v : `,${v}`;
    });
  }
  const remote = ctx.clientAddresses.resolve(peer, forwarded, xForwardedFor);

  const allowed = ctx.config.allowedOrigins;
  let refusal: Refusal | undefined;
  if (origin !== '' && allowed.length > 0 && !allowed.includes(origin)) {
    refusal = { code: CloseCode.CLOSE_CODE_POLICY, reason: `origin ${origin} is not allowed`, why: 'policy' };
  }
  const now = performance.now();
  if (refusal === undefined && !ctx.addressLimits.allowConnect(remote, now)) {
    refusal = {
      code: CloseCode.CLOSE_CODE_TRY_AGAIN_LATER,
      reason: `too many new connections from ${remote} (${ctx.config.maxConnectsPerIpPerSec}/s)`,
      why: 'connect_rate',
    };
  }
  refusal ??= checkLimits(ctx, remote);
  if (refusal === undefined && token === '' && ctx.auth.required && room !== undefined) {
    ctx.stats.authFailures.missing += 1;
    refusal = { code: CloseCode.CLOSE_CODE_UNAUTHENTICATED, reason: 'a token (?token=) is needed to join a room from the URL', why: 'unauthenticated' };
  }
  // Without a token: anonymous if allowed, else the connection must send `connect`. A token is
  // verified after open (see onOpen), so the upgrade itself stays synchronous: uWS.js v20.30
  // corrupts sockets upgraded from inside a later res.cork (uNetworking/uWebSockets#1928).
  const identity = token === '' && !ctx.auth.required ? ctx.auth.anonymous() : undefined;
  // A rate state only if this address's last connection left one (else the first frame makes it).
  const conn = ctx.conns.create(encoding, room, remote, identity, ctx.addressLimits.keptState(remote, now));
  conn.refusal = refusal;
  conn.urlToken = token === '' ? undefined : token;
  const data: SocketData = { conn };
  res.upgrade(data, key, subprotocol, extensions, context);
}
