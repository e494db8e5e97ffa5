/**
 * The tutorial's ticker: the server time pushed into every room with members, through the same
 * publish path as everything else.
 */
import { nowUs, type ServerContext } from './context.js';

/** Pushes the server time into every room with members (the tutorial's ticker). */
export function tick(ctx: ServerContext): void {
  const timeUs = nowUs();
  const text = new Date(Math.floor(timeUs / 1000)).toISOString();
  for (const room of ctx.rooms.names()) {
    const r = ctx.broker.publish({ room, timeUs, text, connId: '', userId: '', excludeSelf: false });
    if (typeof r !== 'number') r.catch((err: unknown) => ctx.log.warn({ err, room }, 'tick publish failed'));
  }
}
