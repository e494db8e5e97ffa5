/**
 * Micro-benchmarks of the wire: encode and decode of the pushed event and of the client's
 * publish command, protobuf vs proto3 JSON, with a small (64 B) and a larger (4 KB) payload.
 * The event encoders are the ones the publish path uses (once per publish per encoding); the
 * event decoders are a client's (the generic ones); the command encoder is a client's and the
 * command decoder the server's.
 *
 * Runs alone: `node --import tsx bench/micro/codec.ts`.
 */
import { fileURLToPath } from 'node:url';
import { decodeClientFrame } from '../../src/protocol/client-frame.js';
import { decodeJson, decodeProto, encodeJson, encodeProto } from '../../src/protocol/codec.js';
import { encodeEventJson, encodeEventProto, type EventFields } from '../../src/protocol/events.js';
import type { MicroResult } from '../types.js';
import { makePayload } from '../loadgen/payload.js';
import { type MicroTask, runTasks } from './tasks.js';

/** Payload sizes the codec is measured at. */
export const CODEC_SIZES = [64, 4096];

function tasksFor(size: number): MicroTask[] {
  const data = makePayload(size);
  const event: EventFields = { room: 'room-1', seq: 123_456, timeUs: Date.now() * 1000, data, connId: '5f0c9a1e-1a', userId: 'user-1' };
  // A copy: encodeEventProto returns a view that its next call overwrites.
  const eventProto = Uint8Array.from(encodeEventProto(event));
  const eventJson = encodeEventJson(event);
  const command = { id: 42, publish: { room: 'room-1', data, excludeSelf: true } };
  const commandProto = encodeProto('ClientMessage', command);
  const commandJson = Buffer.from(encodeJson('ClientMessage', command));
  const tag = `${size}B`;
  return [
    { name: `event encode proto ${tag}`, fn: () => encodeEventProto(event), bytes: eventProto.length },
    // To UTF-8 bytes, as uWS copies it: the string concatenation alone leaves a rope whose
    // flattening would otherwise be charged to no one.
    { name: `event encode json ${tag}`, fn: () => Buffer.from(encodeEventJson(event)), bytes: Buffer.byteLength(eventJson) },
    { name: `event decode proto ${tag}`, fn: () => decodeProto('ServerMessage', eventProto), bytes: eventProto.length },
    { name: `event decode json ${tag}`, fn: () => decodeJson('ServerMessage', eventJson), bytes: Buffer.byteLength(eventJson) },
    { name: `publish encode proto ${tag}`, fn: () => encodeProto('ClientMessage', command), bytes: commandProto.length },
    { name: `publish encode json ${tag}`, fn: () => encodeJson('ClientMessage', command), bytes: commandJson.length },
    { name: `publish decode proto ${tag}`, fn: () => decodeClientFrame(commandProto, true), bytes: commandProto.length },
    { name: `publish decode json ${tag}`, fn: () => decodeClientFrame(commandJson, false), bytes: commandJson.length },
  ];
}

/** Runs the codec micro-benchmarks, about `timeMs` per task. */
export function codecBench(timeMs: number): Promise<MicroResult[]> {
  return runTasks('codec', CODEC_SIZES.flatMap(tasksFor), timeMs);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { printMicro } = await import('../report/table.js');
  process.stdout.write(printMicro(await codecBench(1000)));
}
