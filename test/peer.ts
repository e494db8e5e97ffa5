/**
 * A scripted roomcast peer for client tests: a plain `ws` server that speaks the real wire
 * format (the same codec as the server) but answers only what a test tells it to. It stands in
 * for the real server where a test needs what the server cannot be made to do on cue: stay
 * silent, close with a chosen code, or answer commands the server does not implement yet.
 */
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { type DecodedCommand, decodeClientFrame } from '../src/protocol/client-frame.js';
import { encodeJson, encodeProto } from '../src/protocol/codec.js';
import { type Encoding, type ServerMessage, SUBPROTOCOLS } from '../src/protocol/types.js';
import { withTimeout } from './helpers.js';

/** One client connection, as the peer sees it. */
export class PeerConnection {
  /** The request path and query, e.g. "/ws?token=abc". */
  readonly url: string;
  readonly encoding: Encoding;
  /** Commands received, in order. */
  readonly received: DecodedCommand[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /**
   * Called with every command as it arrives (after it is recorded). By default it answers
   * `close` as the server does (a reply, then close code 1000) and nothing else.
   */
  onCommand: (cmd: DecodedCommand) => void = (cmd) => this.answerClose(cmd);
  private waiters: Array<() => void> = [];

  constructor(
    readonly ws: WebSocket,
    url: string,
  ) {
    this.url = url;
    this.encoding = ws.protocol === SUBPROTOCOLS.json ? 'json' : 'proto';
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const cmd = decodeClientFrame(new Uint8Array(data), isBinary);
      this.received.push(cmd);
      for (const w of this.waiters.splice(0)) w();
      this.onCommand(cmd);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Sends a server message in the connection's encoding. */
  send(m: ServerMessage): void {
    this.ws.send(this.encoding === 'proto' ? encodeProto('ServerMessage', m) : encodeJson('ServerMessage', m));
  }

  /** Sends the Welcome. */
  welcome(w: NonNullable<ServerMessage['welcome']> = {}): void {
    this.send({ welcome: { connId: 'peer-conn', maxPayloadBytes: 1024, ...w } });
  }

  /** Resolves with the `n`-th command received (0-based), waiting for it if needed. */
  async command(n: number, ms = 5000): Promise<DecodedCommand> {
    await withTimeout(
      (async () => {
        while (this.received.length <= n) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      ms,
      `command #${n} at the peer`,
    );
    return this.received[n] as DecodedCommand;
  }

  /** Answers a `close` command as the server does; returns whether `cmd` was one. */
  answerClose(cmd: DecodedCommand): boolean {
    if (cmd.command !== 'close') return false;
    this.send({ id: cmd.id, close: {} });
    this.ws.close(1000, 'closed on request');
    return true;
  }

  /** Closes with a close frame carrying `code`. */
  close(code: number, reason = ''): void {
    this.ws.close(code, reason);
  }
}

/** A listening scripted peer. */
export class Peer {
  /** Peers still listening, so that a failed test cannot leave one behind (see closeAll). */
  private static readonly live = new Set<Peer>();
  /** Every connection so far, in order. */
  readonly connections: PeerConnection[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly wss: WebSocketServer,
    readonly port: number,
  ) {}

  /** Starts a peer on 127.0.0.1; `onConnection` scripts each new connection. */
  static async start(onConnection: (c: PeerConnection) => void = (c) => c.welcome()): Promise<Peer> {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (offered) => [...offered].find((p) => p === SUBPROTOCOLS.proto || p === SUBPROTOCOLS.json) ?? false,
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const peer = new Peer(wss, (wss.address() as AddressInfo).port);
    Peer.live.add(peer);
    wss.on('connection', (ws, req) => {
      const c = new PeerConnection(ws, req.url ?? '');
      peer.connections.push(c);
      for (const w of peer.waiters.splice(0)) w();
      onConnection(c);
    });
    return peer;
  }

  /** A WebSocket URL of this peer. */
  url(path = '/ws'): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves with the `n`-th connection (0-based), waiting for it if needed. */
  async connection(n: number, ms = 5000): Promise<PeerConnection> {
    await withTimeout(
      (async () => {
        while (this.connections.length <= n) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      ms,
      `connection #${n} at the peer`,
    );
    return this.connections[n] as PeerConnection;
  }

  /** Closes every peer still listening. */
  static async closeAll(): Promise<void> {
    await Promise.all([...Peer.live].map((p) => p.close()));
  }

  /** Closes every connection and stops listening. */
  async close(): Promise<void> {
    if (!Peer.live.delete(this)) return;
    for (const c of this.connections) c.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
