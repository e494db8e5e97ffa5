/**
 * Reading one client frame on the server: protobuf or proto3 JSON into a ClientMessage and the
 * command it names (unknown fields skipped), with the error a client is told (MALFORMED_FRAME), and a
 * best-effort request id for frames that cannot be read.
 */
import protobuf from 'protobufjs/minimal.js';
import { roomcast } from '../gen/roomcast.js';
import { oneofMembers } from './descriptors.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { readProto3Json } from './json-read.js';
import type { ClientMessage, CommandName } from './types.js';

const v1 = roomcast.v1;

// Every member of ClientMessage's `command` oneof, read from the descriptor, so a new command needs no edit here.
const COMMANDS: ReadonlySet<string> = new Set(oneofMembers('ClientMessage', 'command'));

/** A decoded client frame. `command` is undefined when the frame held no command we know. */
export interface DecodedCommand {
  id: number;
  command: CommandName | undefined;
  message: ClientMessage;
  /** When `command` is undefined: the first top-level JSON key this server does not know, if any. */
  unknownKey?: string | undefined;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one client frame. Unknown fields are skipped at every depth, in both encodings (the
 * protobuf rule, so an older server keeps working with a newer client): a known command with an
 * extra field runs. A frame whose bytes are not a ClientMessage in its encoding (bad protobuf,
 * bad JSON, a wrong type, two members of a oneof) throws {@link ProtocolError} MALFORMED_FRAME; a
 * frame that decodes but holds no known command comes back with `command` undefined (the caller
 * answers UNKNOWN_COMMAND).
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
    // The reader builds a ClientMessage from its descriptor; its declared type is a generic record
    // (which TypeScript accepts for the all-optional ClientMessage).
    message = readProto3Json('ClientMessage', obj, { ignoreUnknownFields: true });
  } catch (err) {
    throw new ProtocolError(ErrorCode.ERROR_CODE_MALFORMED_FRAME, `not a JSON ClientMessage: ${(err as Error).message}`);
  }
  let command: CommandName | undefined;
  for (const key in message) {
    if (COMMANDS.has(key)) command = key as CommandName;
  }
  if (command !== undefined) return { id: message.id ?? 0, command, message };
  // readProto3Json succeeded, so obj is a plain object; a key it skipped names the command.
  const fields = obj as Record<string, unknown>;
  const unknownKey = Object.keys(fields).find((k) => !(k in message) && k !== 'id' && fields[k] !== null);
  return { id: message.id ?? 0, command, message, unknownKey };
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
