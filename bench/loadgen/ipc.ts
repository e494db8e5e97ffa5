/**
 * Messages between the bench runner and its load-generator processes (over the `fork` IPC
 * channel). Plain JSON: histograms travel as HdrHistogram's compressed base64 form.
 */
import type { PeerName, PhaseLatency, StormCounts } from '../types.js';
import type { MemberEncoding } from './dialect.js';

/** Where the server under test listens and how to speak to it. */
export interface ServerAddress {
  host: string;
  port: number;
  peer: PeerName;
}

/** Runner -> receiver: open these member sockets. */
export interface ConnectMembers {
  type: 'connect';
  server: ServerAddress;
  /** Room index and encoding of each socket. */
  members: Array<{ room: number; encoding: MemberEncoding }>;
  /** Source addresses to spread sockets over (127.0.0.x). */
  localAddresses: string[];
  /** Handshakes in flight at once. */
  concurrency: number;
}

/** Runner -> receiver: which publish indices to record, in windows of equal size. */
export interface MeasurePlan {
  type: 'measure';
  /** First measured publish index (the ones before are warm-up). */
  from: number;
  /** Publishes per window. */
  perWindow: number;
  windows: number;
}

/** Runner -> publisher: open one member socket per room. */
export interface ConnectPublisher {
  type: 'connect';
  server: ServerAddress;
  rooms: number;
  localAddress: string;
}

/** Runner -> publisher: publish on a fixed schedule (open loop). */
export interface PublishPlan {
  type: 'publish';
  /** CLOCK_MONOTONIC ns (decimal string: a bigint) of the first publish. */
  startNs: string;
  /** Publishes per second, over all rooms. */
  rate: number;
  /** Publishes in all. */
  total: number;
  /** Publishes sent together, in one write, with one intended time. 1 = no bursts. */
  burst: number;
  payloadBytes: number;
}

/** Runner -> storm member process (./storm.ts): open these members of the one room. */
export interface StormConnect {
  type: 'storm-connect';
  /** The roomcast processes; member i connects to servers[i % length]. */
  servers: ServerAddress[];
  room: string;
  /** Global indices of this process's members. */
  members: number[];
  localAddresses: string[];
  concurrency: number;
}

/** Runner -> storm process: the steps of a storm (see ./storm.ts). */
export type StormCommand =
  | StormConnect
  /** Members: drop every socket at once, then reconnect and rejoin with `since`; `shift` moves member i to servers[(i + shift) % length]. */
  | { type: 'storm-drop'; shift: number }
  /** Members: answer `storm-caught` once every socket has seen `seq`. */
  | { type: 'storm-target'; seq: number }
  /** Members: wait (at most waitMs) until every socket has seen `seq`, then report. */
  | { type: 'storm-final'; seq: number; waitMs: number }
  /** Publisher: open one member socket of `room`. */
  | { type: 'storm-publisher'; server: ServerAddress; room: string; localAddress: string }
  /** Publisher: publish steadily from now on. */
  | { type: 'storm-publish'; rate: number; payloadBytes: number }
  /** Publisher: the highest seq acknowledged so far. */
  | { type: 'storm-seq' }
  /** Publisher: stop, wait for the replies in flight, report latencies split at the storm's start and end. */
  | { type: 'storm-stop'; stormStartNs: number; stormEndNs: number };

/** Runner -> any load generator. */
export type ToLoadgen =
  ConnectMembers | MeasurePlan | ConnectPublisher | PublishPlan | StormCommand | { type: 'count' } | { type: 'report' } | { type: 'close' };

/** Receiver's account of one measured window. */
export interface WindowReport {
  /** Deliveries of this window's publishes. */
  received: number;
  /** Delivery latency, µs (HdrHistogram, compressed base64). */
  histogram: string;
  /** Per publish of the window: deliveries seen by this receiver. */
  counts: number[];
  /** Per publish of the window: the latest arrival's latency, µs (0 if none). */
  lastUs: number[];
  /** CLOCK_MONOTONIC ns of the last arrival of any of this window's publishes (0 if none). */
  lastArrivalNs: number;
}

/** Receiver -> runner. */
export type FromReceiver =
  | { type: 'progress'; connected: number }
  | { type: 'connected'; connected: number; failed: number; firstError: string | undefined }
  | { type: 'count'; received: number }
  | {
      type: 'report';
      windows: WindowReport[];
      /** Events of warm-up publishes, and of publishes past the last window. */
      unmeasured: number;
      /** Sockets closed before the end, by close code. */
      closes: Record<string, number>;
      /** Error frames the server sent (refused commands). */
      errors: number;
      /** The first frame this receiver could not read, if any (its socket was dropped). */
      firstReadError: string | undefined;
    }
  | { type: 'fatal'; message: string };

/** Publisher -> runner. */
export type FromPublisher =
  | { type: 'connected' }
  | { type: 'progress'; sent: number }
  | {
      type: 'done';
      sent: number;
      /** How late each publish left against its intended time, µs (compressed base64). */
      lateness: string;
      /** Error replies from the server (e.g. a rate limit refusing publishes). */
      errors: number;
      /** Publisher sockets closed by the server before the end, by close code. */
      closes: Record<string, number>;
    }
  | { type: 'fatal'; message: string };

/** Storm member or publisher process -> runner. */
export type FromStorm =
  | { type: 'progress'; connected: number }
  | { type: 'storm-connected'; connected: number; failed: number; firstError: string | undefined }
  | {
      type: 'storm-rejoined';
      /** CLOCK_MONOTONIC ns of this process's last JoinReply. */
      lastNs: number;
      rejoined: number;
      failed: number;
      firstError: string | undefined;
    }
  | { type: 'storm-caught'; atNs: number }
  | (StormCounts & {
      type: 'storm-report';
      sockets: number;
      /** Sockets whose last seq reached the final one. */
      complete: number;
      firstError: string | undefined;
    })
  | { type: 'storm-seq'; seq: number }
  | { type: 'storm-stopped'; seq: number; sent: number; before: PhaseLatency; during: PhaseLatency; after: PhaseLatency; errors: number; unanswered: number }
  | { type: 'fatal'; message: string };
