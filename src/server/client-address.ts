/**
 * The address a connection counts against for per-address limits. Normally the TCP peer; when
 * the peer is one of `trustedProxies`, the client its forwarding header names: `Forwarded: for=`
 * (RFC 7239) if present, else `X-Forwarded-For`. The list is read from the right, skipping hops
 * that are themselves trusted proxies: the first untrusted one is the client (entries to its left
 * were written by the client and prove nothing). A hop that is not an address (`unknown`, an
 * obfuscated name, garbage) ends the walk at the last trusted hop.
 */
import { BlockList, isIP } from 'node:net';

/** `::ffff:1.2.3.4` -> `1.2.3.4`; other addresses unchanged. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

/** One hop of a forwarding header, without quotes, brackets or port; undefined if not an IP. */
function hopAddress(raw: string): string | undefined {
  let v = raw.trim();
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    v = end === -1 ? '' : v.slice(1, end);
  } else if (isIP(v) === 0 && /^[\d.]+:\d+$/.test(v)) {
    v = v.slice(0, v.lastIndexOf(':'));
  }
  return isIP(v) === 0 ? undefined : normalizeAddress(v);
}

/** The `for=` values of a Forwarded header, in order. */
function forwardedFor(header: string): string[] {
  const hops: string[] = [];
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq !== -1 && pair.slice(0, eq).trim().toLowerCase() === 'for') hops.push(pair.slice(eq + 1));
    }
  }
  return hops;
}

/** Who the per-address limits count a connection against. */
export class ClientAddresses {
  private readonly trusted = new BlockList();
  /** Whether any proxy is trusted (if not, the peer address is always the answer). */
  readonly enabled: boolean;

  /** `proxies`: addresses or CIDRs, already validated by the config. */
  constructor(proxies: readonly string[]) {
    for (const entry of proxies) {
      const [address = '', prefix] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.trusted.addAddress(normalizeAddress(address), family);
      else this.trusted.addSubnet(normalizeAddress(address), Number(prefix), family);
    }
    this.enabled = proxies.length > 0;
  }

  /** Whether `address` is a trusted proxy. */
  isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client address of a request from `peer` carrying these headers (every line of each,
   * joined with commas; empty when absent).
   */
  resolve(peer: string, forwarded: string, xForwardedFor: string): string {
    const self = normalizeAddress(peer);
    if (!this.enabled || !this.isTrusted(self)) return self;
    const hops = forwarded.trim() !== '' ? forwardedFor(forwarded) : xForwardedFor.split(',').filter((h) => h.trim() !== '');
    let client = self;
    for (const raw of hops.reverse()) {
      const hop = hopAddress(raw);
      if (hop === undefined) return client;
      client = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return client;
  }
}
