/**
 * The dialect of each peer (see ./dialect.ts): uWS.js, `ws` and the floor share the raw-bytes wire.
 */
import type { Dialect } from './dialect.js';
import { rawDialect } from './dialect-raw.js';
import { roomcastDialect } from './dialect-roomcast.js';
import { socketioDialect } from './dialect-socketio.js';
import type { PeerName } from '../types.js';

/** How the load generator speaks to each peer. */
export const DIALECTS: Readonly<Record<PeerName, Dialect>> = {
  roomcast: roomcastDialect,
  uws: rawDialect,
  ws: rawDialect,
  socketio: socketioDialect,
  floor: rawDialect,
};
