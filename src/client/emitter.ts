/**
 * A small typed event emitter that works the same in browsers and Node (Node's EventEmitter is
 * not in browsers, and EventTarget's untyped events would lose the payload types).
 */

/** Listener of event `K` of event map `E`. */
export type Listener<E, K extends keyof E> = (value: E[K]) => void;

/** Emits the events of map `E` (event name -> payload type). */
export class Emitter<E> {
  private readonly listeners = new Map<keyof E, Set<Listener<E, keyof E>>>();

  /** Calls `listener` on every `name` event; returns a function that removes it. */
  on<K extends keyof E>(name: K, listener: Listener<E, K>): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) this.listeners.set(name, (set = new Set()));
    set.add(listener as Listener<E, keyof E>);
    return () => this.off(name, listener);
  }

  /** Calls `listener` on the next `name` event only. */
  once<K extends keyof E>(name: K, listener: Listener<E, K>): () => void {
    const off = this.on(name, (value) => {
      off();
      listener(value);
    });
    return off;
  }

  /** Removes a listener added with {@link on}. */
  off<K extends keyof E>(name: K, listener: Listener<E, K>): void {
    this.listeners.get(name)?.delete(listener as Listener<E, keyof E>);
  }

  /**
   * Calls every listener of `name`. A listener that throws does not stop the others nor the
   * client: its error is rethrown on its own, as browsers do with event listeners (in Node it
   * reaches `uncaughtException`, as an EventEmitter listener's error would).
   */
  protected emit<K extends keyof E>(name: K, value: E[K]): void {
    const set = this.listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        listener(value);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
