/**
 * `roomcast/client`: the TypeScript client SDK, for browsers (native WebSocket) and Node (`ws`).
 * Everything public is exported here; the rest of src/client is internal.
 *
 * ```ts
 * import { createClient } from 'roomcast/client';
 * const client = createClient({ url: 'ws://127.0.0.1:9001/ws', rooms: ['lobby'] });
 * client.on('event', (e) => console.log(e.room, e.seq, e.text));
 * await client.connect();
 * await client.publish('lobby', 'hello', { excludeSelf: true });
 * await client.close();
 * ```
 */
export { createClient, type HistoryOptions, RoomcastClient, type PublishOptions, type RequestOptions } from './client.js';
export { DisconnectedError, RoomcastClientError, ServerError, TimeoutError } from './errors.js';
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export type { ClientOptions, ReconnectOptions, TokenSource } from './options.js';
export type { SocketCloseEvent, SocketMessageEvent, WebSocketConstructor, WebSocketLike } from './socket.js';
export type {
  AuthResult,
  ClientEvents,
  ClientState,
  ClientStats,
  CloseInfo,
  DisconnectInfo,
  HistoryResult,
  JoinResult,
  OpenInfo,
  Payload,
  PresenceChange,
  PresenceMember,
  PresenceResult,
  PresenceStatsResult,
  PublishResult,
  RecoveredInfo,
  RecoveryOutcome,
  RefreshResult,
  RejoinInfo,
  RemovedInfo,
  ResyncInfo,
  ResyncReason,
  RoomEvent,
  StreamPosition,
  Welcome,
} from './types.js';
export type { Listener } from './emitter.js';
export { type Encoding, SUBPROTOCOLS } from '../protocol/types.js';
export { CloseCode, ErrorCode, errorCodeName, shouldReconnect } from '../protocol/errors.js';
