/**
 * How the page words things: times, publishers, payloads, rates. Plain strings, which the page
 * puts into the DOM as text only. No DOM here, so it is unit-tested in Node.
 */
import type { RoomEvent } from '../client/index.js';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** A server time (microseconds since the epoch) as local `HH:MM:SS.mmm`. */
export function clockTime(timeUs: number): string {
  const d = new Date(Math.floor(timeUs / 1000));
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Who published an event: this page, a user, an anonymous connection, or the server itself. */
export function publisher(e: RoomEvent): string {
  if (e.fromSelf) return e.userId !== '' ? `${e.userId} (you)` : 'you';
  if (e.userId !== '') return e.userId;
  if (e.connId !== '') return `anonymous ${e.connId}`;
  return 'server';
}

/** How many bytes of a binary payload to show in hex. */
const HEX_PREVIEW = 16;

/** An event's payload as one line: its text, or a size and hex preview for bytes. */
export function payload(e: RoomEvent): string {
  if (e.data === undefined) return e.text ?? '';
  const hex = Array.from(e.data.subarray(0, HEX_PREVIEW), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `[${e.data.length} bytes] ${hex}${e.data.length > HEX_PREVIEW ? ' …' : ''}`;
}

/** A rate per second, short: `0`, `3.5`, `42`, `1.2k`. */
export function perSecond(n: number): string {
  if (n >= 10_000) return `${(n / 1000).toFixed(0)}k`;
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
  if (n >= 10 || n === 0) return n.toFixed(0);
  return n.toFixed(1);
}

/** Seconds as `42s`, `5m 03s` or `2h 05m`. */
export function duration(sec: number): string {
  const s = Math.floor(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
}
