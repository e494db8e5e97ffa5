/**
 * Scenario: one room whose members are half protobuf, half JSON: each publish is encoded once
 * per encoding and published on two topics. roomcast only (the peers have no second encoding).
 *
 * Runs alone: `node --import tsx bench/scenarios/mixed.ts --sockets 1000`.
 */
import type { Scenario } from '../types.js';
import { isMain, runAlone } from './alone.js';
import { size } from './fanout.js';

/** One room of `sockets` members, every other one taking JSON. */
export function mixed(sockets: number, deliveriesPerSec: number, payloadBytes: number): Scenario {
  return {
    id: `mixed-${size(sockets)}`,
    kind: 'mixed',
    title: `one room of ${sockets} members, half protobuf, half JSON`,
    rooms: 1,
    membersPerRoom: sockets,
    jsonShare: 0.5,
    rate: Math.max(1, Math.round(deliveriesPerSec / sockets)),
    burst: 1,
    payloadBytes,
  };
}

if (isMain(import.meta.url)) runAlone('mixed');
