/**
 * The stats panel's numbers: GET /healthz (src/server/health.ts) is polled, and rates come from
 * the difference between two readings over the server's own uptime difference, so browser timer
 * jitter does not skew them. No DOM here, so it is unit-tested in Node.
 */

/** The fields of GET /healthz the page shows. */
export interface Health {
  connections: number;
  rooms: number;
  uptimeSec: number;
  messagesIn: number;
  publications: number;
  messagesOut: number;
}

const FIELDS = ['connections', 'rooms', 'uptimeSec', 'messagesIn', 'publications', 'messagesOut'] as const;

/** Reads a /healthz body; undefined when a field is missing or not a number (an older server). */
export function parseHealth(body: unknown): Health | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const out: Partial<Health> = {};
  for (const f of FIELDS) {
    const v = b[f];
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    out[f] = v;
  }
  return out as Health;
}

/** Per-second rates between two readings. */
export interface Rates {
  /** Frames received from clients. */
  messagesIn: number;
  /** Events published (fanned out on that process). */
  publications: number;
  /** Event copies delivered to sockets. */
  messagesOut: number;
}

/** Rates from `prev` to `next`; undefined if no time passed or the server restarted in between. */
export function ratesBetween(prev: Health, next: Health): Rates | undefined {
  const dt = next.uptimeSec - prev.uptimeSec;
  if (!(dt > 0)) return undefined;
  // A counter going down means another process answered (several behind one address): show 0.
  const rate = (f: keyof Rates): number => Math.max(0, next[f] - prev[f]) / dt;
  return { messagesIn: rate('messagesIn'), publications: rate('publications'), messagesOut: rate('messagesOut') };
}
