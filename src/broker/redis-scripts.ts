/**
 * The Redis side of the Redis broker: the key layout of a room and the Lua scripts that read and
 * write it. Every key of a room and its channel share one hash tag (`{<room>}`; room names never
 * contain braces), so each script touches one slot and runs unchanged on Redis Cluster. The
 * parsers of what the scripts write (stream entries, event messages) are here too.
 *
 *   <prefix>{<room>}:seq     the last sequence number (a string integer)
 *   <prefix>{<room>}:epoch   the epoch: 16 hex characters naming this life of seq
 *   <prefix>{<room>}:stream  the history: a Redis Stream, one entry per event, ID `<seq>-0`,
 *                            fields h = `<x><connId>:` (x = '1' for exclude-self), t = publish
 *                            time (ms), e = the Event protobuf without seq
 *   <prefix>{<room>}:node    (Redis Cluster only) the id of the master that started the
 *                            epoch: a room found on another master (a failover, a slot move)
 *                            starts a new epoch, since a promoted replica may lack the last
 *                            writes and would hand out seqs already delivered
 *   <prefix>{<room>}:ch      the channel
 *
 * Channel messages (binary-safe):
 *   e<epoch>:<seq>:<x><connId>:<Event protobuf without seq>
 *   p<JSON PresenceNotice>
 */
import type { RoomEvent } from './redis-repair.js';

/** The names of one room's keys and channel. */
export interface RoomKeys {
  seq: string;
  epoch: string;
  stream: string;
  node: string;
  channel: string;
}

/**
 * The admin channel: one per deployment. On a cluster it is one fixed sharded channel (its own
 * hash tag, `{control}`; never a room's, whose channels end in `:ch`).
 */
export function controlChannel(prefix: string): string {
  return `${prefix}{control}:admin`;
}

/** The keys of `room` under `prefix`. */
export function roomKeys(prefix: string, room: string): RoomKeys {
  const base = `${prefix}{${room}}:`;
  return { seq: `${base}seq`, epoch: `${base}epoch`, stream: `${base}stream`, node: `${base}node`, channel: `${base}ch` };
}

/**
 * Sequences, stores and publishes one event, atomically.
 * KEYS: seq, epoch, stream, channel, node (cluster only).
 * ARGV: header (`<x><connId>:`), Event bytes, a fresh epoch (used only when the room has none),
 * history size (0 = none), history TTL (s), seq/epoch TTL (s), publish time (ms).
 * Returns the seq, or 0 for a room without history that no process listens to.
 *
 * A missing seq or epoch key means the sequence cannot continue (first publish, expiry, a Redis
 * restart without persistence): the script starts a new epoch at seq 1 and drops any stream
 * left from the old one, so no seq ever repeats under one epoch.
 *
 * On a Redis Cluster the script publishes with SPUBLISH: the channel has the room's hash tag, so
 * it is in the script's slot and the message goes out on the shard that ran the script, in the
 * same atomic step as the INCR (so per-room order is the seq order, as with one Redis). The
 * "does anyone listen" check of a room without history uses PUBSUB SHARDNUMSUB, which counts
 * the sharded subscribers of this node: every process subscribes on the master that owns the
 * slot (ioredis's sharded subscribers), where the script runs, so the count covers them all.
 * Right after a failover a process may still be re-subscribing: such a publish can get seq 0
 * and reach nobody, as a publish to a room with no members would.
 */
export function publishScript(cluster: boolean): string {
  if (!cluster) return PUBLISH_SCRIPT;
  return edit(PUBLISH_SCRIPT, [
    ["'PUBSUB', 'NUMSUB'", "'PUBSUB', 'SHARDNUMSUB'"],
    ["redis.call('PUBLISH'", "redis.call('SPUBLISH'"],
    ['local seq\n', `local seq\n${nodeCheck(5)}`],
    ["  redis.call('DEL', KEYS[3])\n", "  redis.call('DEL', KEYS[3])\n  redis.call('SET', KEYS[5], me, 'EX', ttl)\n"],
    ["  redis.call('EXPIRE', KEYS[1], ttl)\n", "  redis.call('EXPIRE', KEYS[1], ttl)\n  redis.call('EXPIRE', KEYS[5], ttl)\n"],
  ]);
}

/** Applies each replacement once; a replacement that finds nothing is a bug in this file. */
function edit(script: string, replacements: Array<[string, string]>): string {
  let out = script;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`redis-scripts: the cluster variant cannot find ${JSON.stringify(from)}`);
    out = out.replace(from, to);
  }
  return out;
}

/** Cluster only: the epoch of a room started on another master does not go on here. */
function nodeCheck(key: number): string {
  return `local me = redis.call('CLUSTER', 'MYID')
if epoch and redis.call('GET', KEYS[${String(key)}]) ~= me then epoch = false end
`;
}

/** The publish script for one Redis (plain PUBLISH); see publishScript. */
export const PUBLISH_SCRIPT = `
local size = tonumber(ARGV[4])
if size == 0 and redis.call('PUBSUB', 'NUMSUB', KEYS[4])[2] == 0 then return 0 end
local ttl = ARGV[6]
local epoch = redis.call('GETEX', KEYS[2], 'EX', ttl)
local seq
if epoch and redis.call('EXISTS', KEYS[1]) == 1 then
  seq = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ttl)
else
  epoch = ARGV[3]
  seq = 1
  redis.call('SET', KEYS[2], epoch, 'EX', ttl)
  redis.call('SET', KEYS[1], 1, 'EX', ttl)
  redis.call('DEL', KEYS[3])
end
if size > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', size, seq .. '-0', 'h', ARGV[1], 't', ARGV[7], 'e', ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
redis.call('PUBLISH', KEYS[4], 'e' .. epoch .. ':' .. seq .. ':' .. ARGV[1] .. ARGV[2])
return seq
`;

/**
 * The room's position, creating a new epoch (at seq 0) when it has none; refreshes the TTLs.
 * KEYS: seq, epoch, stream, node (cluster only: see nodeCheck). ARGV: a fresh epoch, seq/epoch TTL (s), and optionally an epoch and
 * a seq that some process has already delivered: if the room still has that epoch but a smaller
 * seq, Redis went back in time (a restart that lost its last writes, e.g. AOF with
 * appendfsync everysec) and the next publishes would reuse delivered numbers, so the script
 * starts a new epoch instead. Returns {epoch, seq}.
 */
export function streamScript(cluster: boolean): string {
  if (!cluster) return STREAM_SCRIPT;
  return edit(STREAM_SCRIPT, [
    ["local seq = redis.call('GET', KEYS[1])\n", `local seq = redis.call('GET', KEYS[1])\n${nodeCheck(4)}`],
    ["  redis.call('EXPIRE', KEYS[1], ARGV[2])\n", "  redis.call('EXPIRE', KEYS[1], ARGV[2])\n  redis.call('EXPIRE', KEYS[4], ARGV[2])\n"],
    ["redis.call('DEL', KEYS[3])\n", "redis.call('DEL', KEYS[3])\nredis.call('SET', KEYS[4], me, 'EX', ARGV[2])\n"],
  ]);
}

/** The position script for one Redis; see streamScript. */
export const STREAM_SCRIPT = `
local epoch = redis.call('GETEX', KEYS[2], 'EX', ARGV[2])
local seq = redis.call('GET', KEYS[1])
if epoch and seq and ARGV[3] and epoch == ARGV[3] and tonumber(seq) < tonumber(ARGV[4]) then
  epoch = false
end
if epoch and seq then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return {epoch, seq}
end
epoch = ARGV[1]
redis.call('SET', KEYS[2], epoch, 'EX', ARGV[2])
redis.call('SET', KEYS[1], 0, 'EX', ARGV[2])
redis.call('DEL', KEYS[3])
return {epoch, '0'}
`;

/**
 * Reads the position and a range of the stream in one step.
 * KEYS: seq, epoch, stream. ARGV: 'fwd' or 'rev', first ID, last ID, count (0 = all), the epoch
 * the caller expects ('' = any).
 * Returns {epoch, seq, entries}: epoch '' when the room has no stream; entries are XRANGE's
 * (or XREVRANGE's) answer, or false when the epoch is not the one expected.
 */
export const READ_SCRIPT = `
local epoch = redis.call('GET', KEYS[2])
local seq = redis.call('GET', KEYS[1])
if not epoch or not seq then return {'', '0', false} end
if ARGV[5] ~= '' and ARGV[5] ~= epoch then return {epoch, seq, false} end
local n = tonumber(ARGV[4])
local entries
if ARGV[1] == 'rev' then
  if n > 0 then entries = redis.call('XREVRANGE', KEYS[3], ARGV[3], ARGV[2], 'COUNT', n)
  else entries = redis.call('XREVRANGE', KEYS[3], ARGV[3], ARGV[2]) end
else
  if n > 0 then entries = redis.call('XRANGE', KEYS[3], ARGV[2], ARGV[3], 'COUNT', n)
  else entries = redis.call('XRANGE', KEYS[3], ARGV[2], ARGV[3]) end
end
return {epoch, seq, entries}
`;

/** One event as read back from a room's stream. */
export interface StreamEntry {
  seq: number;
  timeMs: number;
  excludeSelf: boolean;
  connId: string;
  /** The Event protobuf without seq. */
  event: Buffer;
}

/** XRANGE's answer with Buffer replies: [[id, [field, value, ...]], ...]. */
export type RawEntries = Array<[Buffer, Buffer[]]>;

const COLON = 0x3a;

/** Parses stream entries written by PUBLISH_SCRIPT; skips entries it cannot read. */
export function parseEntries(raw: RawEntries | null): StreamEntry[] {
  const out: StreamEntry[] = [];
  if (raw === null) return out;
  for (const [id, fields] of raw) {
    let header: Buffer | undefined;
    let time: Buffer | undefined;
    let event: Buffer | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]?.toString('latin1');
      const value = fields[i + 1];
      if (name === 'h') header = value;
      else if (name === 't') time = value;
      else if (name === 'e') event = value;
    }
    const seq = Number.parseInt(id.toString('latin1'), 10);
    if (header === undefined || event === undefined || !(seq > 0)) continue;
    const colon = header.lastIndexOf(COLON);
    out.push({
      seq,
      timeMs: time === undefined ? 0 : Number(time.toString('latin1')),
      excludeSelf: header[0] === 0x31,
      connId: header.toString('latin1', 1, colon < 0 ? header.length : colon),
      event,
    });
  }
  return out;
}

/**
 * Parses an event message of `room`'s channel, `e<epoch>:<seq>:<x><connId>:<Event without seq>`
 * (written by PUBLISH_SCRIPT); the event bytes are not copied. Throws when it is malformed.
 */
export function parseEventMessage(room: string, message: Buffer): RoomEvent {
  const c1 = message.indexOf(COLON, 1);
  const c2 = message.indexOf(COLON, c1 + 1);
  const c3 = message.indexOf(COLON, c2 + 2);
  if (c1 < 0 || c2 < 0 || c3 < 0) throw new Error('malformed event message');
  return {
    room,
    epoch: message.toString('latin1', 1, c1),
    seq: Number(message.toString('latin1', c1 + 1, c2)),
    excludeSelf: message[c2 + 1] === 0x31,
    connId: message.toString('latin1', c2 + 2, c3),
    encoded: message.subarray(c3 + 1),
  };
}
