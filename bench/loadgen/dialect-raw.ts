/**
 * The wire of the bare uWS.js, `ws` and floor peers: a binary frame is the payload itself, in both
 * directions. The server's first frame (any text frame) says the socket has joined its room.
 */
import { type Dialect, FrameKind } from './dialect.js';
import { encodeClientFrame, Opcode } from './frame.js';
import { readStamp, STAMP_BYTES } from './payload.js';

/** The raw-bytes dialect shared by the uWS.js, `ws` and floor peers. */
export const rawDialect: Dialect = {
  supportsJson: false,
  nativeName: 'raw',
  member: (room) => ({ path: `/rooms/${room}` }),
  read(_client, opcode, buf, start, end, stamp) {
    if (opcode === Opcode.text) return FrameKind.welcome;
    if (end - start < STAMP_BYTES) return FrameKind.other;
    readStamp(buf, start, stamp);
    return FrameKind.event;
  },
  publish: (_room, payload) => [encodeClientFrame(Opcode.binary, payload)],
};
