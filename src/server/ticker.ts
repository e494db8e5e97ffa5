/**
 * The tutorial's ticker: the server time pushed into every room with members, through the same
 * publish path as everything else. With several processes, each ticks the rooms it has members
 * in; a claim per room and tick period (through the broker) makes one of them publish.
 */
import { alreadyReported } from '../broker/broker.js';
import { nowUs } from './clock.js';
import type { ServerContext } from './context.js';

/** Pushes the server time into every room with members. */
export function tick(ctx: ServerContext): void {
  const timeUs = nowUs();
  const text = new Date(Math.floor(timeUs / 1000)).toISOString();
  const period = ctx.config.tickMs;
  const slot = Math.floor(timeUs / 1000 / period);
  for (const room of ctx.rooms.names()) {
    const publish = (): void => {
      const r = ctx.broker.publish({ room, timeUs, text, connId: '', userId: '', source: 'ticker', excludeSelf: false });
      if (typeof r !== 'number') r.catch((err: unknown) => alreadyReported(err) || ctx.log.warn({ err, room }, 'tick publish failed'));
    };
    const claimed = ctx.broker.claim(`tick:${room}:${slot}`, period * 2);
    if (claimed === true) publish();
    else if (claimed !== false) {
      claimed.then(
        (mine) => {
          if (mine) publish();
        },
        (err: unknown) => alreadyReported(err) || ctx.log.warn({ err, room }, 'tick claim failed'),
      );
    }
  }
}
