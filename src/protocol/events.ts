/**
 * The publish path's event encoders: `ServerMessage{event}` once per publish, per encoding, with
 * no allocation for protobuf and a hand-written JSON printer (a unit test holds both equal to the
 * generic codec). Also the splice that turns an Event encoded by another process into a frame.
 */
import protobuf from 'protobufjs/minimal.js';
import { roomcast } from '../gen/roomcast.js';
import { encodeBase64 } from './base64.js';
import { longToNumber } from './codec.js';
import type { EventMessage } from './types.js';

const v1 = roomcast.v1;

/** The parts of a pushed event, as the publish path has them. */
export interface EventFields {
  room: string;
  seq: number;
  timeUs: number;
  text?: string | undefined;
  data?: Uint8Array | undefined;
  connId: string;
  userId: string;
  /** What published a server-side event ("ticker", "http", a caller's name); absent for clients'. */
  source?: string | undefined;
}

// One writer for every event: after reset() it writes into the same growing buffer, so an
// event costs no allocation. See encodeEventProto for when the result may be used.
const eventWriter = protobuf.Writer.create();

/**
 * Encodes `ServerMessage{event}` as protobuf, once per publish. The result is a view into a
 * buffer the next call overwrites: hand it to uWS (which copies it) and drop it.
 */
export function encodeEventProto(e: EventFields): Uint8Array {
  eventWriter.reset();
  return v1.ServerMessage.encode({ event: e }, eventWriter).finish(true);
}

/** Bytes of an unsigned varint. */
function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 128; v = Math.floor(v / 128)) size += 1;
  return size;
}

/**
 * `ServerMessage{event}` as protobuf from an Event encoded elsewhere without its seq (another
 * process, through Redis): the seq field is appended (protobuf fields may come in any order) and
 * the whole framed as field 8, with no decode. Same view rules as encodeEventProto.
 */
export function spliceEventFrame(eventWithoutSeq: Uint8Array, seq: number): Uint8Array {
  eventWriter.reset();
  const seqField = seq === 0 ? 0 : 1 + varintSize(seq);
  eventWriter
    .uint32(0x42)
    .uint32(eventWithoutSeq.length + seqField)
    .raw(eventWithoutSeq);
  if (seq !== 0) eventWriter.uint32(0x10).uint64(seq);
  return eventWriter.finish(true);
}

/** The publish path's fields of a decoded Event, with `seq` given. */
function fieldsOf(e: EventMessage, seq: number): EventFields {
  return {
    room: e.room ?? '',
    seq,
    timeUs: longToNumber(e.timeUs),
    text: e.text ?? undefined,
    data: e.data ?? undefined,
    connId: e.connId ?? '',
    userId: e.userId ?? '',
    source: e.source ?? '',
  };
}

/** The fields of an Event encoded without its seq (for the JSON frame of a spliced event). */
export function decodeEventFields(eventWithoutSeq: Uint8Array, seq: number): EventFields {
  return fieldsOf(v1.Event.decode(eventWithoutSeq), seq);
}

/** The Event inside a complete event frame, as a plain message (for replies that list events). */
export function eventOfFrame(frame: Uint8Array): EventMessage {
  const e = v1.ServerMessage.decode(frame).event;
  if (e === null || e === undefined) throw new Error('not an event frame');
  return e;
}

/** The fields of a complete event frame (`ServerMessage{event}` as protobuf, e.g. a stored one). */
export function decodeEventFrame(frame: Uint8Array): EventFields {
  const e = eventOfFrame(frame);
  return fieldsOf(e, longToNumber(e.seq));
}

/**
 * Encodes `ServerMessage{event}` as proto3 JSON, once per publish. Written by hand because it
 * runs for every publish that has JSON subscribers; a unit test holds it equal to the generic
 * writer.
 */
export function encodeEventJson(e: EventFields): string {
  let s = `{"event":{"room":${JSON.stringify(e.room)}`;
  if (e.seq !== 0) s += `,"seq":"${e.seq}"`;
  if (e.timeUs !== 0) s += `,"timeUs":"${e.timeUs}"`;
  if (e.text != null) s += `,"text":${JSON.stringify(e.text)}`;
  else if (e.data != null) s += `,"data":"${encodeBase64(e.data)}"`;
  if (e.connId !== '') s += `,"connId":${JSON.stringify(e.connId)}`;
  if (e.userId !== '') s += `,"userId":${JSON.stringify(e.userId)}`;
  if (e.source != null && e.source !== '') s += `,"source":${JSON.stringify(e.source)}`;
  return `${s}}}`;
}
