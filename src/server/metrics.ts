/**
 * GET /metrics in the Prometheus text format (prom-client). Every counter, and the fan-out
 * histogram, is a plain number in Stats read at scrape time, so hot paths pay nothing for them.
 */
import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';
import type { TemplatedApp } from 'uWebSockets.js';
import { errorCodeName } from '../protocol/errors.js';
import { RecoveryResult } from '../protocol/types.js';
import type { ServerContext } from './context.js';
import { handler } from './http-handler.js';
import { FANOUT_BUCKETS, type Stats } from './stats.js';

/** A counter whose value is read from Stats at scrape time. */
function counterFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A labelled counter read from a record of Stats at scrape time. */
function labelledCounterFrom(registry: Registry, name: string, help: string, label: string, read: () => Record<string, number>): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of Object.entries(read())) this.inc({ [label]: value }, n);
    },
  });
}

/**
 * The fan-out histogram, read from the bucket counts in Stats at scrape time (prom-client's own
 * Histogram would cost an observe() with label hashing on every publish).
 */
function fanoutHistogram(s: Stats): Metric {
  const name = 'roomcast_fanout_recipients';
  const help = 'Local recipients per published event.';
  const get = () => {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    let cumulative = 0;
    FANOUT_BUCKETS.forEach((le, i) => {
      cumulative += s.fanoutCounts[i] ?? 0;
      values.push({ metricName: `${name}_bucket`, labels: { le }, value: cumulative });
    });
    cumulative += s.fanoutCounts[FANOUT_BUCKETS.length] ?? 0;
    values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
    values.push({ metricName: `${name}_sum`, labels: {}, value: s.fanoutSum });
    values.push({ metricName: `${name}_count`, labels: {}, value: cumulative });
    return Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values });
  };
  // The registry only calls name, help and get() (at scrape time), but prom-client types a Metric
  // as the union of its own classes, which a plain object cannot be without this cast.
  return { name, help, get, reset: () => {} } as unknown as Metric;
}

/** Builds the registry for one server. */
export function createMetrics(ctx: ServerContext): Registry {
  const r = new Registry();
  const s: Stats = ctx.stats;
  collectDefaultMetrics({ register: r });
  new Gauge({
    name: 'roomcast_connections',
    help: 'Open WebSocket connections.',
    registers: [r],
    collect() {
      this.set(ctx.conns.size);
    },
  });
  new Gauge({
    name: 'roomcast_rooms',
    help: 'Rooms with members on this process.',
    registers: [r],
    collect() {
      this.set(ctx.rooms.size);
    },
  });
  counterFrom(r, 'roomcast_connections_opened_total', 'Connections accepted.', () => s.connectionsOpened);
  counterFrom(r, 'roomcast_messages_in_total', 'Frames received from clients.', () => s.framesIn);
  counterFrom(r, 'roomcast_bytes_in_total', 'Bytes of frames received from clients.', () => s.bytesIn);
  counterFrom(r, 'roomcast_publications_total', 'Events fanned out to local members.', () => s.publications);
  counterFrom(r, 'roomcast_messages_out_total', 'Event messages handed to sockets (one per member per event).', () => s.deliveries);
  counterFrom(r, 'roomcast_bytes_out_total', 'Bytes of event messages handed to sockets.', () => s.bytesOut);
  counterFrom(r, 'roomcast_presence_events_total', 'Join/leave events fanned out.', () => s.presenceEvents);
  counterFrom(r, 'roomcast_rate_limited_total', 'Frames refused by the per-connection rate limit.', () => s.rateLimited);
  counterFrom(
    r,
    'roomcast_slow_consumer_episodes_total',
    'Times a connection was over maxBackpressure under the drop policy (uWS skipped messages for it).',
    () => s.slowConsumerEpisodes,
  );
  labelledCounterFrom(r, 'roomcast_errors_total', 'Error replies, by code.', 'code', () =>
    Object.fromEntries(s.errors.flatMap((n, code) => (n > 0 ? [[errorCodeName(code), n]] : []))),
  );
  labelledCounterFrom(
    r,
    'roomcast_closed_total',
    'Connections the server closed or refused, by reason (slow_consumer counts slow-consumer closes).',
    'reason',
    () => s.closed,
  );
  labelledCounterFrom(
    r,
    'roomcast_disconnects_total',
    'Accepted connections that ended, by WebSocket close code (1006: no close frame, e.g. network loss, idle timeout).',
    'code',
    () => s.disconnects,
  );
  labelledCounterFrom(
    r,
    'roomcast_http_closed_total',
    'HTTP connections not kept alive after the reply: unread_body (answered before the body ended, e.g. 413: no longer read, Connection: close), bad_framing (two different Content-Lengths, 400, closed at once).',
    'reason',
    () => s.httpClosed,
  );
  labelledCounterFrom(
    r,
    'roomcast_cutoffs_total',
    'Connections uWS ended itself with no close frame (clients see 1006), by cause: invalid_utf8, frame_too_big, idle_timeout, bad_frame, lost (no reason: network loss or the full backpressure limit).',
    'cause',
    () => s.cutoffs,
  );
  labelledCounterFrom(r, 'roomcast_auth_failures_total', 'Failed authentications, by reason.', 'reason', () => s.authFailures);
  counterFrom(r, 'roomcast_stream_resets_total', 'StreamReset notices fanned out (a room stream changed epoch under its members).', () => s.streamResets);
  counterFrom(r, 'roomcast_replayed_events_total', 'Events replayed to connections that joined with since.', () => s.replayedEvents);
  labelledCounterFrom(r, 'roomcast_recoveries_total', 'Joins with since, by result (recovered, epoch_changed, too_old).', 'result', () => ({
    recovered: s.recoveries[RecoveryResult.RECOVERY_RESULT_RECOVERED] ?? 0,
    epoch_changed: s.recoveries[RecoveryResult.RECOVERY_RESULT_EPOCH_CHANGED] ?? 0,
    too_old: s.recoveries[RecoveryResult.RECOVERY_RESULT_TOO_OLD] ?? 0,
  }));
  const broker = ctx.broker;
  if (broker.usage !== undefined) {
    const usage = broker.usage.bind(broker);
    new Gauge({
      name: 'roomcast_history_bytes',
      help: 'Bytes held by the in-process broker for room streams and their history.',
      registers: [r],
      collect() {
        this.set(usage().bytes);
      },
    });
    new Gauge({
      name: 'roomcast_history_streams',
      help: 'Room streams held by the in-process broker (rooms with members or history).',
      registers: [r],
      collect() {
        this.set(usage().streams);
      },
    });
  }
  r.registerMetric(fanoutHistogram(s));
  return r;
}

/** Registers GET /metrics (same credentials as /api). */
export function registerMetricsRoute(ctx: ServerContext, app: TemplatedApp, registry: Registry): void {
  app.get(
    '/metrics',
    handler(ctx, {}, async () => ({ text: await registry.metrics(), contentType: registry.contentType })),
  );
}
