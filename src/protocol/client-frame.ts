/**
 * Reading one client frame on the server: protobuf or proto3 JSON into a ClientMessage and the
 * command it names, with the errors a client is told (MALFORMED_FRAME, UNKNOWN_COMMAND), and a
 * best-effort request id for frames that cannot be read.
 */
import protobuf from 'protobufjs/minimal.js';
import { roomcast } from '../gen/roomcast.js';
import { oneofMembers } from './descriptors.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { JsonShapeError, readProto3Json } from './json-read.js';
import type { ClientMessage, CommandName } from './types.js';

const v1 = roomcast.v1;

// Every member of ClientMessage's `command` oneof, read from the descriptor, so a new command needs no edit here.
const COMMANDS: ReadonlySet<string> = new Set(oneofMembers('ClientMessage', 'command'));

/** A decoded client frame. `command` is undefined when the frame held no command we know. */
export interface DecodedCommand {
  id: number;
  command: CommandName | undefined;
  message: ClientMessage;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

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
    // The reader builds a ClientMessage from its descriptor; its declared type is a generic record.
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
