/**
 * Base64 for the JSON form of `bytes` fields, in Node and in browsers.
 *
 * The protocol modules run in the server and, bundled, in browsers (the client SDK imports
 * them), so they cannot rely on Node's `Buffer`. Node's native base64 is 10-50x faster than any
 * JavaScript loop for payloads past a few hundred bytes, and the server writes base64 once per
 * publish with JSON subscribers, so Node keeps its native path; elsewhere protobufjs's portable
 * implementation (which already reads both the standard and the URL-safe alphabet) takes over.
 */
import protobuf from 'protobufjs/minimal.js';

/** The part of Node's Buffer used here, looked up without importing `node:buffer`. */
interface NodeBuffer {
  from(bytes: ArrayBufferLike, offset: number, length: number): { toString(encoding: 'base64'): string };
  from(text: string, encoding: 'base64' | 'base64url'): Uint8Array;
}
const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;

/** Standard base64 (with padding) of `bytes`, as the proto3 JSON mapping writes `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  if (nodeBuffer !== undefined) return nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
  return protobuf.util.base64.encode(bytes, 0, bytes.length);
}

/**
 * Decodes standard or URL-safe base64, padded or not (the mapping accepts all four). The caller
 * checks the alphabet first; this only converts.
 */
export function decodeBase64(text: string): Uint8Array {
  if (nodeBuffer !== undefined) {
    return new Uint8Array(nodeBuffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64'));
  }
  const out = new Uint8Array(protobuf.util.base64.length(text));
  const n = protobuf.util.base64.decode(text, out, 0);
  return n === out.length ? out : out.subarray(0, n);
}
