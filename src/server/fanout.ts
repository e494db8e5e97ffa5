/**
 * The local half of a publish: one sequenced publication in, at most two native publishes out.
 *
 * Encodes the event once per encoding that has members (after taking the excluded sender out of
 * the count) and hands each frame to uWS, which copies it to every subscriber in C++. The
 * sender is left out with `ws.publish` on its own encoding's topic (uWS skips the publishing
 * socket); the other encoding's topic goes through `app.publish` (the sender is not in it).
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { BrokerHandlers, PresenceNotice, SequencedPublication, StreamPosition } from '../broker/broker.js';
import { encodeJson, encodeServerFrameProto } from '../protocol/codec.js';
import { decodeEventFields, encodeEventJson, encodeEventProto, spliceEventFrame } from '../protocol/events.js';
import { PresenceAction } from '../protocol/types.js';
import { type Connections, inRoom } from './connections.js';
import type { Recoveries } from './recoveries.js';
import type { Rooms } from './rooms.js';
import { recordFanout, type Stats } from './stats.js';

/**
 * The bytes of a JSON event frame, written into one reused buffer when it fits (uWS copies
 * what it is given before publish returns), so a publish allocates no frame.
 */
function jsonFrame(scratch: { buf: Buffer }, json: string): Buffer {
  // A JS string of n UTF-16 units is at most 3n UTF-8 bytes.
  if (json.length * 3 > scratch.buf.length) {
    if (json.length * 3 > 1 << 20) return Buffer.from(json);
    scratch.buf = Buffer.allocUnsafe(json.length * 3);
  }
  return scratch.buf.subarray(0, scratch.buf.write(json));
}

/** Builds the handlers a broker calls for every publication and presence notice. */
export function createFanout(app: TemplatedApp, rooms: Rooms, conns: Connections, stats: Stats, recoveries: Recoveries): BrokerHandlers {
  const scratch = { buf: Buffer.allocUnsafe(64 * 1024) };

  const protoFrame = (p: SequencedPublication): Uint8Array => p.frame ?? (p.encoded === undefined ? encodeEventProto(p) : spliceEventFrame(p.encoded, p.seq));

  const deliver = (p: SequencedPublication): void => {
    const room = rooms.get(p.room);
    if (room === undefined) return;
    recoveries.offer(p, protoFrame);
    let protoCount = room.proto;
    let jsonCount = room.json;
    const sender = p.excludeSelf ? conns.get(p.connId) : undefined;
    const senderWs = sender !== undefined && inRoom(sender, p.room) ? sender.ws : undefined;
    if (senderWs !== undefined && sender !== undefined) {
      if (sender.encoding === 'proto') protoCount -= 1;
      else jsonCount -= 1;
    }
    if (protoCount > 0) {
      const frame = protoFrame(p);
      if (senderWs !== undefined && sender?.encoding === 'proto') senderWs.publish(room.protoTopic, frame, true);
      else app.publish(room.protoTopic, frame, true);
      stats.bytesOut += frame.length * protoCount;
    }
    if (jsonCount > 0) {
      // Converted to UTF-8 once here rather than by uWS; also gives the byte count.
      const frame = jsonFrame(scratch, encodeEventJson(p.encoded === undefined ? p : decodeEventFields(p.encoded, p.seq)));
      if (senderWs !== undefined && sender?.encoding === 'json') senderWs.publish(room.jsonTopic, frame, false);
      else app.publish(room.jsonTopic, frame, false);
      stats.bytesOut += frame.length * jsonCount;
    }
    const recipients = protoCount + jsonCount;
    if (recipients > 0) {
      stats.publications += 1;
      stats.deliveries += recipients;
      recordFanout(stats, recipients);
    }
  };

  const presence = (n: PresenceNotice): void => {
    const room = rooms.get(n.room);
    if (room === undefined) return;
    const message = {
      presenceEvent: {
        room: n.room,
        action: n.action === 'join' ? PresenceAction.PRESENCE_ACTION_JOIN : PresenceAction.PRESENCE_ACTION_LEAVE,
        userId: n.userId,
        connId: n.connId,
      },
    };
    if (room.proto > 0) app.publish(room.protoTopic, encodeServerFrameProto(message), true);
    if (room.json > 0) app.publish(room.jsonTopic, encodeJson('ServerMessage', message), false);
    stats.presenceEvents += 1;
  };

  const reset = (roomName: string, position: StreamPosition): void => {
    recoveries.offerReset(roomName, position);
    const room = rooms.get(roomName);
    if (room === undefined) return;
    const message = { streamReset: { room: roomName, epoch: position.epoch, seq: position.seq } };
    if (room.proto > 0) app.publish(room.protoTopic, encodeServerFrameProto(message), true);
    if (room.json > 0) app.publish(room.jsonTopic, encodeJson('ServerMessage', message), false);
    stats.streamResets += 1;
  };

  return { deliver, presence, reset };
}
