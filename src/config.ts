/**
 * One validated, frozen configuration from four sources, later ones winning:
 * built-in defaults < config file (--config / ROOMCAST_CONFIG, JSON) < ROOMCAST_* environment
 * variables < command-line flags.
 *
 * Every option is one row of the table in ./config/options.ts (key, kind, default, docs); its
 * kind (./config/kinds.ts) says how it is validated and read from strings. This module reads
 * the four sources, checks options against each other, and prints `--help`.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, KINDS } from './config/kinds.js';
import { type Config, DEFAULTS, envName, flagName, OPTIONS, type OptionSpec } from './config/options.js';

export { ConfigError } from './config/kinds.js';
export { type Config, DEFAULTS, envName, flagName, OPTIONS, type OptionSpec } from './config/options.js';

/** The flag that names the config file. */
export const CONFIG_FLAG = '--config';
/** The environment variable that names the config file (when the flag is absent). */
export const CONFIG_ENV = 'ROOMCAST_CONFIG';

const partialSchema = z.strictObject(Object.fromEntries(OPTIONS.map((o) => [o.key, KINDS[o.kind].schema(o).optional()])));

/** Turns a flag or environment string into the option's type. */
function fromString(o: OptionSpec, raw: string, where: string): unknown {
  return KINDS[o.kind].fromString(raw, where);
}

/** Validates one source's values; errors name the option as that source spells it. */
function checkSource(values: Record<string, unknown>, nameOf: (key: string) => string, source: string): Partial<Config> {
  const r = partialSchema.safeParse(values);
  if (r.success) return r.data;
  const lines = r.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `${source}: unknown option ${JSON.stringify(k)}`).join('\n');
    }
    const key = String(issue.path[0] ?? '');
    return `${nameOf(key)} (${source}): ${issue.message}`;
  });
  throw new ConfigError(lines.join('\n'));
}

// The table's own defaults must pass the checks every source passes: a wrong row fails at start.
checkSource({ ...DEFAULTS }, (k) => k, 'built-in defaults');

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

/** Whether `entry` is an IPv4/IPv6 address, or one with a `/prefix` that fits its family. */
export function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
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
    problems.push(
      `maxBackpressure (${maxBackpressure}) must be at least maxFrameBytes (${maxFrameBytes}), or one large event would make every connection a slow consumer`,
    );
  }
  if (idleTimeoutSec !== 0 && idleTimeoutSec < 8) {
    problems.push(`idleTimeoutSec (${idleTimeoutSec}) must be 0 (off) or 8-960: uWebSockets.js times out in 4-second steps`);
  }
  if (tickMs !== 0 && tickMs < 10) problems.push(`tickMs (${tickMs}) must be 0 (off) or at least 10`);
  if (merged.apiKey !== '' && merged.apiKey.length < 16) problems.push('apiKey must be at least 16 characters (or empty for none)');
  const keys = [merged.authSecret && 'authSecret', merged.authPublicKeyFile && 'authPublicKeyFile', merged.authJwksFile && 'authJwksFile'].filter(Boolean);
  if (keys.length > 1) problems.push(`set only one of ${keys.join(', ')}: each is a complete way to verify tokens`);
  if (merged.authSecret !== '' && Buffer.byteLength(merged.authSecret) < 32)
    problems.push('authSecret must be at least 32 bytes (HS256 needs a key as long as its hash)');
  if (merged.anonymous === 'deny' && keys.length === 0)
    problems.push('anonymous is "deny" but no authSecret, authPublicKeyFile or authJwksFile is set: nobody could connect');
  if ((merged.tlsCert === '') !== (merged.tlsKey === '')) problems.push('tlsCert and tlsKey go together: set both or neither');
  if (merged.broker === 'redis-cluster' && merged.redisNodes.length === 0)
    problems.push('broker=redis-cluster needs redisNodes: the cluster seed nodes as host:port,host:port,...');
  if (merged.rateLimitPerSec > 0 && merged.rateLimitBurst < 1) problems.push('rateLimitBurst must be at least 1');
  for (const entry of merged.trustedProxies) {
    if (!isAddressOrCidr(entry)) problems.push(`trustedProxies: ${JSON.stringify(entry)} is not an IP address or CIDR (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)`);
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  // Lists too: a shared config must not be changed through one of its arrays.
  const frozen: Config = { ...merged };
  for (const o of OPTIONS) {
    const v = frozen[o.key];
    if (Array.isArray(v))
      Object.assign(frozen, { [o.key]: Object.freeze(v.map((x: unknown) => (typeof x === 'object' && x !== null ? Object.freeze({ ...x }) : x))) });
  }
  return Object.freeze(frozen);
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
  const checked = checkSource(overrides, (k) => k, 'options');
  return finishConfig({ ...DEFAULTS, ...checked });
}

/** The `--help` text. */
export function usage(): string {
  const rows = OPTIONS.map((o) => {
    const type = KINDS[o.kind].placeholder(o);
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
