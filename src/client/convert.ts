/**
 * Decoded wire messages -> the client's public types. The codec gives proto3 defaults for
 * absent scalars and numbers for 64-bit integers (a decimal string in JSON beyond 2^53); these
 * functions make the types exact and drop the generated code's nullability.
 */
import type { ServerMessage } from '../protocol/types.js';
import type {
  AuthResult,
  JoinResult,
  PresenceChange,
  PresenceResult,
  PresenceStatsResult,
  RemovedInfo,
  RoomEvent,
  Welcome,
} from './types.js';

type Of<K extends keyof ServerMessage> = NonNullable<ServerMessage[K]>;

/** A 64-bit (or 32-bit) integer as a number; absent is 0. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return 0;
  // A decimal string (JSON) or a Long (protobufjs), whose toString is decimal.
  return Number(String(v));
}

/** A room event; `selfConnId` is the receiving connection's id. */
export function toRoomEvent(e: Of<'event'>, selfConnId: string): RoomEvent {
  const connId = e.connId ?? '';
  const out: RoomEvent = {
    room: e.room ?? '',
    seq: toNumber(e.seq),
    timeUs: toNumber(e.timeUs),
    connId,
    userId: e.userId ?? '',
    fromSelf: connId !== '' && connId === selfConnId,
  };
  if (e.text != null) out.text = e.text;
  else if (e.data != null) out.data = e.data;
  return out;
}

/** A join reply, or one room of a Welcome. */
export function toJoinResult(j: Of<'join'>): JoinResult {
  return { room: j.room ?? '', seq: toNumber(j.seq) };
}

/** The Welcome message. */
export function toWelcome(w: Of<'welcome'>): Welcome {
  return {
    connId: w.connId ?? '',
    rooms: (w.rooms ?? []).map(toJoinResult),
    maxPayloadBytes: w.maxPayloadBytes ?? 0,
    userId: w.userId ?? '',
    authRequired: w.authRequired === true,
  };
}

/** The reply to the `connect` command. */
export function toAuthResult(c: Of<'connect'>): AuthResult {
  return { userId: c.userId ?? '', expiresAtUs: toNumber(c.expiresAtUs) };
}

/** The reply to `presence`. */
export function toPresence(p: Of<'presence'>): PresenceResult {
  return {
    room: p.room ?? '',
    members: (p.members ?? []).map((m) => ({ userId: m.userId ?? '', connIds: [...(m.connIds ?? [])] })),
  };
}

/** The reply to `presenceStats`. */
export function toPresenceStats(p: Of<'presenceStats'>): PresenceStatsResult {
  return { room: p.room ?? '', connections: p.connections ?? 0, users: p.users ?? 0 };
}

/** Values of the proto enum roomcast.v1.PresenceAction (a unit test holds them to the proto). */
export const PRESENCE_ACTIONS: Readonly<Record<number, PresenceChange['action']>> = Object.freeze({ 1: 'join', 2: 'leave' });

/** A pushed presence event. */
export function toPresenceChange(p: Of<'presenceEvent'>): PresenceChange {
  return {
    room: p.room ?? '',
    action: PRESENCE_ACTIONS[p.action ?? 0] ?? 'unspecified',
    userId: p.userId ?? '',
    connId: p.connId ?? '',
  };
}

/** A pushed Removed message. */
export function toRemoved(r: Of<'removed'>): RemovedInfo {
  return { room: r.room ?? '', reason: r.reason ?? '' };
}
