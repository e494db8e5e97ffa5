/**
 * roomcast's wire, read as cheaply as the load generator can: a protobuf `ServerMessage` is
 * walked field by field to the event's `data` bytes (no decoder, no allocation); a JSON frame is
 * searched for `"data":"` and only the 24 base64 characters that hold the stamp are decoded.
 * Publishing uses the project's own encoder (`encodeProto`), as a client would.
 */
import { encodeProto } from '../../src/protocol/codec.js';
import { SUBPROTOCOLS } from '../../src/protocol/types.js';
import { type Dialect, FrameKind, type FrameKindValue, type MemberEncoding } from './dialect.js';
import { encodeClientFrame, Opcode } from './frame.js';
import { cursor, skip, varint } from './proto-walk.js';
import { readStamp, STAMP_BYTES, type Stamp } from './payload.js';

// ServerMessage field numbers (proto/roomcast/v1/roomcast.proto).
const SM_ERROR = 2;
const SM_EVENT = 8;
const SM_WELCOME = 9;
// Event.data.
const EV_DATA = 5;

function readProto(buf: Buffer, start: number, end: number, stamp: Stamp): FrameKindValue {
  cursor.pos = start;
  while (cursor.pos < end) {
    const key = varint(buf, end);
    const field = Math.floor(key / 8);
    const wt = key & 7;
    if (field === SM_EVENT && wt === 2) {
      const evLen = varint(buf, end);
      const evEnd = cursor.pos + evLen;
      while (cursor.pos < evEnd) {
        const k = varint(buf, evEnd);
        if (k === EV_DATA * 8 + 2) {
          const len = varint(buf, evEnd);
          if (len < STAMP_BYTES) return FrameKind.other;
          readStamp(buf, cursor.pos, stamp);
          return FrameKind.event;
        }
        skip(buf, evEnd, k & 7);
      }
      return FrameKind.other;
    }
    if (field === SM_WELCOME) return FrameKind.welcome;
    if (field === SM_ERROR) return FrameKind.error;
    skip(buf, end, wt);
  }
  return FrameKind.other;
}

const EVENT_PREFIX = Buffer.from('{"event":');
const DATA_KEY = Buffer.from('"data":"');
const WELCOME_PREFIX = Buffer.from('{"welcome":');
const ERROR_KEY = Buffer.from('"error":');
/**
 * 24 base64 characters = 18 bytes, the first 16 of which are the stamp. The 16th byte needs only
 * the first two characters of the last group, so padding ('=') may end the group when the
 * payload is exactly 16 bytes.
 */
const B64_CHARS = 24;
const scratch = new Uint8Array(18);
const B64 = new Int16Array(256).fill(-1);
const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
for (let i = 0; i < B64_ALPHABET.length; i++) B64[B64_ALPHABET.charCodeAt(i)] = i;

function startsWith(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  return end - start >= prefix.length && buf.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0;
}

function readJson(buf: Buffer, start: number, end: number, stamp: Stamp): FrameKindValue {
  if (startsWith(buf, start, end, EVENT_PREFIX)) {
    const at = buf.indexOf(DATA_KEY, start);
    if (at < 0 || at + DATA_KEY.length + B64_CHARS > end) return FrameKind.other;
    let p = at + DATA_KEY.length;
    for (let o = 0; o < 18; o += 3) {
      const a = B64[buf[p] as number] as number;
      const b = B64[buf[p + 1] as number] as number;
      const last = o === 15;
      const c = Math.max(last ? 0 : -1, B64[buf[p + 2] as number] as number);
      const d = Math.max(last ? 0 : -1, B64[buf[p + 3] as number] as number);
      if ((a | b | c | d) < 0) return FrameKind.other;
      const n = (a << 18) | (b << 12) | (c << 6) | d;
      scratch[o] = n >>> 16;
      scratch[o + 1] = (n >>> 8) & 0xff;
      scratch[o + 2] = n & 0xff;
      p += 4;
    }
    readStamp(scratch, 0, stamp);
    return FrameKind.event;
  }
  if (startsWith(buf, start, end, WELCOME_PREFIX)) return FrameKind.welcome;
  const err = buf.indexOf(ERROR_KEY, start);
  return err >= 0 && err < end ? FrameKind.error : FrameKind.other;
}

/** The roomcast dialect. */
export const roomcastDialect: Dialect = {
  supportsJson: true,
  nativeName: 'roomcast',
  member: (room: string, encoding: MemberEncoding) => ({ path: `/rooms/${room}`, protocol: SUBPROTOCOLS[encoding] }),
  read(_client, opcode, buf, start, end, stamp) {
    return opcode === Opcode.binary ? readProto(buf, start, end, stamp) : readJson(buf, start, end, stamp);
  },
  publish(room, payload, requestId) {
    const frame = encodeProto('ClientMessage', { id: requestId, publish: { room, data: payload, excludeSelf: true } });
    return [encodeClientFrame(Opcode.binary, frame)];
  },
};
