/**
 * Frames <-> messages, in both encodings. The only module that touches the generated protobufjs
 * code; everything else works with the plain types exported here.
 *
 * Binary frames are protobuf. Text frames are the proto3 JSON mapping of the same message: the
 * writer uses the generated `toObject` with the mapping's conversions (64-bit integers as
 * strings, enums as names, bytes as base64, defaults omitted); the reader is the strict one in
 * ./json.ts. The publish path has its own event encoders (one per encoding), since they run
 * once per publish for every room.
 */
import protobuf from 'protobufjs/minimal.js';
import { roomcast } from '../gen/roomcast.js';
import { encodeBase64 } from './base64.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { JsonShapeError, oneofMembers, type ReadOptions, readProto3Json, writeProto3Json } from './json.js';

const v1 = roomcast.v1;

/** The two frame encodings. `proto`: binary protobuf frames; `json`: proto3 JSON text frames. */
export type Encoding = 'proto' | 'json';

/** Presence event actions (proto enum roomcast.v1.PresenceAction). */
export const PresenceAction = v1.PresenceAction;
/** A presence event action. */
export type PresenceAction = roomcast.v1.PresenceAction;

/** Outcomes of a join with `since` (proto enum roomcast.v1.RecoveryResult). */
export const RecoveryResult = v1.RecoveryResult;
/** An outcome of a join with `since`. */
export type RecoveryResult = roomcast.v1.RecoveryResult;

/** WebSocket subprotocol names, one per encoding. */
export const SUBPROTOCOLS: Readonly<Record<Encoding, string>> = Object.freeze({
  proto: 'roomcast.v1.proto',
  json: 'roomcast.v1.json',
});

/** A client command (roomcast.v1.ClientMessage). */
export type ClientMessage = roomcast.v1.ClientMessage.$Properties;
/** A server message (roomcast.v1.ServerMessage). */
export type ServerMessage = roomcast.v1.ServerMessage.$Properties;
/** The name of a client command: the member set in ClientMessage's `command` oneof. */
export type CommandName = NonNullable<roomcast.v1.ClientMessage['command']>;
/** A pushed room event (roomcast.v1.Event). */
export type EventMessage = roomcast.v1.Event.$Properties;
/** A publish command; also the body of POST /api/rooms/<room>/publish. */
export type PublishCommand = roomcast.v1.Publish.$Properties;
/** The reply to a publish (command or HTTP). */
export type PublishReply = roomcast.v1.PublishReply.$Properties;
/** GET /api/rooms. */
export type RoomList = roomcast.v1.RoomList.$Properties;
/** An error (WebSocket reply or HTTP error body). */
export type ErrorMessage = roomcast.v1.Error.$Properties;
/** GET /api/users/<user>/connections. */
export type ConnectionList = roomcast.v1.ConnectionList.$Properties;
/** The body of POST /api/users/<user>/disconnect. */
export type DisconnectRequest = roomcast.v1.DisconnectRequest.$Properties;
/** The body of POST /api/rooms/<room>/remove. */
export type RemoveRequest = roomcast.v1.RemoveRequest.$Properties;
/** How many connections an admin action affected. */
export type AffectedReply = roomcast.v1.AffectedReply.$Properties;
/** Who is in a room (command reply and HTTP). */
export type PresenceReply = roomcast.v1.PresenceReply.$Properties;
/** Connection and user counts of a room (command reply and HTTP). */
export type PresenceStatsReply = roomcast.v1.PresenceStatsReply.$Properties;
/** Stored events of a room (command reply and HTTP). */
export type HistoryReply = roomcast.v1.HistoryReply.$Properties;

/** Message types that travel on their own (frames and HTTP bodies). */
const TYPES = {
  ClientMessage: v1.ClientMessage,
  ServerMessage: v1.ServerMessage,
  Publish: v1.Publish,
  PublishReply: v1.PublishReply,
  RoomList: v1.RoomList,
  Error: v1.Error,
  Event: v1.Event,
  ConnectionList: v1.ConnectionList,
  DisconnectRequest: v1.DisconnectRequest,
  RemoveRequest: v1.RemoveRequest,
  AffectedReply: v1.AffectedReply,
  PresenceReply: v1.PresenceReply,
  PresenceStatsReply: v1.PresenceStatsReply,
  HistoryReply: v1.HistoryReply,
} as const;
/** The name of a message type that can be encoded or decoded on its own. */
export type TypeName = keyof typeof TYPES;

// Every member of ClientMessage's `command` oneof, read from the descriptor, so a new command needs no edit here.
const COMMANDS: ReadonlySet<string> = new Set(oneofMembers('ClientMessage', 'command'));

/** A decoded client frame. `command` is undefined when the frame held no command we know. */
export interface DecodedCommand {
  id: number;
  command: CommandName | undefined;
  message: ClientMessage;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

/**
 * Decodes one client frame. Throws {@link ProtocolError}: MALFORMED_FRAME when the bytes are not
 * a ClientMessage in the frame's encoding, UNKNOWN_COMMAND when they are but name no command
 * this server knows (an unknown protobuf field, or an unknown top-level JSON key). In the
 * second case `id` is still recovered when possible, see {@link readRequestId}.
 */
export function decodeClientFrame(bytes: Uint8Array, isBinary: boolean): DecodedCommand {
  if (isBinary) {
    let m: roomcast.v1.ClientMessage;
    try {
      m = v1.ClientMessage.decode(bytes);
    } catch (err) {
      throw new ProtocolError(ErrorCode.ERROR_CODE_MALFORMED_FRAME, `not a protobuf ClientMessage: ${(err as Error).message}`);
    }
    return { id: m.id, command: m.command, message: m };
  }
  const obj = parseJsonFrame(bytes);
  let message: ClientMessage;
  try {
    message = readProto3Json('ClientMessage', obj) as ClientMessage;
  } catch (err) {
    if (err instanceof JsonShapeError && err.unknownTopLevelKey !== undefined) {
      throw new ProtocolError(ErrorCode.ERROR_CODE_UNKNOWN_COMMAND, `unknown command "${err.unknownTopLevelKey}"`);
    }
    throw new ProtocolError(ErrorCode.ERROR_CODE_MALFORMED_FRAME, `not a JSON ClientMessage: ${(err as Error).message}`);
  }
  let command: CommandName | undefined;
  for (const key in message) {
    if (COMMANDS.has(key)) command = key as CommandName;
  }
  return { id: message.id ?? 0, command, message };
}

function parseJsonFrame(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = textDecoder.decode(bytes);
  } catch {
    throw new ProtocolError(ErrorCode.ERROR_CODE_MALFORMED_FRAME, 'text frame is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(ErrorCode.ERROR_CODE_MALFORMED_FRAME, `not JSON: ${(err as Error).message}`);
  }
}

const ID_PREFIX = /^\s*\{\s*"id"\s*:\s*"?(\d{1,10})\b/;
// Replaces rather than throws: the 64-byte cut may split a character.
const lenientDecoder = new TextDecoder('utf-8');

/**
 * Best effort: the request id of a frame that failed to decode, so the error reply can carry it.
 * Returns 0 when none can be found.
 */
export function readRequestId(bytes: Uint8Array, isBinary: boolean): number {
  try {
    if (isBinary) {
      // Field 1, varint: the first key on the wire when present (protobuf writers emit in order).
      if (bytes[0] !== 0x08) return 0;
      const r = protobuf.Reader.create(bytes);
      r.uint32();
      return r.uint32();
    }
    // Not a full parse: this runs for frames being refused (malformed, rate-limited), and a
    // flooder should not buy a JSON.parse per refused frame. Printers write field 1 first.
    const m = ID_PREFIX.exec(lenientDecoder.decode(bytes.subarray(0, 64)));
    const id = m ? Number(m[1]) : 0;
    return id < 2 ** 32 ? id : 0;
  } catch {
    return 0;
  }
}


/**
 * Encodes any message of a known type: protobuf bytes, or a proto3 JSON string. Not for the
 * publish path (see the event encoders below).
 */
export function encodeMessage(type: TypeName, message: object, encoding: Encoding): Uint8Array | string {
  if (encoding === 'proto') return (TYPES[type] as unknown as ProtoType).encode(message).finish();
  return JSON.stringify(writeProto3Json(type, message));
}

// One writer for the server's own frames (replies, presence events): see encodeServerFrame.
const frameWriter = protobuf.Writer.create();

/**
 * Encodes a server message for immediate sending: protobuf goes through one reused writer and
 * comes back as a view that the next call overwrites, so hand it to uWS (which copies) at once.
 */
export function encodeServerFrame(message: ServerMessage, encoding: Encoding): Uint8Array | string {
  if (encoding === 'json') return JSON.stringify(writeProto3Json('ServerMessage', message));
  frameWriter.reset();
  return v1.ServerMessage.encode(message, frameWriter).finish(true);
}

/** Encodes a server message in the connection's encoding. */
export function encodeServerMessage(message: ServerMessage, encoding: Encoding): Uint8Array | string {
  return encodeMessage('ServerMessage', message, encoding);
}

/**
 * Decodes any message of a known type from protobuf bytes or proto3 JSON text into a plain
 * object: 64-bit integers become numbers (exact up to 2^53, which sequence numbers and
 * microsecond times stay far below), bytes become Uint8Array, absent fields take their proto3
 * defaults (0, '', false, []; oneof members and messages stay absent). Throws {@link ProtocolError}
 * (MALFORMED_FRAME) on bad input. Protobuf always skips unknown fields; JSON does so only with
 * `ignoreUnknownFields` (see {@link ReadOptions}).
 */
export function decodeMessage<T = Record<string, unknown>>(
  type: TypeName,
  frame: Uint8Array | string,
  isBinary: boolean,
  options: { ignoreUnknownFields?: boolean } = {},
): T {
  const PT = TYPES[type] as unknown as ProtoType;
  try {
    if (isBinary) {
      const bytes = typeof frame === 'string' ? textEncoder.encode(frame) : frame;
      return PT.toObject(PT.decode(bytes), { longs: Number, arrays: true, defaults: true }) as T;
    }
    const text = typeof frame === 'string' ? frame : textDecoder.decode(frame);
    return readProto3Json(type, JSON.parse(text), { defaults: true, ignoreUnknownFields: options.ignoreUnknownFields === true }) as T;
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(ErrorCode.ERROR_CODE_MALFORMED_FRAME, `not a ${type}: ${(err as Error).message}`);
  }
}

/** Encodes a client command (clients and tests). */
export function encodeClientMessage(message: ClientMessage, encoding: Encoding): Uint8Array | string {
  return encodeMessage('ClientMessage', message, encoding);
}

/**
 * Decodes a server frame (clients and tests). Tests read strictly to catch server mistakes; the
 * client SDK sets `ignoreUnknownFields` so that a newer server does not break it.
 */
export function decodeServerMessage(frame: Uint8Array | string, isBinary: boolean, options: { ignoreUnknownFields?: boolean } = {}): ServerMessage {
  return decodeMessage<ServerMessage>('ServerMessage', frame, isBinary, options);
}

/** The parts of a pushed event, as the publish path has them. */
export interface EventFields {
  room: string;
  seq: number;
  timeUs: number;
  text?: string | undefined;
  data?: Uint8Array | undefined;
  connId: string;
  userId: string;
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
  eventWriter.uint32(0x42).uint32(eventWithoutSeq.length + seqField).raw(eventWithoutSeq);
  if (seq !== 0) eventWriter.uint32(0x10).uint64(seq);
  return eventWriter.finish(true);
}

/** The fields of an Event encoded without its seq (for the JSON frame of a spliced event). */
export function decodeEventFields(eventWithoutSeq: Uint8Array, seq: number): EventFields {
  const e = v1.Event.decode(eventWithoutSeq);
  return {
    room: e.room,
    seq,
    timeUs: typeof e.timeUs === 'number' ? e.timeUs : Number(e.timeUs),
    text: e.text ?? undefined,
    data: e.data ?? undefined,
    connId: e.connId,
    userId: e.userId,
  };
}

/** A 64-bit integer as protobufjs hands it out (number, or Long when long.js is present) as a number. */
export function longToNumber(v: number | { toNumber(): number } | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return v.toNumber();
}

/** The Event inside a complete event frame, as a plain message (for replies that list events). */
export function eventOfFrame(frame: Uint8Array): EventMessage {
  const e = v1.ServerMessage.decode(frame).event;
  if (e === null || e === undefined) throw new Error('not an event frame');
  return e;
}

/** The fields of a complete event frame (`ServerMessage{event}` as protobuf, e.g. a stored one). */
export function decodeEventFrame(frame: Uint8Array): EventFields {
  const e = v1.ServerMessage.decode(frame).event;
  if (e === null || e === undefined) throw new Error('not an event frame');
  return {
    room: e.room ?? '',
    seq: longToNumber(e.seq),
    timeUs: longToNumber(e.timeUs),
    text: e.text ?? undefined,
    data: e.data ?? undefined,
    connId: e.connId ?? '',
    userId: e.userId ?? '',
  };
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
  return `${s}}}`;
}

/** The subset of a generated message class this module uses. */
interface ProtoType {
  encode(message: object): protobuf.Writer;
  decode(bytes: Uint8Array): object;
  toObject(message: object, options: protobuf.IConversionOptions): Record<string, unknown>;
}
