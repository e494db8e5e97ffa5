/**
 * What every load-generator process shares: talking to the runner over IPC, and stopping by
 * itself when the runner goes away or the process outlives its budget.
 */
import type { ToLoadgen } from './ipc.js';

/** A load generator never lives longer than this, whatever happens to the runner. */
const MAX_LIFETIME_MS = Number(process.env.BENCH_LOADGEN_MAX_MS ?? 30 * 60_000);

/** Sends a message to the runner (dropped if the channel is gone). */
export function tell(message: object): void {
  if (process.connected) process.send?.(message);
}

/** Wires the process to the runner: `handle` gets each message; failures become `fatal`. */
export function serve(handle: (m: ToLoadgen) => void | Promise<void>): void {
  if (process.send === undefined) {
    process.stderr.write('this is a load-generator process: the bench runner starts it (npm run bench)\n');
    process.exit(2);
  }
  setTimeout(() => {
    process.stderr.write(`load generator ${process.pid}: lifetime of ${MAX_LIFETIME_MS} ms over, exiting\n`);
    process.exit(3);
  }, MAX_LIFETIME_MS).unref();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToLoadgen) => {
    Promise.resolve()
      .then(() => handle(m))
      .catch((err: unknown) => tell({ type: 'fatal', message: (err as Error).stack ?? String(err) }));
  });
}

/** Runs `work` on each item with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
