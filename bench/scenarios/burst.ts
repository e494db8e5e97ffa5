/**
 * Scenario: bursts. The publisher writes `burst` publishes at once, so the server reads them in
 * one event-loop iteration and every member gets them together (uWS corks them into one write
 * per socket; a JavaScript loop over members may not).
 *
 * Runs alone: `node --import tsx bench/scenarios/burst.ts --sockets 1000 --burst 20`.
 */
import type { Scenario } from '../types.js';
import { isMain, runAlone } from './alone.js';
import { size } from './fanout.js';

/** One room of `sockets` members, publishes in bursts of `burst`. */
export function burst(sockets: number, burstSize: number, deliveriesPerSec: number, payloadBytes: number): Scenario {
  const rate = Math.max(burstSize, Math.round(deliveriesPerSec / sockets / burstSize) * burstSize);
  return {
    id: `burst-${size(sockets)}x${burstSize}`,
    kind: 'burst',
    title: `one room of ${sockets} members, ${burstSize} publishes per write`,
    rooms: 1,
    membersPerRoom: sockets,
    jsonShare: 0,
    rate,
    burst: burstSize,
    payloadBytes,
  };
}

if (isMain(import.meta.url)) runAlone('burst');
