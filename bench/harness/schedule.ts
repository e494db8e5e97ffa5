/**
 * The publish schedule of a case, shared by the runner's bookkeeping: how many publishes the
 * warm-up and each window hold, when each publish is due, and how many deliveries each should
 * make (publish i goes to room i mod rooms). The publisher process follows the same arithmetic
 * (../loadgen/publisher.ts).
 */
import type { Scenario, Timing } from '../types.js';

/** Publishes of a phase, rounded up to whole bursts so windows start on a burst. */
function publishesFor(seconds: number, s: Scenario): number {
  return Math.max(s.burst, Math.ceil((seconds * s.rate) / s.burst) * s.burst);
}

/** When and where every publish of a case goes. */
export class Schedule {
  /** Publishes before the first measured one. */
  readonly warmup: number;
  readonly perWindow: number;
  readonly windows: number;
  /** Publishes in all. */
  readonly total: number;
  /** CLOCK_MONOTONIC ns of publish 0. */
  readonly startNs: bigint;
  private readonly scenario: Scenario;

  constructor(scenario: Scenario, timing: Timing, startNs: bigint) {
    this.scenario = scenario;
    this.warmup = publishesFor(timing.warmupSec, scenario);
    this.perWindow = publishesFor(timing.windowSec, scenario);
    this.windows = timing.windows;
    this.total = this.warmup + this.perWindow * this.windows;
    this.startNs = startNs;
  }

  /** The intended send time of publish `index`, ns (the publisher stamps the same). */
  dueNs(index: number): number {
    const s = this.scenario;
    return Number(this.startNs) + Math.round(Math.floor(index / s.burst) * ((s.burst * 1e9) / s.rate));
  }

  /** The first publish of window `w`. */
  windowStart(w: number): number {
    return this.warmup + w * this.perWindow;
  }

  /** Publishes per second, over all rooms. */
  get rate(): number {
    return this.scenario.rate;
  }

  /** Deliveries every publish should make: the members of its room (all rooms are one size). */
  get roomSize(): number {
    return this.scenario.membersPerRoom;
  }

  /** Deliveries of every measured publish. */
  expectedMeasured(): number {
    return (this.total - this.warmup) * this.roomSize;
  }

  /** Deliveries of one window's publishes. */
  expectedInWindow(): number {
    return this.perWindow * this.roomSize;
  }
}
