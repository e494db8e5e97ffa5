/**
 * Micro-benchmark of the server's whole publish path in JavaScript, without sockets: a publish
 * frame from a member goes through the real `onMessage` (decode, checks, broker, fan-out with
 * its per-encoding event encoding, the publish reply) against a fake uWS socket and app whose
 * `publish` and `send` only count. What is left out is uWS's C++ copy to each subscriber and
 * the kernel, which the fan-out scenarios measure; this is the per-publish cost roomcast adds
 * on top of bare uWS.
 *
 * Runs alone: `node --import tsx bench/micro/publish-path.ts`.
 */
import { fileURLToPath } from 'node:url';
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { configFrom } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { encodeJson, encodeProto } from '../../src/protocol/codec.js';
import type { Encoding } from '../../src/protocol/types.js';
import { createContext } from '../../src/server/app.js';
import { addRoom, type SocketData } from '../../src/server/connections.js';
import type { ServerContext } from '../../src/server/context.js';
import { topicFor } from '../../src/server/rooms.js';
import { onMessage } from '../../src/server/commands.js';
import type { MicroResult } from '../types.js';
import { makePayload } from '../loadgen/payload.js';
import { type MicroTask, runTasks } from './tasks.js';

/** Counts what the server hands to uWS. */
interface Counters {
  published: number;
  sent: number;
}

/** A server context with one room of `proto` + `json` members and one protobuf publisher. */
async function setUp(proto: number, json: number, counters: Counters, history = true): Promise<{ ctx: ServerContext; ws: WebSocket<SocketData> }> {
  // No rate limit: the loop below is one connection publishing as fast as it can. History as by
  // default (every room keeps its last 100 events), or off, to show what storing costs.
  const config = configFrom({ logLevel: 'silent', rateLimitPerSec: 0, ...(history ? {} : { history: [] }) });
  const app = { publish: () => ((counters.published += 1), true) } as unknown as TemplatedApp;
  const { ctx, handlers } = createContext(config, app, { log: createLogger(config) });
  await ctx.broker.start(handlers);
  const { rooms, conns } = ctx;
  const conn = conns.create('proto', 'r0', '127.0.0.1', ctx.auth.anonymous());
  const ws = {
    getUserData: () => ({ conn }),
    send: () => ((counters.sent += 1), 1),
    publish: () => ((counters.published += 1), true),
    subscribe: () => true,
    end: () => undefined,
  } as unknown as WebSocket<SocketData>;
  conn.ws = ws;
  conns.add(conn);
  addRoom(conn, 'r0');
  // The publisher is one of the protobuf members; uWS would report these counts.
  rooms.topicCount(topicFor('r0', 'proto'), proto + 1);
  if (json > 0) rooms.topicCount(topicFor('r0', 'json'), json);
  return { ctx, ws };
}

function frame(size: number, encoding: Encoding): ArrayBuffer {
  const command = { id: 7, publish: { room: 'r0', data: makePayload(size), excludeSelf: true } };
  const bytes = encoding === 'proto' ? Buffer.from(encodeProto('ClientMessage', command)) : Buffer.from(encodeJson('ClientMessage', command));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}

/** Runs the publish-path micro-benchmarks, about `timeMs` per task. */
export async function publishPathBench(timeMs: number): Promise<MicroResult[]> {
  const counters: Counters = { published: 0, sent: 0 };
  const tasks: MicroTask[] = [];
  for (const size of [64, 4096]) {
    const protoOnly = await setUp(1000, 0, counters);
    const noHistory = await setUp(1000, 0, counters, false);
    const mixed = await setUp(500, 500, counters);
    const bin = frame(size, 'proto');
    const text = frame(size, 'json');
    tasks.push(
      { name: `publish path proto->proto room ${size}B`, fn: () => onMessage(protoOnly.ctx, protoOnly.ws, bin, true), bytes: bin.byteLength },
      { name: `publish path proto->proto room ${size}B, history off`, fn: () => onMessage(noHistory.ctx, noHistory.ws, bin, true), bytes: bin.byteLength },
      { name: `publish path proto->mixed room ${size}B`, fn: () => onMessage(mixed.ctx, mixed.ws, bin, true), bytes: bin.byteLength },
      { name: `publish path json->proto room ${size}B`, fn: () => onMessage(protoOnly.ctx, protoOnly.ws, text, false), bytes: text.byteLength },
    );
  }
  const results = await runTasks('publish path', tasks, timeMs);
  if (counters.published === 0 || counters.sent === 0) throw new Error('the publish path published nothing: the fake server is miswired');
  return results;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { printMicro } = await import('../report/table.js');
  process.stdout.write(printMicro(await publishPathBench(1000)));
}
