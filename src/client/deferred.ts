/**
 * A promise with its settle functions outside it.
 */

/** Settles once: the promise behind `connect()` and `close()`. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // connect() may never be awaited (a client that only listens to events): no unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
