/**
 * The one logger. Structured JSON (pino) for machines; pino-pretty only when asked for, or in
 * `auto` mode when stdout is a terminal. Pass it down; make children with connection or room
 * fields. Hot paths check `isLevelEnabled` before building an entry.
 */
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Creates the process logger from the config. */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, destination?: pino.DestinationStream): Logger {
  // isTTY is undefined, not the false its type says, when stdout is a pipe or a file.
  const stdoutIsTTY = (process.stdout as { isTTY?: boolean }).isTTY === true;
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && stdoutIsTTY);
  const options: pino.LoggerOptions = { level: config.logLevel, base: { pid: process.pid }, name: 'roomcast' };
  if (destination) return pino(options, destination);
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: stdoutIsTTY, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(options);
}
