/**
 * The local half of a publish: one sequenced publication in, at most two native publishes out.
 *
 * Encodes the event once per encoding that has members (after taking the excluded sender out of
 * the count) and hands each frame to uWS, which copies it to every subscriber in C++. The
 * sender is left out with `ws.publish` on its own encoding's topic (uWS skips the publishing
 * socket); the other encoding's topic goes through `app.publish` (the sender is not in it).
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { BrokerHandlers, PresenceNotice, SequencedPublication } from '../broker/broker.js';
import { encodeEventJson, encodeEventProto, encodeServerMessage, PresenceAction } from '../protocol/codec.js';
import type { Connections } from './connections.js';
import type { Rooms } from './rooms.js';
import type { Stats } from './stats.js';

/** Builds the handlers a broker calls for every publication and presence notice. */
export function createFanout(app: TemplatedApp, rooms: Rooms, conns: Connections, stats: Stats): BrokerHandlers {
  const deliver = (p: SequencedPublication): void => {
    const room = rooms.get(p.room);
    if (room === undefined) return;
    let protoCount = room.proto;
    let jsonCount = room.json;
    const sender = p.excludeSelf ? conns.get(p.connId) : undefined;
    const senderWs = sender !== undefined && sender.rooms.has(p.room) ? sender.ws : undefined;
    if (senderWs !== undefined && sender !== undefined) {
      if (sender.encoding === 'proto') protoCount -= 1;
      else jsonCount -= 1;
    }
    if (protoCount > 0) {
      const frame = encodeEventProto(p);
      if (senderWs !== undefined && sender?.encoding === 'proto') senderWs.publish(room.protoTopic, frame, true);
      else app.publish(room.protoTopic, frame, true);
      stats.bytesOut += frame.length * protoCount;
    }
    if (jsonCount > 0) {
      // Converted once here rather than by uWS on every publish call; also gives the byte count.
      const frame = Buffer.from(encodeEventJson(p));
      if (senderWs !== undefined && sender?.encoding === 'json') senderWs.publish(room.jsonTopic, frame, false);
      else app.publish(room.jsonTopic, frame, false);
      stats.bytesOut += frame.length * jsonCount;
    }
    const recipients = protoCount + jsonCount;
    if (recipients > 0) {
      stats.publications += 1;
      stats.deliveries += recipients;
      stats.observeFanout(recipients);
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
    if (room.proto > 0) app.publish(room.protoTopic, encodeServerMessage(message, 'proto'), true);
    if (room.json > 0) app.publish(room.jsonTopic, encodeServerMessage(message, 'json'), false);
    stats.presenceEvents += 1;
  };

  return { deliver, presence };
}
