/**
 * Scenario: many rooms of a few members each (e.g. 100 rooms of 100), one publisher socket per
 * room, publishes spread round-robin over the rooms. The per-publish overhead (room lookup,
 * encoding, one native publish) weighs more here than in one big room.
 *
 * Runs alone: `node --import tsx bench/scenarios/rooms.ts --rooms 100x100`.
 */
import type { Scenario } from '../types.js';
import { isMain, runAlone } from './alone.js';

/** `rooms` rooms of `members` members each. */
export function manyRooms(rooms: number, members: number, deliveriesPerSec: number, payloadBytes: number): Scenario {
  return {
    id: `rooms-${rooms}x${members}`,
    kind: 'rooms',
    title: `${rooms} rooms of ${members} members`,
    rooms,
    membersPerRoom: members,
    jsonShare: 0,
    rate: Math.max(1, Math.round(deliveriesPerSec / members)),
    burst: 1,
    payloadBytes,
  };
}

if (isMain(import.meta.url)) runAlone('rooms');
