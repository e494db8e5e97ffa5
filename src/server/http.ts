/**
 * The core HTTP routes: publish into a room, list rooms, and the catch-all 404. The request
 * wrapper they use is in http-handler.ts; admin routes are in admin.ts, /metrics in metrics.ts,
 * /healthz in health.ts.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { checkPayload, checkRoomName, checkSource } from '../protocol/limits.js';
import { nowUs } from './clock.js';
import type { ServerContext } from './context.js';
import { readHistory } from './history.js';
import { handler, methodNotAllowed } from './http-handler.js';

function publish(ctx: ServerContext) {
  return handler(ctx, { params: 1, body: true }, async (call) => {
    const room = checkRoomName(call.params[0]);
    const p = await call.message('Publish');
    if (p.room != null && p.room !== '' && p.room !== room) {
      throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, `body names room "${p.room}" but the path names "${room}"`);
    }
    if (p.excludeSelf === true) throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'excludeSelf needs a publishing connection; the HTTP API has none');
    checkPayload(p, ctx.config.maxPayloadBytes);
    const source = checkSource(p.source);
    const seq = await ctx.broker.publish({
      room,
      timeUs: nowUs(),
      text: p.text ?? undefined,
      data: p.data ?? undefined,
      connId: '',
      userId: '',
      source,
      excludeSelf: false,
    });
    return { type: 'PublishReply', body: { room, seq } };
  });
}

function intParam(q: URLSearchParams, name: string): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return 0;
  if (!/^\d{1,15}$/.test(raw)) throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, `${name} must be a non-negative integer`);
  return Number(raw);
}

/** GET /api/rooms/<room>/history?limit=&reverse=&since_epoch=&since_seq= */
function history(ctx: ServerContext) {
  return handler(ctx, { params: 1 }, async (call) => {
    const room = checkRoomName(call.params[0]);
    const q = new URLSearchParams(call.query);
    const epoch = q.get('since_epoch');
    const since = epoch !== null ? { epoch, seq: intParam(q, 'since_seq') } : undefined;
    const reverse = q.get('reverse');
    if (reverse !== null && reverse !== 'true' && reverse !== 'false')
      throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'reverse must be true or false');
    const body = await readHistory(ctx, room, { since, limit: intParam(q, 'limit'), reverse: reverse === 'true' }, '');
    return { type: 'HistoryReply', body };
  });
}

/** Registers the core HTTP routes (call last: it adds the catch-all 404). */
export function registerHttpRoutes(ctx: ServerContext, app: TemplatedApp): void {
  app.get(
    '/api/rooms',
    handler(ctx, {}, () => ({ type: 'RoomList', body: { rooms: ctx.rooms.list() } })),
  );
  app.post('/api/rooms/:room/publish', publish(ctx));
  app.get('/api/rooms/:room/history', history(ctx));
  app.any('/api/rooms/:room/history', methodNotAllowed(ctx, 'GET'));
  app.any('/api/rooms', methodNotAllowed(ctx, 'GET'));
  app.any('/api/rooms/:room/publish', methodNotAllowed(ctx, 'POST'));
  app.any(
    '/*',
    handler(ctx, { auth: false }, (call) => {
      throw new ProtocolError(ErrorCode.ERROR_CODE_NOT_FOUND, `no route for ${call.method.toUpperCase()} ${call.url}`);
    }),
  );
}
