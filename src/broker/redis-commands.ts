/**
 * The Redis broker's Lua scripts (redis-scripts.ts) as typed commands on its Redis client, so
 * the broker and its reads call them like any other command (EVALSHA, falling back to EVAL).
 */
import type { Commands } from './redis-access.js';
import { publishScript, READ_SCRIPT, type RawEntries, streamScript } from './redis-scripts.js';

/** A string reply read as bytes (nil for a missing key). */
export type Reply = Buffer | null;

/** The scripts' commands; their keys come first, in the order of `roomKeys`. */
export interface ScriptedCommands {
  /** PUBLISH_SCRIPT: the event's seq (0 for a room without history and without listeners). */
  roomcastPublish(
    seq: string,
    epoch: string,
    stream: string,
    channel: string,
    node: string,
    header: string,
    event: Buffer,
    epochArg: string,
    size: number,
    ttlSec: number,
    seqTtlSec: number,
    timeMs: number,
  ): Promise<number>;
  /** STREAM_SCRIPT: the room's [epoch, seq], created when it has none. */
  roomcastStream(
    seq: string,
    epoch: string,
    stream: string,
    node: string,
    epochArg: string,
    seqTtlSec: number,
    ...delivered: Array<string | number>
  ): Promise<[string, string]>;
  /** READ_SCRIPT (the Buffer variant ioredis adds): [epoch, seq, entries or nil]. */
  roomcastReadBuffer(
    seq: string,
    epoch: string,
    stream: string,
    dir: 'fwd' | 'rev',
    first: string,
    last: string,
    count: number,
    expect: string,
  ): Promise<[Reply, Reply, RawEntries | null]>;
}

/** A Redis client (one Redis or a cluster) with the scripts defined on it. */
export type ScriptedRedis = Commands & ScriptedCommands;

/** Defines the scripts on `commands` (the cluster variants check the room's node key). */
export function defineScripts(commands: Commands, cluster: boolean): ScriptedRedis {
  const scripted = commands as ScriptedRedis;
  // Both get the room's node key; only the cluster variants use it.
  scripted.defineCommand('roomcastPublish', { numberOfKeys: 5, lua: publishScript(cluster) });
  scripted.defineCommand('roomcastStream', { numberOfKeys: 4, lua: streamScript(cluster) });
  scripted.defineCommand('roomcastRead', { numberOfKeys: 3, lua: READ_SCRIPT });
  return scripted;
}
