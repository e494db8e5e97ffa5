/**
 * Token verification (JWT through `jose`) and the identity it gives a connection.
 *
 * One of three keys verifies tokens: a shared secret (HS256), a PEM public key (RS256 for RSA,
 * ES256 for EC P-256) or a JWKS file (keys picked by `kid`). `sub` is the user id and must be
 * present; `exp` is enforced. Optional claims: `rooms: { join: [...], publish: [...] }` (room
 * patterns; without it the server's userJoin/userPublish apply) and `admin: true`. A token
 * without `exp` is refused: every token must expire.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Config } from '../../config.js';
import { ErrorCode, ProtocolError } from '../../protocol/errors.js';
import { type Grants, type Identity, RoomPatterns } from './permissions.js';

/** Verifies tokens and hands out identities. */
export interface Authenticator {
  /** Whether any token key is configured. */
  readonly enabled: boolean;
  /** Whether a connection must present a token (anonymous access is off). */
  readonly required: boolean;
  /** The identity of a connection without a token (when allowed). */
  anonymous(): Identity;
  /**
   * Verifies a token. Throws ProtocolError: ERROR_CODE_TOKEN_EXPIRED for an expired token,
   * ERROR_CODE_UNAUTHENTICATED for anything else wrong (bad signature, claims, shape).
   */
  verify(token: string): Promise<Identity>;
}

type Key = Uint8Array | KeyObject | JWTVerifyGetKey;

function loadKey(config: Readonly<Config>): { key: Key; algorithms: string[] } | undefined {
  if (config.authSecret !== '') return { key: new TextEncoder().encode(config.authSecret), algorithms: ['HS256'] };
  if (config.authPublicKeyFile !== '') {
    const key = createPublicKey(readKeyFile(config.authPublicKeyFile));
    if (key.asymmetricKeyType === 'rsa') return { key, algorithms: ['RS256'] };
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { key, algorithms: ['ES256'] };
    throw new Error(`authPublicKeyFile ${config.authPublicKeyFile}: expected an RSA or EC P-256 public key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  if (config.authJwksFile !== '') {
    const jwks = JSON.parse(readKeyFile(config.authJwksFile)) as JSONWebKeySet;
    if (!Array.isArray(jwks.keys)) throw new Error(`authJwksFile ${config.authJwksFile}: expected {"keys": [...]}`);
    return { key: createLocalJWKSet(jwks), algorithms: ['RS256', 'ES256'] };
  }
  return undefined;
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read key file ${path}: ${(err as Error).message}`);
  }
}

function stringList(v: unknown, what: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, `token claim ${what} must be a list of room patterns`);
  }
  return v;
}

/** Creates the authenticator for a config. Reads key files now, so a bad path fails the start. */
export function createAuthenticator(config: Readonly<Config>): Authenticator {
  const loaded = loadKey(config);
  const enabled = loaded !== undefined;
  const required = config.anonymous === 'deny' || (config.anonymous === 'auto' && enabled);
  const anonymousGrants: Grants = { join: new RoomPatterns(config.anonymousJoin), publish: new RoomPatterns(config.anonymousPublish), admin: false };
  const userJoin = new RoomPatterns(config.userJoin);
  const userPublish = new RoomPatterns(config.userPublish);
  // Most tokens carry no `rooms` claim: their identities share one grants object (per admin flag)
  // instead of holding one each.
  const userGrants: Readonly<Grants> = Object.freeze({ join: userJoin, publish: userPublish, admin: false });
  const adminGrants: Readonly<Grants> = Object.freeze({ join: userJoin, publish: userPublish, admin: true });
  const anonymousIdentity: Identity = Object.freeze({ userId: '', anonymous: true, expiresAtMs: 0, grants: anonymousGrants });

  const identityOf = (payload: JWTPayload): Identity => {
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '' || sub.length > 256) {
      throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, 'token has no usable "sub" (the user id)');
    }
    const claim = payload.rooms;
    if (claim !== undefined && (typeof claim !== 'object' || claim === null)) {
      throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, 'token claim "rooms" must be an object');
    }
    const rooms = claim as { join?: unknown; publish?: unknown } | undefined;
    const join = stringList(rooms?.join, 'rooms.join');
    const publish = stringList(rooms?.publish, 'rooms.publish');
    const admin = payload.admin === true;
    const grants =
      join === undefined && publish === undefined
        ? admin
          ? adminGrants
          : userGrants
        : { join: join ? new RoomPatterns(join) : userJoin, publish: publish ? new RoomPatterns(publish) : userPublish, admin };
    return { userId: sub, anonymous: false, expiresAtMs: (payload.exp ?? 0) * 1000, grants };
  };

  return {
    enabled,
    required,
    anonymous: () => anonymousIdentity,
    async verify(token: string): Promise<Identity> {
      if (loaded === undefined) throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, 'this server does not accept tokens (no key is configured)');
      let payload: JWTPayload;
      try {
        const options = {
          algorithms: loaded.algorithms,
          // jose checks exp only when present: a token without one would never expire.
          requiredClaims: ['sub', 'exp'],
          ...(config.authIssuer !== '' ? { issuer: config.authIssuer } : {}),
          ...(config.authAudience !== '' ? { audience: config.authAudience } : {}),
        };
        const key = loaded.key;
        payload = (typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)).payload;
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new ProtocolError(ErrorCode.ERROR_CODE_TOKEN_EXPIRED, 'token has expired');
        if (err instanceof joseErrors.JOSEError) throw new ProtocolError(ErrorCode.ERROR_CODE_UNAUTHENTICATED, `invalid token: ${err.message}`);
        throw err;
      }
      return identityOf(payload);
    },
  };
}
