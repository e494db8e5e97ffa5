/**
 * Opening and closing Redis connections for the Redis broker and presence store, and a URL
 * safe to log.
 */
import { Redis } from 'ioredis';

/** A Redis URL fit for logs and error messages: any password replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable Redis URL)';
  }
}

/** Opens a Redis connection and waits until it is ready (or fails with a clear message). */
export async function connectRedis(url: string, name: string, timeoutMs: number, options: { offlineQueue: boolean }): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    enableOfflineQueue: options.offlineQueue,
    maxRetriesPerRequest: 1,
    connectTimeout: timeoutMs,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  client.on('error', () => {
    // Reported through failed commands and the reconnect logic; without a listener ioredis
    // would print every connection error.
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return client;
}

/**
 * Closes a connection: QUIT when it is up (pending replies arrive first), otherwise drop it, so
 * that no reconnect timer outlives the server.
 */
export async function closeRedis(client: Redis | undefined): Promise<void> {
  if (client === undefined) return;
  if (client.status === 'ready') {
    const quit = client.quit().catch(() => undefined);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([quit, timeout]);
  }
  client.disconnect();
}
