/**
 * Scenario: one room with N members, one publisher. The headline case: every publish is one
 * native publish to N sockets. Publish rate = target deliveries per second / N, so every size
 * asks the server for the same work per second.
 *
 * Runs alone: `node --import tsx bench/scenarios/fanout.ts --sockets 1000 --peer roomcast,uws`.
 */
import type { Scenario } from '../types.js';
import { isMain, runAlone } from './alone.js';

/** The fan-out scenario for `sockets` members. */
export function fanout(sockets: number, deliveriesPerSec: number, payloadBytes: number): Scenario {
  return {
    id: `fanout-${size(sockets)}`,
    kind: 'fanout',
    title: `one room of ${sockets} members`,
    rooms: 1,
    membersPerRoom: sockets,
    jsonShare: 0,
    rate: Math.max(1, Math.round(deliveriesPerSec / sockets)),
    burst: 1,
    payloadBytes,
  };
}

/** 1000 -> "1k", 19000 -> "19k", 1500 -> "1500". */
export function size(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

if (isMain(import.meta.url)) runAlone('fanout');
