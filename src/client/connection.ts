/**
 * One WebSocket connection: opens it with the encoding's subprotocol, decodes every frame into
 * a ServerMessage, encodes commands, and reports the close exactly once. Knows nothing of
 * requests, rooms or reconnects (the client does).
 */
import { decodeJson, decodeProto, encodeJson, encodeProto } from '../protocol/codec.js';
import { type ClientMessage, type Encoding, type ServerMessage, SUBPROTOCOLS } from '../protocol/types.js';
import type { SocketCloseEvent, SocketMessageEvent, WebSocketConstructor, WebSocketLike } from './socket.js';

/** What a connection reports. */
export interface ConnectionHandlers {
  /** A frame arrived and decoded. */
  message(m: ServerMessage): void;
  /** A frame arrived that is not a ServerMessage. */
  undecodable(err: Error): void;
  /** The connection ended (or never opened); called once. */
  closed(code: number, reason: string): void;
}

/** One open (or opening) WebSocket. */
export class Connection {
  private readonly socket: WebSocketLike;
  private readonly encoding: Encoding;
  private readonly handlers: ConnectionHandlers;
  private ended = false;

  constructor(WebSocket: WebSocketConstructor, url: string, encoding: Encoding, handlers: ConnectionHandlers) {
    this.encoding = encoding;
    this.handlers = handlers;
    this.socket = new WebSocket(url, [SUBPROTOCOLS[encoding]]);
    this.socket.binaryType = 'arraybuffer';
    this.socket.onmessage = (ev: SocketMessageEvent) => this.onFrame(ev.data);
    this.socket.onclose = (ev: SocketCloseEvent) => this.end(ev.code, ev.reason);
    // An error is always followed by a close event, which carries what there is to know.
    this.socket.onerror = () => {};
  }

  /** Sends a command in the connection's encoding. */
  send(message: ClientMessage): void {
    if (this.ended) return;
    this.socket.send(this.encoding === 'proto' ? encodeProto('ClientMessage', message) : encodeJson('ClientMessage', message));
  }

  /**
   * Closes the socket with `code` (1000, or 4000-4999) and reports the close at once, without
   * waiting for the server's close frame: whoever closes has stopped caring about this socket.
   */
  close(code: number, reason: string): void {
    if (this.ended) return;
    try {
      this.socket.close(code, reason);
    } catch {
      // Closing a socket that is still connecting throws in some implementations; it is gone
      // either way.
    }
    this.end(code, reason);
  }

  /**
   * Gives up on the connection (it did not become ready in time, or the steps to make it ready
   * failed) and reports it as 1006: the caller got no usable connection, as after a network
   * failure, and may retry.
   */
  abort(reason: string): void {
    if (this.ended) return;
    try {
      this.socket.close(1000, reason);
    } catch {
      // As in close().
    }
    this.end(1006, reason);
  }

  private onFrame(data: unknown): void {
    if (this.ended) return;
    let m: ServerMessage;
    try {
      // Text frames are JSON, binary frames protobuf, whatever the subprotocol: read what came.
      m = typeof data === 'string' ? decodeJson('ServerMessage', data, LENIENT) : decodeProto('ServerMessage', new Uint8Array(data as ArrayBuffer));
    } catch (err) {
      this.handlers.undecodable(err as Error);
      return;
    }
    this.handlers.message(m);
  }

  private end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.onmessage = null;
    this.socket.onclose = null;
    this.handlers.closed(code, reason);
  }
}

/** A newer server may add fields and enum values; this client skips what it does not know. */
const LENIENT = { ignoreUnknownFields: true };
