/**
 * Real redis-server processes on free ports, for the tests, the benches (recovery storm, broker
 * bench) and the chaos script: one server (optionally with persistence, restartable on its port,
 * killable with -9) or a local Redis Cluster. Every wait has a deadline.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createTcpServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A real redis-server on a free port, for the tests that need one. */
export interface TestRedis {
  url: string;
  port: number;
  /** The redis-server process id (for CPU readings in benches). */
  pid: number;
  stop(): Promise<void>;
  /** kill -9: no shutdown save, no goodbye to clients. */
  kill(): Promise<void>;
}

/** Where and how to start redis-server. */
export interface RedisOptions {
  /** Reuse a port (a restart); default a free one. */
  port?: number;
  /** Extra arguments, e.g. ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]. */
  args?: string[];
}

/** Starts redis-server (no persistence unless `args` ask for it) and waits until it answers. */
export async function startRedis(options: RedisOptions = {}): Promise<TestRedis> {
  const port = options.port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(options.args ?? [])], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A missing binary fails at once rather than after the deadline.
  const failed = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`redis-server: ${err.message}`))));
  failed.catch(() => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await Promise.race([
      failed,
      new Promise<boolean>((resolve) => {
        const sock = connect(port, '127.0.0.1', () => {
          sock.end();
          resolve(true);
        });
        sock.on('error', () => resolve(false));
      }),
    ]);
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await sleep(50);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A local Redis Cluster of real redis-server processes (see startRedisCluster). */
export interface TestCluster {
  /** Every node, masters first as created (0..masters-1), then replicas. */
  nodes: TestRedis[];
  /** Seed list for `redisNodes`. */
  seeds: string[];
  /** The port of the node that serves `slot` now (asks a live node). */
  ownerOf(slot: number): Promise<number>;
  /** The hash slot of `key` (CLUSTER KEYSLOT). */
  keyslot(key: string): Promise<number>;
  /** Resolves once `slot` is served by a master other than `port` and the cluster is ok. */
  failedOver(slot: number, port: number, ms?: number): Promise<number>;
  stop(): Promise<void>;
}

/** Runs redis-cli against one node and returns its output (throws on failure). */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Starts `masters` masters with `replicas` replicas each (real redis-server processes in cluster
 * mode, cluster bus on its own free port, a short cluster-node-timeout) and waits until every
 * node says cluster_state:ok.
 */
export async function startRedisCluster(options: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {}): Promise<TestCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-cluster-'));
  const nodes: TestRedis[] = [];
  const down = new Set<number>();
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freePort();
      const bus = await freePort();
      const node = await startRedis({
        port,
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(bus),
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          String(options.nodeTimeoutMs ?? 1000),
          '--dir',
          dir,
          '--logfile',
          join(dir, `${port}.log`),
          '--repl-diskless-sync-delay',
          '0',
        ],
      });
      nodes.push({
        ...node,
        kill: async () => {
          down.add(port);
          await node.kill();
        },
      });
    }
    await new Promise<void>((resolve, reject) => {
      execFile(
        'redis-cli',
        ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
        { encoding: 'utf8', timeout: 30_000 },
        (err, stdout) => (err ? reject(new Error(`redis-cli --cluster create failed: ${err.message}\n${stdout}`)) : resolve()),
      );
    });
    const deadline = Date.now() + 20_000;
    for (const n of nodes) {
      while (!(await redisCli(n.port, 'cluster', 'info')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`cluster node ${n.port} did not reach cluster_state:ok`);
        await sleep(100);
      }
    }
    // A replica can only take over once it has synced with its master.
    for (const n of nodes) {
      for (;;) {
        const info = await redisCli(n.port, 'info', 'replication');
        if (info.includes('role:master') || info.includes('master_link_status:up')) break;
        if (Date.now() > deadline) throw new Error(`cluster replica ${n.port} did not sync with its master`);
        await sleep(100);
      }
    }
  } catch (err) {
    for (const n of nodes) await n.kill();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const live = (): TestRedis => {
    const n = nodes.find((x) => !down.has(x.port));
    if (n === undefined) throw new Error('no cluster node left');
    return n;
  };
  const ownerOf = async (slot: number): Promise<number> => {
    // CLUSTER NODES: <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slots...>
    const text = await redisCli(live().port, 'cluster', 'nodes');
    for (const line of text.split('\n')) {
      const f = line.trim().split(' ');
      if (f.length < 9 || !(f[2] ?? '').includes('master') || (f[2] ?? '').includes('fail')) continue;
      for (const range of f.slice(8)) {
        const [lo, hi] = range.split('-').map(Number);
        if (lo !== undefined && slot >= lo && slot <= (hi ?? lo)) return Number((f[1] ?? '').split('@')[0]?.split(':')[1]);
      }
    }
    return 0;
  };
  return {
    nodes,
    seeds: nodes.slice(0, 3).map((n) => `127.0.0.1:${n.port}`),
    ownerOf,
    keyslot: async (key) => Number((await redisCli(live().port, 'cluster', 'keyslot', key)).trim()),
    failedOver: async (slot, port, ms = 20_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const owner = await ownerOf(slot).catch(() => 0);
        if (owner !== 0 && owner !== port && (await redisCli(owner, 'cluster', 'info')).includes('cluster_state:ok')) return owner;
        if (Date.now() > deadline) throw new Error(`slot ${slot} was not failed over within ${ms} ms`);
        await sleep(50);
      }
    },
    stop: async () => {
      for (const n of nodes) {
        if (!down.has(n.port)) await n.kill();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
