/**
 * The client's life across connections: connect, wait for the Welcome, authenticate, rejoin the
 * rooms (recovering what was missed: each join carries the room's last position and the previous
 * connection's id), then send the commands that waited; on a close, reconnect with backoff when
 * the close code allows it (the catalogue's `shouldReconnect`), or stop. The typed commands live
 * in ./client.ts on top of {@link Session.request}.
 */
import type { ClientMessage, CommandName, ServerMessage } from '../protocol/types.js';
import { CloseCode, ErrorCode, shouldReconnect } from '../protocol/errors.js';
import { backoffDelay } from './backoff.js';
import { Connection } from './connection.js';
import { positionOf, toAuthResult, toPresenceChange, toRemoved, toRoomEvent, toWelcome } from './convert.js';
import { Emitter } from './emitter.js';
import { DisconnectedError, ServerError } from './errors.js';
import { type ClientOptions, resolveOptions, type ResolvedOptions, type TokenSource } from './options.js';
import { Requests } from './requests.js';
import { rejoinRooms } from './resume.js';
import { RoomSet } from './rooms.js';
import { deferred } from './deferred.js';
import { resolveWebSocket, urlWithoutRoom, urlWithToken, type WebSocketConstructor } from './socket.js';
import type { ClientEvents, ClientState, ClientStats, CloseInfo, StreamPosition, Welcome } from './types.js';

/** Connection management shared by every command; see the module comment. */
export class Session extends Emitter<ClientEvents> {
  /** The options, defaults filled in. */
  protected readonly options: ResolvedOptions;
  /** Commands waiting for replies. */
  protected readonly requests = new Requests();
  /** The rooms this client is in. */
  protected readonly roomSet = new RoomSet();
  /** The token source in use (`refresh` and `authenticate` may replace it). */
  protected token: TokenSource | undefined;
  /** How the token travels (`authenticate` switches it to `command`). */
  protected tokenTransport: 'url' | 'command';
  /** The authenticated user, from the Welcome or a `connect` reply. */
  protected authUserId = '';
  /**
   * The id of the last connection before the current one that was open (and so may have
   * published): sent with rejoins so that its exclude_self events are not replayed to it.
   */
  protected previousConnId = '';
  /** Recovery counters (see {@link stats}). */
  protected readonly counters: ClientStats = { recovered: 0, replayed: 0, resyncs: 0, duplicatesDropped: 0 };

  private currentState: ClientState = 'idle';
  private conn: Connection | undefined;
  private welcome: Welcome | undefined;
  private everOpened = false;
  /** The id of the last connection that reached open. */
  private lastOpenConnId = '';
  private failedAttempts = 0;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly ready = deferred<Welcome>();
  private readonly done = deferred<CloseInfo>();
  private closing = false;

  constructor(options: ClientOptions) {
    super();
    this.options = resolveOptions(options);
    this.token = this.options.token;
    this.tokenTransport = this.options.tokenTransport;
  }

  /** Where the client is in its life. */
  get state(): ClientState {
    return this.currentState;
  }

  /** The current connection's id ('' while not connected). */
  get connId(): string {
    return this.conn !== undefined ? (this.welcome?.connId ?? '') : '';
  }

  /** The authenticated user ('' when anonymous). */
  get userId(): string {
    return this.authUserId;
  }

  /** The rooms this client is in (and rejoins after a reconnect). */
  get rooms(): string[] {
    return this.roomSet.names();
  }

  /**
   * This client's position in `room`: the last event it handed to the application (or the
   * room's position when it joined, or after a resync). A rejoin recovers from here. Undefined
   * when the client is not in the room, or has not had its join reply yet.
   */
  position(room: string): StreamPosition | undefined {
    return this.roomSet.position(room);
  }

  /** @deprecated Use {@link position}: `position(room)?.seq`. */
  lastSeq(room: string): number | undefined {
    return this.roomSet.position(room)?.seq;
  }

  /** Recovery counters since the client was created (a copy). */
  get stats(): ClientStats {
    return { ...this.counters };
  }

  /**
   * Opens the connection. Resolves with the Welcome once the client is open (authenticated if
   * configured, `rooms` joined). While the server cannot be reached it keeps trying with
   * backoff; it rejects only if the client closes first (`close()`, a close code that forbids
   * reconnecting, or `reconnect.maxAttempts`).
   */
  connect(): Promise<Welcome> {
    if (this.currentState === 'open' && this.welcome !== undefined) return Promise.resolve(this.welcome);
    if (this.currentState === 'idle') {
      this.setState('connecting');
      void this.attempt();
    }
    return this.ready.promise;
  }

  /**
   * Closes the client: sends the `close` command, waits (up to `closeTimeoutMs`) for the
   * server to end the connection, and never reconnects. Commands still waiting fail with
   * {@link DisconnectedError}. Resolves with the close code and reason.
   */
  close(reason = ''): Promise<CloseInfo> {
    if (this.closing || this.currentState === 'closed') return this.done.promise;
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    const conn = this.conn;
    if (conn === undefined) {
      this.finish(CloseCode.CLOSE_CODE_NORMAL, reason);
    } else if (this.currentState !== 'open') {
      conn.close(CloseCode.CLOSE_CODE_NORMAL, reason);
    } else {
      const { message, reply } = this.requests.add('close', { close: { reason } }, this.options.closeTimeoutMs, true);
      conn.send(message);
      // The server answers, then closes with 1000; whatever it fails to do in time, do from here.
      const force = (): void => conn.close(CloseCode.CLOSE_CODE_NORMAL, reason);
      reply.then(() => (this.closeTimer = setTimeout(force, this.options.closeTimeoutMs)), force);
    }
    return this.done.promise;
  }

  /**
   * Sends a command and resolves with its reply. While the client is connecting or
   * reconnecting the command waits (its timeout runs); before `connect()` and after `close()`
   * it fails at once.
   */
  protected request(
    command: CommandName,
    body: ClientMessage,
    timeoutMs = this.options.requestTimeoutMs,
    onReply?: (reply: ServerMessage) => void,
  ): Promise<ServerMessage> {
    if (this.currentState === 'idle') return Promise.reject(new DisconnectedError(command, 'not connected: call connect() first'));
    if (this.closing || this.currentState === 'closed') return Promise.reject(new DisconnectedError(command, 'the client is closed'));
    const { reply } = this.requests.add(command, body, timeoutMs, false, onReply);
    this.flush();
    return reply;
  }

  /** Sends now, ahead of waiting commands: for the steps that make a connection ready. */
  private sendNow(conn: Connection, command: CommandName, body: ClientMessage, onReply?: (reply: ServerMessage) => void): Promise<ServerMessage> {
    const { message, reply } = this.requests.add(command, body, this.options.requestTimeoutMs, true, onReply);
    conn.send(message);
    return reply;
  }

  private flush(): void {
    if (this.currentState !== 'open' || this.conn === undefined) return;
    for (const m of this.requests.takeUnsent()) this.conn.send(m);
  }

  private setState(state: ClientState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit('state', state);
  }

  private async currentToken(): Promise<string | undefined> {
    return typeof this.token === 'function' ? await this.token() : this.token;
  }

  /** One connection attempt. Failures go through the same path as a close. */
  private async attempt(): Promise<void> {
    let WebSocket: WebSocketConstructor;
    // The URL's room is joined on connect without `since`; once the client holds a position
    // there, it rejoins that room like any other, with `since`, over a plain /ws connection.
    let url = this.everOpened ? urlWithoutRoom(this.options.url) : this.options.url;
    try {
      WebSocket = await resolveWebSocket(this.options.WebSocket);
    } catch (err) {
      this.finish(1006, (err as Error).message);
      return;
    }
    try {
      if (this.tokenTransport === 'url') url = urlWithToken(url, await this.currentToken());
    } catch (err) {
      this.lost(1006, `token: ${(err as Error).message}`);
      return;
    }
    if (this.closing) return;
    const conn: Connection = new Connection(WebSocket, url, this.options.encoding, {
      message: (m) => this.onMessage(conn, m),
      undecodable: (err) => this.emit('frameError', err),
      closed: (code, reason) => {
        if (this.conn === conn) this.onClosed(code, reason);
      },
    });
    this.conn = conn;
    this.welcome = undefined;
    this.connectTimer = setTimeout(() => conn.abort(`not ready within ${this.options.connectTimeoutMs} ms`), this.options.connectTimeoutMs);
  }

  private onMessage(conn: Connection, m: ServerMessage): void {
    if (m.welcome != null) {
      if (this.welcome === undefined) void this.onWelcome(conn, toWelcome(m.welcome));
    } else if (m.event != null) {
      const e = toRoomEvent(m.event, this.welcome?.connId ?? '', this.previousConnId);
      // A replayed or live event the application already has: never hand it over twice.
      if (this.roomSet.event(e.room, e.seq) === 'duplicate') this.counters.duplicatesDropped += 1;
      else this.emit('event', e);
    } else if (m.streamReset != null) {
      const room = m.streamReset.room ?? '';
      const position = positionOf(m.streamReset);
      const previous = this.roomSet.position(room);
      // A reset into the epoch the client already holds, at or behind its position, tells it
      // nothing new (no seq repeats under one epoch): moving back would hand over again the
      // events a server re-sends after it. The duplicate guard drops those instead.
      if (previous?.epoch === position.epoch && previous.seq >= position.seq) return;
      if (this.roomSet.has(room)) this.roomSet.reset(room, position);
      this.counters.resyncs += 1;
      this.emit('resync', { room, reason: 'stream_reset', previous, position });
    } else if (m.presenceEvent != null) {
      this.emit('presence', toPresenceChange(m.presenceEvent));
    } else if (m.removed != null) {
      const r = toRemoved(m.removed);
      this.roomSet.forget(r.room);
      this.emit('removed', r);
    } else if (!this.requests.settle(m) && m.error != null) {
      this.emit('serverError', new ServerError('(none)', m.error.code ?? ErrorCode.ERROR_CODE_UNSPECIFIED, m.error.message ?? ''));
    }
    // Anything else is a reply that came after its command timed out: nobody waits for it.
  }

  /** Makes a fresh connection ready: authenticate, (re)join rooms, then open. */
  private async onWelcome(conn: Connection, welcome: Welcome): Promise<void> {
    this.welcome = welcome;
    this.authUserId = welcome.userId;
    this.previousConnId = this.lastOpenConnId;
    try {
      if (this.tokenTransport === 'command') {
        const token = await this.currentToken();
        if (token !== undefined && token !== '') {
          const reply = await this.sendNow(conn, 'connect', { connect: { token } });
          this.authUserId = toAuthResult(reply.connect ?? {}).userId;
        }
      }
      await rejoinRooms(
        {
          rooms: this.roomSet,
          counters: this.counters,
          previousConnId: this.previousConnId,
          wanted: this.everOpened ? this.roomSet.names() : [...new Set([...welcome.rooms.map((r) => r.room), ...this.options.rooms])],
          emit: (name, value) => this.emit(name, value),
          send: (command, body, onReply) => this.sendNow(conn, command, body, onReply),
        },
        welcome,
      );
    } catch (err) {
      if (this.conn !== conn) return; // the connection is gone; its close is being handled
      if (err instanceof ServerError) {
        // The server refused the token: retrying with the same one cannot help. Stop as the
        // server's own refusal (4502) would.
        this.conn = undefined;
        conn.close(CloseCode.CLOSE_CODE_NORMAL, 'authentication failed');
        this.emit('serverError', err);
        this.emit('disconnect', { code: CloseCode.CLOSE_CODE_UNAUTHENTICATED, reason: err.message, reconnect: false, delayMs: 0 });
        this.finish(CloseCode.CLOSE_CODE_UNAUTHENTICATED, err.message);
      } else {
        conn.abort((err as Error).message);
      }
      return;
    }
    if (this.conn !== conn || this.closing) return;
    clearTimeout(this.connectTimer);
    const reconnected = this.everOpened;
    this.everOpened = true;
    this.lastOpenConnId = welcome.connId;
    this.failedAttempts = 0;
    this.setState('open');
    this.flush();
    this.emit('open', { welcome, reconnected });
    this.ready.resolve(welcome);
  }

  private onClosed(code: number, reason: string): void {
    this.conn = undefined;
    clearTimeout(this.connectTimer);
    this.requests.failSent((command) => new DisconnectedError(command, `the connection closed (${code}${reason ? ` ${reason}` : ''})`, code));
    if (this.closing) {
      this.finish(code, reason);
      return;
    }
    if (shouldReconnect(code)) this.lost(code, reason);
    else {
      this.emit('disconnect', { code, reason, reconnect: false, delayMs: 0 });
      this.finish(code, reason);
    }
  }

  /** A connection failed or ended and may be retried: schedule the next attempt, or give up. */
  private lost(code: number, reason: string): void {
    const r = this.options.reconnect;
    if (r === false || this.closing || this.failedAttempts >= r.maxAttempts) {
      this.emit('disconnect', { code, reason, reconnect: false, delayMs: 0 });
      this.finish(code, reason);
      return;
    }
    const delayMs = backoffDelay(this.failedAttempts, r);
    this.failedAttempts += 1;
    this.setState(this.everOpened ? 'reconnecting' : 'connecting');
    this.emit('disconnect', { code, reason, reconnect: true, delayMs });
    this.reconnectTimer = setTimeout(() => void this.attempt(), delayMs);
  }

  /** The end: no more connections, every waiting command fails. */
  private finish(code: number, reason: string): void {
    if (this.currentState === 'closed') return;
    clearTimeout(this.connectTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.closeTimer);
    this.conn = undefined;
    this.requests.failAll((command) => new DisconnectedError(command, `the client is closed (${code}${reason ? ` ${reason}` : ''})`, code));
    this.setState('closed');
    const info: CloseInfo = { code, reason };
    this.emit('close', info);
    this.ready.reject(new DisconnectedError('connect', `the client closed before it was ready (${code}${reason ? ` ${reason}` : ''})`, code));
    this.done.resolve(info);
  }
}
