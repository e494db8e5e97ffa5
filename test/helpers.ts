/**
 * Test helpers: a real server on an ephemeral port, real `ws` clients that speak either
 * encoding, and a small HTTP client. Every wait has a timeout so a broken server fails a test
 * instead of hanging it.
 */
import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import { type Config, configFrom } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { decodeJson, decodeProto, encodeJson, encodeProto } from '../src/protocol/codec.js';
import { type ClientMessage, type Encoding, type ServerMessage, SUBPROTOCOLS } from '../src/protocol/types.js';
import { createServer, type RoomcastServer, type ServerDeps } from '../src/server/app.js';

/** A running test server. */
export interface TestServer {
  server: RoomcastServer;
  port: number;
  url(path?: string): string;
  http: string;
  close(): Promise<void>;
}

/** Starts a real server on 127.0.0.1 and an ephemeral port. */
export async function startServer(overrides: Partial<Config> = {}, deps: Partial<ServerDeps> = {}): Promise<TestServer> {
  const config = configFrom({ host: '127.0.0.1', port: 0, logLevel: 'silent', ...overrides });
  const server = createServer(config, { log: createLogger(config), ...deps });
  const port = await server.listen();
  return {
    server,
    port,
    url: (path = '/ws') => `ws://127.0.0.1:${port}${path}`,
    http: `http://127.0.0.1:${port}`,
    close: () => server.close(),
  };
}

/** Rejects after `ms` with a message saying what was awaited. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Waiter {
  pred: (m: ServerMessage) => boolean;
  resolve: (m: ServerMessage) => void;
}

/** How a test client asks for its encoding: a subprotocol, or none (server default). */
export type ClientEncoding = Encoding | 'none';

/** A real WebSocket client that decodes what the server sends. */
export class TestClient {
  readonly ws: WebSocket;
  /** Every decoded message, in arrival order. */
  readonly received: ServerMessage[] = [];
  /** Whether each received frame was binary. */
  readonly binary: boolean[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Waiter[] = [];
  private nextId = 1;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const m = isBinary ? decodeProto('ServerMessage', new Uint8Array(data)) : decodeJson('ServerMessage', data.toString('utf8'));
      this.received.push(m);
      this.binary.push(isBinary);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Connects and waits for the Welcome message. */
  static async connect(url: string, encoding: ClientEncoding = 'proto', options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const protocols = encoding === 'none' ? [] : [SUBPROTOCOLS[encoding]];
    const ws = new WebSocket(url, protocols, options);
    const client = new TestClient(ws);
    const welcome = client.waitFor((m) => m.welcome != null, 'welcome');
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${String(res.statusCode)} on upgrade`)));
      }),
      5000,
      `connect ${url}`,
    );
    await welcome;
    return client;
  }

  /** The encoding the server chose (from the subprotocol it accepted). */
  get encoding(): Encoding {
    return this.ws.protocol === SUBPROTOCOLS.json ? 'json' : 'proto';
  }

  /** The connection id from the Welcome message. */
  get connId(): string {
    return this.received.find((m) => m.welcome != null)?.welcome?.connId ?? '';
  }

  /** Sends a command in this client's encoding, filling in an id if none is set. Returns the id. */
  send(cmd: ClientMessage, encoding: Encoding = this.encoding): number {
    const id = cmd.id ?? this.nextId++;
    this.ws.send(encoding === 'proto' ? encodeProto('ClientMessage', { ...cmd, id }) : encodeJson('ClientMessage', { ...cmd, id }));
    return id;
  }

  /** Sends a command and resolves with the reply (or error) carrying its id. */
  request(cmd: ClientMessage, encoding?: Encoding): Promise<ServerMessage> {
    const id = cmd.id ?? this.nextId++;
    const reply = this.waitFor((m) => m.id === id && m.event == null && m.welcome == null, `reply to ${JSON.stringify(Object.keys(cmd))} id ${id}`);
    this.send({ ...cmd, id }, encoding);
    return reply;
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(pred: (m: ServerMessage) => boolean, what = 'a message', ms = Number(process.env.WAIT_MS ?? 5000)): Promise<ServerMessage> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return withTimeout(new Promise<ServerMessage>((resolve) => this.waiters.push({ pred, resolve })), ms, what);
  }

  /** Resolves once `n` events of `room` have arrived; returns them. */
  async events(room: string, n: number, ms = 5000): Promise<Array<ServerMessage['event']>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const evs = this.received.filter((m) => m.event?.room === room).map((m) => m.event);
      if (evs.length >= n) return evs;
      if (Date.now() > deadline) throw new Error(`got ${evs.length} of ${n} events in ${room}`);
      await sleep(5);
    }
  }

  /** Events received so far for a room. */
  eventsSoFar(room: string): Array<NonNullable<ServerMessage['event']>> {
    return this.received.filter((m) => m.event?.room === room).map((m) => m.event as NonNullable<ServerMessage['event']>);
  }

  close(): void {
    this.ws.close();
  }
}

/** An HTTP request against the test server; returns status, headers and body. */
export async function httpRequest(
  base: string,
  method: string,
  path: string,
  options: { body?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: Buffer; json: () => unknown }> {
  const res = await fetch(base + path, { method, headers: options.headers, body: options.body });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, json: (): unknown => JSON.parse(body.toString('utf8')) };
}

/**
 * Whether an external tool is on this machine. Tests that need one skip without it, unless
 * CI_REQUIRE_TOOLS=1 (set by .ci/run), where a missing tool fails the test instead.
 */
export function requireTool(command: string, args: string[] = ['--version']): string | false {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error === undefined && r.status === 0) return false;
  const why = `${command} is not available (${r.error?.message ?? `exit ${String(r.status)}`})`;
  if (process.env.CI_REQUIRE_TOOLS === '1') throw new Error(`${why}, and CI_REQUIRE_TOOLS=1`);
  return why;
}

/** Tries a WebSocket handshake that the server should refuse; returns the HTTP status and body. */
export function refusedUpgrade(url: string, protocols: string[] = []): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      ws.on('open', () => {
        ws.close();
        reject(new Error(`handshake to ${url} succeeded`));
      });
      ws.on('error', () => {});
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    }),
    5000,
    `refused handshake to ${url}`,
  );
}

/** Opens a connection the server is expected to close before any Welcome; returns the close. */
export async function closedOnConnect(
  url: string,
  protocols: string[] = [],
  options: WebSocket.ClientOptions = {},
): Promise<{ code: number; reason: string; messages: number }> {
  const ws = new WebSocket(url, protocols, options);
  let messages = 0;
  ws.on('message', () => (messages += 1));
  ws.on('error', () => {});
  const closed = await withTimeout(
    new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    5000,
    `close of ${url}`,
  );
  return { ...closed, messages };
}

/** Signs an HS256 test token. `expiresIn` is a jose time span ("1h", "2s") or absolute seconds. */
export async function hsToken(secret: string, claims: Record<string, unknown>, expiresIn: string | number = '1h'): Promise<string> {
  const { SignJWT } = await import('jose');
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));
}

// Local redis-server processes (one, or a cluster) and free ports: shared with the benches and
// the chaos script, so they live in their own module.
export { freePort, redisCli, type RedisOptions, startRedis, startRedisCluster, type TestCluster, type TestRedis } from './redis-servers.js';
