/**
 * The runner's handle on one load-generator process (a receiver or the publisher): start it,
 * send it commands, wait for a given answer with a deadline, stop it. A Node load generator is
 * forked and talks over the IPC channel; the C receiver is spawned and talks in lines over its
 * stdin and stdout (./native-receiver.ts), which also tie its life to the runner's.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FromPublisher, FromReceiver, FromStorm, ToLoadgen } from '../loadgen/ipc.js';
import { fromNative, nativeCommand } from './native-receiver.js';

type Message = FromReceiver | FromPublisher | FromStorm;
interface Waiter<M> {
  type: string;
  resolve: (m: M) => void;
  reject: (e: Error) => void;
}

/** A forked load generator; `M` is what it sends back. */
export class LoadgenProcess<M extends Message> {
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly waiters: Array<Waiter<M>> = [];
  private readonly exited: Promise<number | null>;
  private failure: Error | undefined;
  private stderr = '';
  /** Called with every `progress` message. */
  onProgress: ((m: Extract<M, { type: 'progress' }>) => void) | undefined;

  /** Whether it is the C receiver (spawned, line protocol) rather than a forked Node process. */
  private readonly native: boolean;

  /** Starts the Node `kind` process, or the C receiver at `nativeBinary`. */
  constructor(kind: 'receiver' | 'publisher' | 'storm', name: string, nativeBinary?: string) {
    this.native = nativeBinary !== undefined;
    if (nativeBinary !== undefined) {
      const child = spawn(nativeBinary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
      this.child = child;
      // A write after the program exited fails with EPIPE; the exit handler below reports it.
      child.stdin.on('error', () => {});
      createInterface({ input: child.stdout }).on('line', (line) => {
        let m: M;
        try {
          m = fromNative(line) as M;
        } catch (err) {
          this.fail(new Error(`${name}: unreadable answer ${JSON.stringify(line.slice(0, 200))}: ${(err as Error).message}`));
          return;
        }
        this.receive(name, m);
      });
    } else {
      const entry = fileURLToPath(new URL(`../loadgen/${kind}.ts`, import.meta.url));
      this.child = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
      this.child.on('message', (m: M) => this.receive(name, m));
    }
    this.pid = this.child.pid as number;
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4096);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.fail(new Error(`${name} exited (${String(code ?? signal)}) unexpectedly${this.stderr ? `:\n${this.stderr}` : ''}`));
        resolve(code);
      });
    });
  }

  private receive(name: string, m: M): void {
    if (m.type === 'progress') {
      this.onProgress?.(m as Extract<M, { type: 'progress' }>);
      return;
    }
    if (m.type === 'fatal') {
      this.fail(new Error(`${name} failed: ${m.message}`));
      return;
    }
    const i = this.waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(m);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** Sends a command. */
  send(m: ToLoadgen): void {
    if (!this.native) {
      if (this.child.connected) this.child.send(m);
      return;
    }
    const lines = nativeCommand(m);
    if (lines !== undefined && this.child.stdin?.writable === true) this.child.stdin.write(lines);
  }

  /** Resolves with the next message of `type`; rejects after `ms` or if the process fails. */
  next<T extends M['type']>(type: T, ms: number): Promise<Extract<M, { type: T }>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no "${type}" from load generator ${this.pid} within ${ms} ms`));
      }, ms);
      const waiter: Waiter<M> = {
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<M, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends `message` and waits for the answer of `type`. */
  ask<T extends M['type']>(message: ToLoadgen, type: T, ms: number): Promise<Extract<M, { type: T }>> {
    const answer = this.next(type, ms);
    this.send(message);
    return answer;
  }

  /** Asks it to close its sockets and exit; kills it if it does not within 5 s. */
  async stop(): Promise<void> {
    this.failure ??= new Error('stopped');
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.send({ type: 'close' });
    if (this.native) this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
