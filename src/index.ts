/**
 * roomcast as a library: build and run a server from a config, or use the protocol codec.
 */
export { createMemoryBroker } from './broker/broker-memory.js';
export type { Broker, BrokerHandlers, Deliver, PresenceNotice, Publication, PublishResult, SequencedPublication } from './broker/broker.js';
export { createMemoryPresence } from './broker/presence-memory.js';
export type { PresenceCounts, PresenceMember, PresenceStore } from './broker/presence.js';
export { configFrom, ConfigError, DEFAULTS, loadConfig, OPTIONS, type Config } from './config.js';
export { createLogger, type Logger } from './log.js';
export { decodeJson, decodeProto, encodeJson, encodeProto, type DecodeOptions } from './protocol/codec.js';
export { SUBPROTOCOLS, type ClientMessage, type Encoding, type EventMessage, type Messages, type ServerMessage, type TypeName } from './protocol/types.js';
export { CloseCode, ErrorCode, ProtocolError, shouldReconnect } from './protocol/errors.js';
export { createServer, NativeAddonError, type RoomcastServer, type ServerDeps } from './server/app.js';
export type { Stats } from './server/stats.js';
