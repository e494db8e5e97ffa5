/**
 * The local half of a publish: one sequenced publication in, at most two native publishes out.
 *
 * Encodes the event once per encoding that has members (after taking the excluded sender out of
 * the count) and hands each frame to uWS, which copies it to every subscriber in C++. The
 * sender is left out with `ws.publish` on its own encoding's topic (uWS skips the publishing
 * socket); the other encoding's topic goes through `app.publish` (the sender is not in it).
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { Deliver, SequencedPublication } from '../broker/broker.js';
import { encodeEventJson, encodeEventProto } from '../protocol/codec.js';
import type { Connections } from './connections.js';
import type { Rooms } from './rooms.js';

/** Counters the fan-out keeps (read by metrics and tests). */
export interface FanoutStats {
  /** Publications that reached this process and had local members. */
  publications: number;
  /** Frames handed to uWS times their subscriber count: messages sent to sockets. */
  deliveries: number;
}

/** Builds the `deliver` function a broker calls for every publication. */
export function createFanout(app: TemplatedApp, rooms: Rooms, conns: Connections): { deliver: Deliver; stats: FanoutStats } {
  const stats: FanoutStats = { publications: 0, deliveries: 0 };

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
    }
    if (jsonCount > 0) {
      const frame = encodeEventJson(p);
      if (senderWs !== undefined && sender?.encoding === 'json') senderWs.publish(room.jsonTopic, frame, false);
      else app.publish(room.jsonTopic, frame, false);
    }
    if (protoCount + jsonCount > 0) {
      stats.publications += 1;
      stats.deliveries += protoCount + jsonCount;
    }
  };

  return { deliver, stats };
}
