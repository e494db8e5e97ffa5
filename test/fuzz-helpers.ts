/**
 * Shared pieces of the property-based (fast-check) tests: how many runs, and arbitraries for
 * client frames, from random bytes to well-formed commands with random values.
 */
import fc from 'fast-check';
import { encodeProto } from '../src/protocol/codec.js';

/**
 * Runs per property: small by default so `npm test` stays quick; FUZZ_RUNS=100000 (or any
 * number) for a long run. `scale` divides it for properties that cost a network round trip.
 */
export function fuzzRuns(quick: number, scale = 1): number {
  const asked = Number(process.env.FUZZ_RUNS ?? '');
  return Number.isInteger(asked) && asked > 0 ? Math.max(1, Math.floor(asked / scale)) : quick;
}

/** The seed fast-check prints on a failure; FUZZ_SEED repeats a run. */
export function fuzzSeed(): { seed?: number } {
  const seed = Number(process.env.FUZZ_SEED ?? '');
  return Number.isInteger(seed) ? { seed } : {};
}

const COMMANDS = ['echo', 'join', 'leave', 'publish', 'close', 'connect', 'refresh', 'presence', 'presenceStats', 'presence_stats'];
const FIELDS = ['room', 'text', 'data', 'excludeSelf', 'exclude_self', 'token', 'reason', 'source', 'id'];

/** A command's body: any JSON, or an object of known (and some unknown) field names. */
const commandBody: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom(...FIELDS, 'x'), fc.jsonValue(), { maxKeys: 4 }));

/** Any JSON value, often shaped like a command: known keys with random values. */
export const commandLikeJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  fc
    .constantFrom(...COMMANDS)
    .chain((command) =>
      fc.record({ id: fc.oneof(fc.nat(), fc.integer(), fc.string(), fc.constant(null), fc.double()), [command]: commandBody }, { requiredKeys: [command] }),
    ),
  fc.dictionary(fc.constantFrom(...COMMANDS, 'frobnicate', 'id'), commandBody, { maxKeys: 3 }),
);

/** A valid command of every kind, in protobuf, for mutating. */
const validProto: Uint8Array[] = [
  { id: 1, echo: { text: 'hi' } },
  { id: 2, join: { room: 'fuzz-room' } },
  { id: 3, publish: { room: 'fuzz-room', data: new Uint8Array([1, 2, 3]), excludeSelf: true } },
  { id: 4, leave: { room: 'fuzz-room' } },
  { id: 5, presenceStats: { room: 'fuzz-room' } },
].map((m) => encodeProto('ClientMessage', m));

/** Valid protobuf commands with a few bytes changed, cut or appended. */
export const mutatedProto: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom(...validProto),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.nat(),
    fc.uint8Array({ maxLength: 8 }),
  )
  .map(([base, edits, cut, tail]) => {
    const out = Uint8Array.from(base);
    for (const [at, byte] of edits) out[at % out.length] = byte;
    return new Uint8Array([...out.subarray(0, out.length - (cut % 3)), ...tail]);
  });

/** Raw bytes: anything, up to 512. */
export const anyBytes: fc.Arbitrary<Uint8Array> = fc.uint8Array({ maxLength: 512 });
