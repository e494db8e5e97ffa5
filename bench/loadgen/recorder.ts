/**
 * What a receiver process records per delivery: its latency in an HDR histogram per measured
 * window, and per publish how many deliveries came and the latest one's latency (the runner
 * adds these up over receivers to get each publish's fan-out completion time and reach).
 * The hot path of the load generator: no allocation per delivery.
 */
import * as hdr from 'hdr-histogram-js';
import type { MeasurePlan, WindowReport } from './ipc.js';
import type { Stamp } from './payload.js';

/** Latencies are recorded in µs, from 1 µs to 10 minutes, to 3 significant digits. */
export function latencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records the deliveries of one receiver process. */
export class DeliveryRecorder {
  private readonly from: number;
  private readonly perWindow: number;
  private readonly end: number;
  private readonly histograms: hdr.Histogram[];
  private readonly received: Uint32Array;
  private readonly counts: Uint32Array;
  private readonly lastUs: Float64Array;
  private readonly lastArrivalNs: Float64Array;
  /** Deliveries outside the measured windows (warm-up, or past the end). */
  unmeasured = 0;
  /** Deliveries inside the measured windows. */
  measured = 0;

  constructor(plan: Pick<MeasurePlan, 'from' | 'perWindow' | 'windows'>) {
    this.from = plan.from;
    this.perWindow = plan.perWindow;
    this.end = plan.from + plan.perWindow * plan.windows;
    this.histograms = Array.from({ length: plan.windows }, latencyHistogram);
    this.received = new Uint32Array(plan.windows);
    this.counts = new Uint32Array(plan.perWindow * plan.windows);
    this.lastUs = new Float64Array(plan.perWindow * plan.windows);
    this.lastArrivalNs = new Float64Array(plan.windows);
  }

  /** One delivery of the publish stamped `stamp`, read from a chunk that arrived at `arrivalNs`. */
  record(stamp: Stamp, arrivalNs: number): void {
    const i = stamp.index;
    if (i < this.from || i >= this.end) {
      this.unmeasured += 1;
      return;
    }
    const k = i - this.from;
    const w = Math.floor(k / this.perWindow);
    // A clock read before the stamp is impossible on one host; clamp rounding to the floor.
    const us = Math.max(1, Math.round((arrivalNs - stamp.timeNs) / 1000));
    (this.histograms[w] as hdr.Histogram).recordValue(us);
    this.received[w] = (this.received[w] as number) + 1;
    this.counts[k] = (this.counts[k] as number) + 1;
    if (us > (this.lastUs[k] as number)) this.lastUs[k] = us;
    if (arrivalNs > (this.lastArrivalNs[w] as number)) this.lastArrivalNs[w] = arrivalNs;
    this.measured += 1;
  }

  /** The windows, for the runner. */
  report(): WindowReport[] {
    return this.histograms.map((h, w) => {
      const a = w * this.perWindow;
      const b = a + this.perWindow;
      return {
        received: this.received[w] as number,
        histogram: hdr.encodeIntoCompressedBase64(h),
        counts: Array.from(this.counts.subarray(a, b)),
        lastUs: Array.from(this.lastUs.subarray(a, b)),
        lastArrivalNs: this.lastArrivalNs[w] as number,
      };
    });
  }
}
