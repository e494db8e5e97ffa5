/**
 * The runner's side of the C receiver (../native/receiver.c): the same commands and answers as
 * the Node receiver's IPC (../loadgen/ipc.ts), carried as text lines over the C program's stdin
 * and stdout. Commands become lines here; answers come back as JSON lines, and a window's
 * latencies, [µs, count] pairs in the C program, become the HdrHistogram the rest of the runner
 * reads, so nothing past this file knows which receiver ran.
 */
import * as hdr from 'hdr-histogram-js';
import { roomName } from '../loadgen/dialect.js';
import { DIALECTS } from '../loadgen/dialects.js';
import type { FromReceiver, ToLoadgen, WindowReport } from '../loadgen/ipc.js';
import { latencyHistogram } from '../loadgen/recorder.js';

/** The lines that carry a command to the C receiver; undefined for one it does not take. */
export function nativeCommand(m: ToLoadgen): string | undefined {
  switch (m.type) {
    case 'connect': {
      if (!('members' in m)) return undefined;
      const dialect = DIALECTS[m.server.peer];
      const lines = [`connect ${m.server.host} ${m.server.port} ${dialect.nativeName} ${m.concurrency} ${m.localAddresses.join(',')} ${m.members.length}`];
      for (const member of m.members) {
        const { path, protocol } = dialect.member(roomName(member.room), member.encoding);
        if (/\s/.test(path) || (protocol !== undefined && /\s/.test(protocol)))
          throw new Error(`a member path or subprotocol with a space: ${path} ${String(protocol)}`);
        lines.push(`${path} ${protocol ?? '-'}`);
      }
      return `${lines.join('\n')}\n`;
    }
    case 'measure':
      return `measure ${m.from} ${m.perWindow} ${m.windows}\n`;
    case 'count':
    case 'report':
    case 'close':
      return `${m.type}\n`;
    default:
      return undefined;
  }
}

/** A window as the C receiver reports it. */
interface NativeWindow extends Omit<WindowReport, 'histogram'> {
  latency: Array<[number, number]>;
}

/** One answer line of the C receiver as the runner's message. */
export function fromNative(line: string): FromReceiver {
  const m = JSON.parse(line) as FromReceiver | (Omit<Extract<FromReceiver, { type: 'report' }>, 'windows'> & { windows: NativeWindow[] });
  if (m.type !== 'report') return m;
  const windows = (m.windows as NativeWindow[]).map(({ latency, ...rest }): WindowReport => {
    const h = latencyHistogram();
    for (const [us, n] of latency) h.recordValueWithCount(us, n);
    return { ...rest, histogram: hdr.encodeIntoCompressedBase64(h) };
  });
  return { ...m, windows, firstReadError: m.firstReadError ?? undefined };
}
