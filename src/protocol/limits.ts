/**
 * Shape checks that do not depend on connections or rooms: room names and payload sizes.
 */
import { ErrorCode, ProtocolError } from './errors.js';

/** Room names: 1-128 characters from this set, so they are safe in URLs, topics and logs. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_.:@~=+-]{1,128}$/;

/** Returns `name` if it is a valid room name; throws ERROR_CODE_BAD_ROOM_NAME otherwise. */
export function checkRoomName(name: string | null | undefined): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_ROOM_NAME, 'room name is missing');
  }
  if (!ROOM_NAME_PATTERN.test(name)) {
    const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
    throw new ProtocolError(
      ErrorCode.ERROR_CODE_BAD_ROOM_NAME,
      `bad room name ${JSON.stringify(shown)}: use 1-128 characters from A-Z a-z 0-9 _ . : @ ~ = + -`,
    );
  }
  return name;
}

/** Names of server-side publishers (Publish.source of the HTTP API): like room names, up to 64. */
export const SOURCE_PATTERN = /^[A-Za-z0-9_.:@~=+-]{1,64}$/;

/**
 * The Event.source of an HTTP publish: the caller's `Publish.source`, or "http" when it gives
 * none. Throws ERROR_CODE_BAD_REQUEST for a name outside SOURCE_PATTERN.
 */
export function checkSource(source: string | null | undefined): string {
  if (source == null || source === '') return 'http';
  if (!SOURCE_PATTERN.test(source)) {
    const shown = source.length > 64 ? `${source.slice(0, 64)}…` : source;
    throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, `bad source ${JSON.stringify(shown)}: use 1-64 characters from A-Z a-z 0-9 _ . : @ ~ = + -`);
  }
  return source;
}

/** A payload as the wire carries it: text or bytes, at most one. */
export interface Payload {
  text?: string | null;
  data?: Uint8Array | null;
}

/**
 * Checks that a payload is present (unless `optional`) and within `maxBytes`.
 * Text is measured in UTF-8 bytes; the cheap length test runs first.
 */
export function checkPayload(p: Payload, maxBytes: number, optional = false): void {
  if (p.text != null) {
    // A JS string of n UTF-16 units is at most 3n UTF-8 bytes.
    if (p.text.length * 3 > maxBytes && Buffer.byteLength(p.text) > maxBytes) {
      throw new ProtocolError(ErrorCode.ERROR_CODE_PAYLOAD_TOO_LARGE, `text is ${Buffer.byteLength(p.text)} bytes; the limit is ${maxBytes}`);
    }
  } else if (p.data != null) {
    if (p.data.length > maxBytes) {
      throw new ProtocolError(ErrorCode.ERROR_CODE_PAYLOAD_TOO_LARGE, `data is ${p.data.length} bytes; the limit is ${maxBytes}`);
    }
  } else if (!optional) {
    throw new ProtocolError(ErrorCode.ERROR_CODE_BAD_REQUEST, 'payload is missing: set text or data');
  }
}
