/**
 * Messages <-> bytes, one function per encoding and direction, keyed by message name: the
 * generic codec for replies, HTTP bodies, clients and tests. The publish path has its own event
 * encoders (./events.ts); client frames are read by ./client-frame.ts.
 *
 * Binary is protobuf through the generated code. Text is the proto3 JSON mapping of the same
 * message: written by ./json-write.ts, read strictly by ./json-read.ts.
 */
import protobuf from 'protobufjs/minimal.js';
import { roomcast } from '../gen/roomcast.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { readProto3Json } from './json-read.js';
import { writeProto3Json } from './json-write.js';
import type { Messages, ServerMessage, TypeName } from './types.js';

const v1 = roomcast.v1;

/** The subset of a generated message class this module uses. */
interface ProtoType {
  encode(message: object, writer?: protobuf.Writer): protobuf.Writer;
  decode(bytes: Uint8Array): object;
  toObject(message: object, options: protobuf.IConversionOptions): Record<string, unknown>;
}

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
} satisfies Record<TypeName, ProtoType>;

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes a message as protobuf bytes. Not for the publish path (see ./events.ts). */
export function encodeProto<K extends TypeName>(type: K, message: Messages[K]): Uint8Array {
  const T: ProtoType = TYPES[type];
  return T.encode(message).finish();
}

/** Encodes a message as proto3 JSON text. */
export function encodeJson<K extends TypeName>(type: K, message: Messages[K]): string {
  return JSON.stringify(writeProto3Json(type, message));
}

// One writer for the server's own frames (replies, presence events): see encodeServerFrameProto.
const frameWriter = protobuf.Writer.create();

/**
 * A server message as protobuf for immediate sending: it goes through one reused writer and
 * comes back as a view that the next call overwrites, so hand it to uWS (which copies) at once.
 */
export function encodeServerFrameProto(message: ServerMessage): Uint8Array {
  frameWriter.reset();
  return v1.ServerMessage.encode(message, frameWriter).finish(true);
}

/** What the decoders accept. */
export interface DecodeOptions {
  /**
   * JSON only (protobuf always skips unknown fields): skip unknown fields and read unknown enum
   * names as 0. The client SDK sets it so that a newer server does not break it; the server and
   * the tests read strictly.
   */
  ignoreUnknownFields?: boolean;
}

function malformed(type: TypeName, err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  return new ProtocolError(ErrorCode.ERROR_CODE_MALFORMED_FRAME, `not a ${type}: ${(err as Error).message}`);
}

/**
 * Decodes protobuf bytes into a plain object: 64-bit integers become numbers (exact up to 2^53,
 * which sequence numbers and microsecond times stay far below), bytes become Uint8Array, absent
 * fields take their proto3 defaults (0, '', false, []; oneof members and messages stay absent).
 * Throws {@link ProtocolError} (MALFORMED_FRAME) on bad input.
 */
export function decodeProto<K extends TypeName>(type: K, bytes: Uint8Array): Messages[K] {
  const T: ProtoType = TYPES[type];
  try {
    // toObject gives the plain form of exactly this message type; its declared return type is a
    // generic record (which TypeScript accepts for these all-optional message types).
    return T.toObject(T.decode(bytes), { longs: Number, arrays: true, defaults: true });
  } catch (err) {
    throw malformed(type, err);
  }
}

/**
 * Decodes proto3 JSON text (a string, or its UTF-8 bytes) into the same plain form as
 * {@link decodeProto}. Throws {@link ProtocolError} (MALFORMED_FRAME) on bad input.
 */
export function decodeJson<K extends TypeName>(type: K, text: string | Uint8Array, options: DecodeOptions = {}): Messages[K] {
  try {
    const s = typeof text === 'string' ? text : textDecoder.decode(text);
    // The reader builds an object of this message type from its descriptor (see decodeProto).
    return readProto3Json(type, JSON.parse(s), { defaults: true, ignoreUnknownFields: options.ignoreUnknownFields === true });
  } catch (err) {
    throw malformed(type, err);
  }
}

/** A 64-bit integer as protobufjs hands it out (number, or Long when long.js is present) as a number. */
export function longToNumber(v: number | { toNumber(): number } | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return v.toNumber();
}
