/**
 * One validated, frozen configuration from four sources, later ones winning:
 * built-in defaults < config file (--config / ROOMCAST_CONFIG, JSON) < ROOMCAST_* environment
 * variables < command-line flags.
 *
 * Every option is one row of {@link OPTIONS}: its key, flag, environment variable, type, default
 * and documentation. The parser, the environment mapping, `--help` and the README's table all
 * come from that one table (a test checks the README against it).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_HISTORY, type HistoryRule, parseHistoryRules } from './broker/history-rules.js';

type Kind = 'int' | 'string' | 'bool' | 'enum' | 'list' | 'history';

/** One configuration option. */
export interface OptionSpec {
  key: keyof Config;
  kind: Kind;
  doc: string;
  values?: readonly string[];
  min?: number;
  max?: number;
  /** A secret: never printed, never logged. */
  secret?: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The configuration, after validation. Each field is documented in {@link OPTIONS}. */
export interface Config {
  host: string;
  port: number;
  defaultEncoding: 'proto' | 'json';
  maxPayloadBytes: number;
  maxFrameBytes: number;
  idleTimeoutSec: number;
  maxBackpressure: number;
  slowConsumer: 'close' | 'drop';
  slowConsumerCheckMs: number;
  maxBadFrames: number;
  tickMs: number;
  apiKey: string;
  page: 'auto' | 'on' | 'off';
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: 'auto' | 'json' | 'pretty';
  allowJsFallback: boolean;
  shutdownGraceMs: number;
  authSecret: string;
  authPublicKeyFile: string;
  authJwksFile: string;
  authIssuer: string;
  authAudience: string;
  anonymous: 'auto' | 'allow' | 'deny';
  authTimeoutMs: number;
  anonymousJoin: string[];
  anonymousPublish: string[];
  userJoin: string[];
  userPublish: string[];
  presenceEvents: string[];
  maxRoomsPerConnection: number;
  rateLimitPerSec: number;
  rateLimitBurst: number;
  maxRateLimited: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  allowedOrigins: string[];
  tlsCert: string;
  tlsKey: string;
  tlsPassphrase: string;
  broker: 'memory' | 'redis';
  redisUrl: string;
  redisPrefix: string;
  history: HistoryRule[];
  historyMaxBytes: number;
}

/** Every option, in the order `--help` and the README list them. */
export const OPTIONS: readonly OptionSpec[] = [
  { key: 'host', kind: 'string', doc: 'Address to listen on (0.0.0.0 for all interfaces).' },
  { key: 'port', kind: 'int', min: 0, max: 65535, doc: 'TCP port; 0 picks a free one.' },
  { key: 'defaultEncoding', kind: 'enum', values: ['proto', 'json'], doc: 'Encoding for clients that ask for no subprotocol.' },
  { key: 'maxPayloadBytes', kind: 'int', min: 1, max: 16 * 1024 * 1024, doc: 'Largest publish/echo payload (text or data bytes).' },
  { key: 'maxFrameBytes', kind: 'int', min: 1024, max: 64 * 1024 * 1024, doc: 'Largest WebSocket message a client may send.' },
  { key: 'idleTimeoutSec', kind: 'int', min: 0, max: 960, doc: 'Close connections silent this long (pings keep live ones open); 0 = never, else 8-960.' },
  { key: 'maxBackpressure', kind: 'int', min: 1024, max: 1024 * 1024 * 1024, doc: 'Bytes queued for one connection before it is a slow consumer.' },
  { key: 'slowConsumer', kind: 'enum', values: ['close', 'drop'], doc: 'Slow consumers are closed (code 4000) or skipped until they catch up.' },
  { key: 'slowConsumerCheckMs', kind: 'int', min: 50, max: 60_000, doc: 'How often to look for connections over maxBackpressure.' },
  { key: 'maxBadFrames', kind: 'int', min: 1, max: 1000, doc: 'Unreadable frames in a row before the connection is closed (4500).' },
  { key: 'tickMs', kind: 'int', min: 0, max: 86_400_000, doc: 'Push the server time into every non-empty room this often; 0 = off.' },
  { key: 'apiKey', kind: 'string', secret: true, doc: 'Key the HTTP API requires (Authorization: Bearer <key>); empty = none.' },
  { key: 'page', kind: 'enum', values: ['auto', 'on', 'off'], doc: 'Serve the built-in browser page at `/`; auto = on unless NODE_ENV=production.' },
  { key: 'logLevel', kind: 'enum', values: LOG_LEVELS, doc: 'Log level.' },
  { key: 'logFormat', kind: 'enum', values: ['auto', 'json', 'pretty'], doc: 'Log format; auto = pretty on a terminal, JSON otherwise.' },
  { key: 'allowJsFallback', kind: 'bool', doc: "Start even if uWebSockets.js' native addon failed to load (debugging only)." },
  { key: 'shutdownGraceMs', kind: 'int', min: 0, max: 600_000, doc: 'On SIGINT/SIGTERM, exit after at most this long even if closing has not finished.' },
  { key: 'authSecret', kind: 'string', secret: true, doc: 'Shared secret for HS256 tokens (at least 32 bytes).' },
  { key: 'authPublicKeyFile', kind: 'string', doc: 'PEM public key (RSA: RS256, EC P-256: ES256) that verifies tokens.' },
  { key: 'authJwksFile', kind: 'string', doc: 'JWKS file (JSON) whose keys verify tokens (RS256/ES256).' },
  { key: 'authIssuer', kind: 'string', doc: 'Required `iss` of tokens; empty = any.' },
  { key: 'authAudience', kind: 'string', doc: 'Required `aud` of tokens; empty = any.' },
  { key: 'anonymous', kind: 'enum', values: ['auto', 'allow', 'deny'], doc: 'Connections without a token: auto = allowed only when no token key is set.' },
  { key: 'authTimeoutMs', kind: 'int', min: 100, max: 600_000, doc: 'Time to send `connect` when a token is required and none was in the URL.' },
  { key: 'anonymousJoin', kind: 'list', doc: 'Rooms anonymous connections may join (names, `prefix*`, `*`).' },
  { key: 'anonymousPublish', kind: 'list', doc: 'Rooms anonymous connections may publish to.' },
  { key: 'userJoin', kind: 'list', doc: 'Rooms users may join when their token has no `rooms` claim.' },
  { key: 'userPublish', kind: 'list', doc: 'Rooms users may publish to when their token has no `rooms` claim.' },
  { key: 'presenceEvents', kind: 'list', doc: 'Rooms whose members get join/leave events (names, `prefix*`, `*`).' },
  { key: 'maxRoomsPerConnection', kind: 'int', min: 1, max: 100_000, doc: 'Rooms one connection may be in.' },
  { key: 'rateLimitPerSec', kind: 'int', min: 0, max: 1_000_000, doc: 'Frames per second one connection may send (token bucket); 0 = no limit.' },
  { key: 'rateLimitBurst', kind: 'int', min: 1, max: 1_000_000, doc: 'Bucket size: frames a connection may send at once.' },
  { key: 'maxRateLimited', kind: 'int', min: 1, max: 1_000_000, doc: 'Rate-limited frames in a row before the connection is closed (4501).' },
  { key: 'maxConnections', kind: 'int', min: 0, max: 10_000_000, doc: 'Open connections in this process; 0 = no limit.' },
  { key: 'maxConnectionsPerIp', kind: 'int', min: 0, max: 10_000_000, doc: 'Open connections from one address; 0 = no limit.' },
  { key: 'allowedOrigins', kind: 'list', doc: 'Browser Origins allowed to connect; empty = any. Clients that send no Origin are not browsers and pass.' },
  { key: 'tlsCert', kind: 'string', doc: 'PEM certificate file: serve wss:// and https:// (with tlsKey).' },
  { key: 'tlsKey', kind: 'string', doc: 'PEM private key file for tlsCert.' },
  { key: 'tlsPassphrase', kind: 'string', secret: true, doc: 'Passphrase of tlsKey, if it has one.' },
  { key: 'broker', kind: 'enum', values: ['memory', 'redis'], doc: 'memory = this process only; redis = share rooms and presence with other processes.' },
  { key: 'redisUrl', kind: 'string', doc: 'Redis to use with broker=redis (redis://[user:pass@]host:port[/db]).' },
  { key: 'redisPrefix', kind: 'string', doc: 'Prefix of every Redis key and channel, so deployments can share a Redis.' },
  { key: 'history', kind: 'history', doc: 'Events each room keeps for recovery, by room pattern (first match wins): `pattern/size/ttlSec,...`; size 0 = none.' },
  { key: 'historyMaxBytes', kind: 'int', min: 0, max: 64 * 1024 * 1024 * 1024, doc: 'Bytes the in-process broker may hold in history, all rooms together (least recently published rooms lose theirs first).' },
];

/** Built-in defaults. */
export const DEFAULTS: Readonly<Config> = Object.freeze({
  host: '127.0.0.1',
  port: 9001,
  defaultEncoding: 'proto',
  maxPayloadBytes: 16 * 1024,
  maxFrameBytes: 64 * 1024,
  idleTimeoutSec: 120,
  maxBackpressure: 1024 * 1024,
  slowConsumer: 'close',
  slowConsumerCheckMs: 1000,
  maxBadFrames: 10,
  tickMs: 0,
  apiKey: '',
  page: 'auto',
  logLevel: 'info',
  logFormat: 'auto',
  allowJsFallback: false,
  shutdownGraceMs: 5000,
  authSecret: '',
  authPublicKeyFile: '',
  authJwksFile: '',
  authIssuer: '',
  authAudience: '',
  anonymous: 'auto',
  authTimeoutMs: 10_000,
  anonymousJoin: ['*'],
  anonymousPublish: ['*'],
  userJoin: ['*'],
  userPublish: ['*'],
  presenceEvents: [],
  maxRoomsPerConnection: 100,
  rateLimitPerSec: 100,
  rateLimitBurst: 200,
  maxRateLimited: 100,
  maxConnections: 100_000,
  maxConnectionsPerIp: 1000,
  allowedOrigins: [],
  tlsCert: '',
  tlsKey: '',
  tlsPassphrase: '',
  broker: 'memory',
  redisUrl: 'redis://127.0.0.1:6379',
  redisPrefix: 'roomcast:',
  history: DEFAULT_HISTORY.map((r) => ({ ...r })),
  historyMaxBytes: 64 * 1024 * 1024,
});

/** `maxPayloadBytes` -> `--max-payload-bytes`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `maxPayloadBytes` -> `ROOMCAST_MAX_PAYLOAD_BYTES`. */
export function envName(key: string): string {
  return `ROOMCAST_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** The flag that names the config file. */
export const CONFIG_FLAG = '--config';
/** The environment variable that names the config file (when the flag is absent). */
export const CONFIG_ENV = 'ROOMCAST_CONFIG';

/** A configuration that cannot be used; the message names the option and where it came from. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function fieldSchema(o: OptionSpec): z.ZodType {
  switch (o.kind) {
    case 'int':
      return z.number().int().min(o.min ?? Number.MIN_SAFE_INTEGER).max(o.max ?? Number.MAX_SAFE_INTEGER);
    case 'string':
      return z.string();
    case 'bool':
      return z.boolean();
    case 'enum':
      return z.enum(o.values as [string, ...string[]]);
    case 'list':
      return z.array(z.string().min(1));
    case 'history':
      return z.array(
        z.strictObject({
          rooms: z.string().regex(/^(\*|[A-Za-z0-9_.:@~=+-]{1,128}\*?)$/, 'a room name, a prefix ending in *, or *'),
          size: z.number().int().min(0).max(1_000_000),
          ttlSec: z.number().int().min(0).max(30 * 86_400),
        }),
      );
  }
}

const partialSchema = z.strictObject(Object.fromEntries(OPTIONS.map((o) => [o.key, fieldSchema(o).optional()])));

/** Turns a flag or environment string into the option's type. */
function fromString(o: OptionSpec, raw: string, where: string): unknown {
  switch (o.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${where}: expected an integer, got ${JSON.stringify(raw)}`);
      return Number(raw.trim());
    }
    case 'list':
      return raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
    case 'history':
      try {
        return parseHistoryRules(raw);
      } catch (err) {
        throw new ConfigError(`${where}: ${(err as Error).message}`);
      }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on', ''].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new ConfigError(`${where}: expected true or false, got ${JSON.stringify(raw)}`);
    }
    default:
      return raw;
  }
}

/** Validates one source's values; errors name the option as that source spells it. */
function checkSource(values: Record<string, unknown>, nameOf: (key: string) => string, source: string): Partial<Config> {
  const r = partialSchema.safeParse(values);
  if (r.success) return r.data as Partial<Config>;
  const lines = r.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `${source}: unknown option ${JSON.stringify(k)}`).join('\n');
    }
    const key = String(issue.path[0] ?? '');
    return `${nameOf(key)} (${source}): ${issue.message}`;
  });
  throw new ConfigError(lines.join('\n'));
}

function readConfigFile(path: string): Partial<Config> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ConfigError(`config file ${path}: expected a JSON object of options`);
  }
  return checkSource(obj as Record<string, unknown>, (k) => k, `config file ${path}`);
}

function readEnv(env: NodeJS.ProcessEnv): Partial<Config> {
  const known = new Map(OPTIONS.map((o) => [envName(o.key), o]));
  const values: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('ROOMCAST_') || name === CONFIG_ENV || raw === undefined) continue;
    const o = known.get(name);
    if (!o) throw new ConfigError(`environment: unknown variable ${name}`);
    values[o.key] = fromString(o, raw, name);
  }
  return checkSource(values, envName, 'environment');
}

/** What the command line asked for besides options. */
export interface CliRequest {
  help: boolean;
  version: boolean;
  configPath: string | undefined;
  values: Partial<Config>;
}

/** Parses command-line flags. Unknown flags and stray arguments are errors. */
export function parseFlags(argv: readonly string[]): CliRequest {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    config: { type: 'string', short: 'c' },
  };
  for (const o of OPTIONS) options[flagName(o.key).slice(2)] = { type: o.kind === 'bool' ? 'boolean' : 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\nRun with --help for the list of options.`);
  }
  const values: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const flag = flagName(o.key);
    const raw = parsed.values[flag.slice(2)];
    if (raw === undefined) continue;
    values[o.key] = typeof raw === 'boolean' ? raw : fromString(o, String(raw), flag);
  }
  return {
    help: parsed.values.help === true,
    version: parsed.values.version === true,
    configPath: typeof parsed.values.config === 'string' ? parsed.values.config : undefined,
    values: checkSource(values, flagName, 'command line'),
  };
}

/** Checks options against each other; returns the frozen config. */
export function finishConfig(merged: Config): Readonly<Config> {
  const problems: string[] = [];
  const { maxPayloadBytes, maxFrameBytes, maxBackpressure, idleTimeoutSec, tickMs } = merged;
  // A full payload must fit in a JSON frame, where bytes grow by 4/3 (base64) plus the envelope.
  const neededFrame = Math.ceil((maxPayloadBytes * 4) / 3) + 512;
  if (maxFrameBytes < neededFrame) {
    problems.push(`maxFrameBytes (${maxFrameBytes}) must be at least ${neededFrame} to carry a maxPayloadBytes (${maxPayloadBytes}) payload in a JSON frame`);
  }
  if (maxBackpressure < maxFrameBytes) {
    problems.push(`maxBackpressure (${maxBackpressure}) must be at least maxFrameBytes (${maxFrameBytes}), or one large event would make every connection a slow consumer`);
  }
  if (idleTimeoutSec !== 0 && idleTimeoutSec < 8) {
    problems.push(`idleTimeoutSec (${idleTimeoutSec}) must be 0 (off) or 8-960: uWebSockets.js times out in 4-second steps`);
  }
  if (tickMs !== 0 && tickMs < 10) problems.push(`tickMs (${tickMs}) must be 0 (off) or at least 10`);
  if (merged.apiKey !== '' && merged.apiKey.length < 16) problems.push('apiKey must be at least 16 characters (or empty for none)');
  const keys = [merged.authSecret && 'authSecret', merged.authPublicKeyFile && 'authPublicKeyFile', merged.authJwksFile && 'authJwksFile'].filter(Boolean);
  if (keys.length > 1) problems.push(`set only one of ${keys.join(', ')}: each is a complete way to verify tokens`);
  if (merged.authSecret !== '' && Buffer.byteLength(merged.authSecret) < 32) problems.push('authSecret must be at least 32 bytes (HS256 needs a key as long as its hash)');
  if (merged.anonymous === 'deny' && keys.length === 0) problems.push('anonymous is "deny" but no authSecret, authPublicKeyFile or authJwksFile is set: nobody could connect');
  if ((merged.tlsCert === '') !== (merged.tlsKey === '')) problems.push('tlsCert and tlsKey go together: set both or neither');
  if (merged.rateLimitPerSec > 0 && merged.rateLimitBurst < 1) problems.push('rateLimitBurst must be at least 1');
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  // Lists too: a shared config must not be changed through one of its arrays.
  const frozen = Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, Array.isArray(v) ? Object.freeze(v.map((x: unknown) => (typeof x === 'object' && x !== null ? Object.freeze({ ...x }) : x))) : v]));
  return Object.freeze(frozen) as unknown as Readonly<Config>;
}

/** The whole configuration from defaults, file, environment and flags. Throws {@link ConfigError}. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): { request: CliRequest; config: Readonly<Config> } {
  const request = parseFlags(argv);
  const configPath = request.configPath ?? env[CONFIG_ENV];
  const fromFile = configPath ? readConfigFile(configPath) : {};
  const fromEnv = readEnv(env);
  const config = finishConfig({ ...DEFAULTS, ...fromFile, ...fromEnv, ...request.values });
  return { request, config };
}

/** Validates overrides on top of the defaults (for embedding and tests). */
export function configFrom(overrides: Partial<Config> = {}): Readonly<Config> {
  const checked = checkSource(overrides as Record<string, unknown>, (k) => k, 'options');
  return finishConfig({ ...DEFAULTS, ...checked });
}

/** The `--help` text. */
export function usage(): string {
  const rows = OPTIONS.map((o) => {
    const type = o.kind === 'enum' ? (o.values ?? []).join('|') : o.kind === 'bool' ? '' : o.kind === 'list' ? '<a,b,...>' : o.kind === 'history' ? '<pattern/size/ttlSec,...>' : `<${o.kind}>`;
    const def = o.secret ? '' : ` (default: ${JSON.stringify(DEFAULTS[o.key])})`;
    return `  ${`${flagName(o.key)} ${type}`.padEnd(38)} ${o.doc}${def}\n  ${''.padEnd(38)} env ${envName(o.key)}`;
  });
  return [
    'Usage: roomcast [options]',
    '',
    'WebSocket pub/sub server. Options come from defaults < --config file < ROOMCAST_* env < flags.',
    '',
    '  -c, --config <file>                    JSON file of options (env ROOMCAST_CONFIG)',
    '  -h, --help                             Show this help',
    '  -v, --version                          Show the version',
    ...rows,
    '',
  ].join('\n');
}
