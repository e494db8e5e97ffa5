/**
 * The Socket.IO peer's wire (Engine.IO protocol 4 over the WebSocket transport, Socket.IO
 * protocol 5), just as much as the bench needs:
 *
 *   server "0{...}"  Engine.IO open          -> client "40" (connect to the main namespace)
 *   server "2"       Engine.IO ping          -> client "3"
 *   server "42[\"welcome\"]"                   the peer's connection handler joined the room
 *   server "451-[\"event\",{placeholder}]"     header of a binary event ...
 *   server binary frame                        ... whose one attachment is the payload
 *   server "44{...}"                           connect error
 *
 * A publish is the same pair in the other direction: a "451-[\"publish\",...]" text frame and
 * the payload as a binary frame.
 */
import { type Dialect, FrameKind } from './dialect.js';
import { encodeClientFrame, Opcode } from './frame.js';
import { readStamp, STAMP_BYTES } from './payload.js';

const OPEN = 0x30; // '0'
const PING = 0x32; // '2'
const MESSAGE = 0x34; // '4'
const WELCOME = Buffer.from('42["welcome"');
const PUBLISH_HEADER = encodeClientFrame(Opcode.text, '451-["publish",{"_placeholder":true,"num":0}]');

/** The Socket.IO dialect. */
export const socketioDialect: Dialect = {
  supportsJson: false,
  nativeName: 'socketio',
  member: (room) => ({ path: `/socket.io/?EIO=4&transport=websocket&room=${encodeURIComponent(room)}` }),
  read(client, opcode, buf, start, end, stamp) {
    if (opcode === Opcode.binary) {
      if (end - start < STAMP_BYTES) return FrameKind.other;
      readStamp(buf, start, stamp);
      return FrameKind.event;
    }
    const first = buf[start];
    if (first === OPEN) client.send(Opcode.text, '40');
    else if (first === PING) client.send(Opcode.text, '3');
    else if (first === MESSAGE) {
      if (buf[start + 1] === 0x34) return FrameKind.error; // "44": connect error
      if (end - start >= WELCOME.length && buf.compare(WELCOME, 0, WELCOME.length, start, start + WELCOME.length) === 0) return FrameKind.welcome;
    }
    return FrameKind.other;
  },
  // The header frame is the same for every publish, so it is masked once and reused.
  publish: (_room, payload) => [PUBLISH_HEADER, encodeClientFrame(Opcode.binary, payload)],
};
