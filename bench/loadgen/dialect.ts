/**
 * How the load generator speaks to each server under test: the URL and subprotocol of a room
 * member, how to find the bench payload in a received frame, and the frames that publish one.
 *
 * Every peer carries the same payload bytes (./payload.ts); only the wrapping differs. The
 * servers agree on one shape: `/rooms/<room>` (or a query parameter for Socket.IO) makes the
 * socket a member, the server's first message says the membership is in place, and a publish
 * from a member reaches every other member of its room.
 */
import type { Stamp } from './payload.js';
import type { WsClient } from './wsclient.js';

/** What a received frame was. */
export const FrameKind = {
  /** Nothing the bench counts (a reply, a Socket.IO header or handshake packet). */
  other: 0,
  /** A room event; the stamp was read. */
  event: 1,
  /** The server's first message: membership is in place. */
  welcome: 2,
  /** The server refused something (an Error reply, a Socket.IO connect error). */
  error: 3,
} as const;
/** One of {@link FrameKind}. */
export type FrameKindValue = (typeof FrameKind)[keyof typeof FrameKind];

/** The frame encoding a roomcast member asks for; peers other than roomcast know only one. */
export type MemberEncoding = 'proto' | 'json';

/** One server's wire, seen from the load generator. */
export interface Dialect {
  /** Whether members can ask for JSON frames (roomcast only). */
  readonly supportsJson: boolean;
  /** The same wire's name in the C receiver (../native/receiver.c). */
  readonly nativeName: 'roomcast' | 'raw' | 'socketio';
  /** The request path and subprotocol of a member of `room`. */
  member(room: string, encoding: MemberEncoding): { path: string; protocol?: string };
  /**
   * Reads one text or binary frame. For an event, fills `stamp`. May answer on `client` (the
   * Socket.IO handshake and pings need it).
   */
  read(client: WsClient, opcode: number, buf: Buffer, start: number, end: number, stamp: Stamp): FrameKindValue;
  /** The encoded client frames that publish `payload` to `room`, sent in one write. */
  publish(room: string, payload: Buffer, requestId: number): Buffer[];
}

/** The room name for a room index: the same for every peer. */
export function roomName(index: number): string {
  return `r${index}`;
}
