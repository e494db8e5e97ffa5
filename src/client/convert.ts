/**
 * Decoded wire messages -> the client's public types. The codec gives proto3 defaults for
 * absent scalars and numbers for 64-bit integers (a decimal string in JSON beyond 2^53); these
 * functions make the types exact and drop the generated code's nullability.
 */
import type { ServerMessage } from '../protocol/types.js';
import type {
  AuthResult,
  HistoryResult,
  JoinResult,
  PresenceChange,
  PresenceResult,
  PresenceStatsResult,
  RecoveryOutcome,
  RemovedInfo,
  RoomEvent,
  StreamPosition,
  Welcome,
} from './types.js';

type Of<K extends keyof ServerMessage> = NonNullable<ServerMessage[K]>;

/** A 64-bit integer as either decoder hands it out: a number, a decimal string, a Long, or absent. */
type Int64 = number | string | { toString(): string } | null | undefined;

/** A 64-bit (or 32-bit) integer as a number; absent is 0. */
export function toNumber(v: Int64): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return 0;
  // A decimal string (JSON) or a Long (protobufjs), whose toString is decimal.
  return Number(String(v));
}

/**
 * A room event; `selfConnId` is the receiving connection's id, `previousConnId` the id of this
 * client's previous connection (events replayed after a reconnect may come from it).
 */
export function toRoomEvent(e: Of<'event'>, selfConnId: string, previousConnId = ''): RoomEvent {
  const connId = e.connId ?? '';
  const out: RoomEvent = {
    room: e.room ?? '',
    seq: toNumber(e.seq),
    timeUs: toNumber(e.timeUs),
    connId,
    userId: e.userId ?? '',
    fromSelf: connId !== '' && (connId === selfConnId || connId === previousConnId),
  };
  if (e.text != null) out.text = e.text;
  else if (e.data != null) out.data = e.data;
  return out;
}

/** A join reply, or one room of a Welcome. */
export function toJoinResult(j: Of<'join'>): JoinResult {
  return { room: j.room ?? '', seq: toNumber(j.seq), epoch: j.epoch ?? '' };
}

/** The position a join reply (or a room of a Welcome, or a StreamReset) puts the room at. */
export function positionOf(j: { epoch?: string | null; seq?: Int64 }): StreamPosition {
  return { epoch: j.epoch ?? '', seq: toNumber(j.seq) };
}

/**
 * Values of the proto enum roomcast.v1.RecoveryResult (a unit test holds them to the proto). A
 * value this client does not know reads as 'unsupported'.
 */
export const RECOVERY_RESULTS: Readonly<Record<number, RecoveryOutcome>> = Object.freeze({
  0: 'unsupported',
  1: 'recovered',
  2: 'epoch_changed',
  3: 'too_old',
});

/** What became of a join sent with `since`. */
export function toRecovery(j: Of<'join'>): RecoveryOutcome {
  // A server that says "recovered" has replayed everything, whatever the enum says.
  if (j.recovered === true) return 'recovered';
  const r = RECOVERY_RESULTS[j.recovery ?? 0] ?? 'unsupported';
  return r === 'recovered' ? 'unsupported' : r;
}

/** The reply to `history`; `self` and `previous` as in {@link toRoomEvent}. */
export function toHistory(h: Of<'history'>, selfConnId: string, previousConnId: string): HistoryResult {
  return {
    room: h.room ?? '',
    epoch: h.epoch ?? '',
    seq: toNumber(h.seq),
    events: (h.events ?? []).map((e) => toRoomEvent(e, selfConnId, previousConnId)),
    complete: h.complete === true,
  };
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
