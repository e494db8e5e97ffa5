/** The server's clock for event times. */

/** Now, in microseconds since the Unix epoch (sub-millisecond from the monotonic clock). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
