/**
 * roomcast's wire as the recovery storm reads it (./storm.ts): unlike the fan-out receivers,
 * which only need the bench stamp, a storm member must know each event's `seq`, its connection
 * id and stream position from the welcome, and the outcome of its rejoin (the JoinReply). Events
 * are walked field by field to their seq (no decoder, no allocation: they are almost every
 * frame); every other frame is rare and goes through the project's own decoder.
 */
import { decodeProto, encodeProto } from '../../src/protocol/codec.js';
import { encodeClientFrame, Opcode } from './frame.js';
import { cursor, skip, varint } from './proto-walk.js';

// ServerMessage.event and Event.seq (proto/roomcast/v1/roomcast.proto).
const SM_EVENT = 8;
const EV_SEQ = 2;
/** RecoveryResult.RECOVERY_RESULT_RECOVERED. */
const RECOVERED = 1;

/** What one server frame was, for a storm member or the storm publisher. */
export type StormFrame =
  | { kind: 'event'; seq: number }
  | { kind: 'welcome'; connId: string; epoch: string; seq: number }
  | { kind: 'join'; id: number; epoch: string; seq: number; recovered: boolean; missed: number; recovery: number }
  | { kind: 'publish'; id: number; seq: number }
  | { kind: 'reset'; epoch: string; seq: number }
  | { kind: 'error'; id: number; message: string }
  | { kind: 'other' };

/** The one event result, reused (events are nearly every frame). */
const EVENT: { kind: 'event'; seq: number } = { kind: 'event', seq: 0 };
const OTHER: StormFrame = { kind: 'other' };

/** The seq of an event frame, or -1 when the frame is not an event (a server frame carries one kind). */
function eventSeq(buf: Buffer, start: number, end: number): number {
  cursor.pos = start;
  while (cursor.pos < end) {
    const key = varint(buf, end);
    if (key === SM_EVENT * 8 + 2) {
      const len = varint(buf, end);
      const evEnd = cursor.pos + len;
      while (cursor.pos < evEnd) {
        const k = varint(buf, evEnd);
        if (k === EV_SEQ * 8) return varint(buf, evEnd);
        skip(buf, evEnd, k & 7);
      }
      return 0;
    }
    if (key >>> 3 !== 1) return -1;
    skip(buf, end, key & 7);
  }
  return -1;
}

/** Reads one binary server frame `buf[start, end)`. The event result is shared: read it at once. */
export function readStormFrame(buf: Buffer, start: number, end: number): StormFrame {
  const seq = eventSeq(buf, start, end);
  if (seq >= 0) {
    EVENT.seq = seq;
    return EVENT;
  }
  const m = decodeProto('ServerMessage', buf.subarray(start, end));
  const id = m.id ?? 0;
  if (m.welcome) {
    const room = m.welcome.rooms?.[0];
    return { kind: 'welcome', connId: m.welcome.connId ?? '', epoch: room?.epoch ?? '', seq: Number(room?.seq ?? 0) };
  }
  if (m.join) {
    const j = m.join;
    return {
      kind: 'join',
      id,
      epoch: j.epoch ?? '',
      seq: Number(j.seq ?? 0),
      recovered: j.recovered === true,
      missed: Number(j.missed ?? 0),
      recovery: j.recovery ?? 0,
    };
  }
  if (m.publish) return { kind: 'publish', id, seq: Number(m.publish.seq ?? 0) };
  if (m.streamReset) return { kind: 'reset', epoch: m.streamReset.epoch ?? '', seq: Number(m.streamReset.seq ?? 0) };
  if (m.error) return { kind: 'error', id, message: `${m.error.code ?? ''} ${m.error.message ?? ''}` };
  return OTHER;
}

/** Whether a JoinReply's recovery result says the missed events were replayed. */
export function wasRecovered(f: { recovered: boolean; recovery: number }): boolean {
  return f.recovered && f.recovery === RECOVERED;
}

/** The message (unframed: `WsClient.send` frames it) that rejoins `room` from `since`, naming the connection it replaces. */
export function rejoinMessage(id: number, room: string, since: { epoch: string; seq: number }, previousConnId: string): Uint8Array {
  return encodeProto('ClientMessage', { id, join: { room, since: { epoch: since.epoch, seq: since.seq }, previousConnId } });
}

/** The client frame that publishes `payload` to `room` (exclude_self: the publisher wants no echo). */
export function publishFrame(id: number, room: string, payload: Uint8Array): Buffer {
  return encodeClientFrame(Opcode.binary, encodeProto('ClientMessage', { id, publish: { room, data: payload, excludeSelf: true } }));
}
