/**
 * The plain TypeScript types of the wire messages (from the generated code), the map from a
 * message's name to its type that the codec is keyed by, and the two encodings.
 */
import { roomcast } from '../gen/roomcast.js';

/** The two frame encodings. `proto`: binary protobuf frames; `json`: proto3 JSON text frames. */
export type Encoding = 'proto' | 'json';

/** WebSocket subprotocol names, one per encoding. */
export const SUBPROTOCOLS: Readonly<Record<Encoding, string>> = Object.freeze({
  proto: 'roomcast.v1.proto',
  json: 'roomcast.v1.json',
});

/** Presence event actions (proto enum roomcast.v1.PresenceAction). */
export const PresenceAction = roomcast.v1.PresenceAction;
/** A presence event action. */
export type PresenceAction = roomcast.v1.PresenceAction;

/** Outcomes of a join with `since` (proto enum roomcast.v1.RecoveryResult). */
export const RecoveryResult = roomcast.v1.RecoveryResult;
/** An outcome of a join with `since`. */
export type RecoveryResult = roomcast.v1.RecoveryResult;

/** A client command (roomcast.v1.ClientMessage). */
export type ClientMessage = roomcast.v1.ClientMessage.$Properties;
/** A server message (roomcast.v1.ServerMessage). */
export type ServerMessage = roomcast.v1.ServerMessage.$Properties;
/** The name of a client command: the member set in ClientMessage's `command` oneof. */
export type CommandName = NonNullable<roomcast.v1.ClientMessage['command']>;
/** A pushed room event (roomcast.v1.Event). */
export type EventMessage = roomcast.v1.Event.$Properties;
/** A publish command; also the body of POST /api/rooms/<room>/publish. */
export type PublishCommand = roomcast.v1.Publish.$Properties;
/** The reply to a publish (command or HTTP). */
export type PublishReply = roomcast.v1.PublishReply.$Properties;
/** GET /api/rooms. */
export type RoomList = roomcast.v1.RoomList.$Properties;
/** An error (WebSocket reply or HTTP error body). */
export type ErrorMessage = roomcast.v1.Error.$Properties;
/** GET /api/users/<user>/connections. */
export type ConnectionList = roomcast.v1.ConnectionList.$Properties;
/** The body of POST /api/users/<user>/disconnect. */
export type DisconnectRequest = roomcast.v1.DisconnectRequest.$Properties;
/** The body of POST /api/rooms/<room>/remove. */
export type RemoveRequest = roomcast.v1.RemoveRequest.$Properties;
/** How many connections an admin action affected. */
export type AffectedReply = roomcast.v1.AffectedReply.$Properties;
/** Who is in a room (command reply and HTTP). */
export type PresenceReply = roomcast.v1.PresenceReply.$Properties;
/** Connection and user counts of a room (command reply and HTTP). */
export type PresenceStatsReply = roomcast.v1.PresenceStatsReply.$Properties;
/** Stored events of a room (command reply and HTTP). */
export type HistoryReply = roomcast.v1.HistoryReply.$Properties;

/** Message types that travel on their own (frames and HTTP bodies), by name. */
export interface Messages {
  ClientMessage: ClientMessage;
  ServerMessage: ServerMessage;
  Publish: PublishCommand;
  PublishReply: PublishReply;
  RoomList: RoomList;
  Error: ErrorMessage;
  Event: EventMessage;
  ConnectionList: ConnectionList;
  DisconnectRequest: DisconnectRequest;
  RemoveRequest: RemoveRequest;
  AffectedReply: AffectedReply;
  PresenceReply: PresenceReply;
  PresenceStatsReply: PresenceStatsReply;
  HistoryReply: HistoryReply;
}
/** The name of a message type that can be encoded or decoded on its own. */
export type TypeName = keyof Messages;
