import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify, SignJWT } from "jose";
import { ApiError } from "../lib/problem";
import { hmacKey } from "./hmac-key";

export interface Fan {
  id: string;
  /** The `email` claim, when the identity provider includes one: where notifications go. */
  email?: string;
}

type FanTokenEnv = Pick<Env, "FAN_JWT_SECRET" | "FAN_JWT_JWKS_URL" | "FAN_JWT_ISSUER" | "FAN_JWT_AUDIENCE">;

// Remote key sets are cached per isolate: jose refetches only on an unknown `kid`.
const remoteKeySets = new Map<string, JWTVerifyGetKey>();

function verificationKey(env: FanTokenEnv) {
  if (env.FAN_JWT_JWKS_URL) {
    let keys = remoteKeySets.get(env.FAN_JWT_JWKS_URL);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(env.FAN_JWT_JWKS_URL));
      remoteKeySets.set(env.FAN_JWT_JWKS_URL, keys);
    }
    // Pinned per key type, so an HS256 token can never be checked against a public key.
    return { key: keys, algorithms: ["RS256", "ES256", "EdDSA"] };
  }
  if (env.FAN_JWT_SECRET) {
    return { key: hmacKey(env.FAN_JWT_SECRET), algorithms: ["HS256"] };
  }
  throw new ApiError(503, "auth_not_configured", "Fan authentication is not configured");
}

const unauthorized = (code: string, message: string) =>
  new ApiError(401, code, message, undefined, { "www-authenticate": `Bearer error="invalid_token"` });

/**
 * Tokens this isolate has already verified, until they expire: a fan sends the same token with
 * every poll, hold and order, and a signature check per request would be the costliest step of
 * a hold at the edge. Keyed by everything the verification depends on, so nothing carries
 * over to another configuration.
 */
const verified = new Map<string, { fan: Fan; expiresAtMs: number }>();
const MAX_VERIFIED = 50_000;

export async function verifyFanToken(env: FanTokenEnv, token: string): Promise<Fan> {
  const cacheKey = `${env.FAN_JWT_JWKS_URL ?? env.FAN_JWT_SECRET}\u0000${env.FAN_JWT_ISSUER}\u0000${env.FAN_JWT_AUDIENCE}\u0000${token}`;
  const hit = verified.get(cacheKey);
  if (hit && hit.expiresAtMs > Date.now()) return hit.fan;
  const fan = await verifyUncached(env, token);
  if (verified.size >= MAX_VERIFIED) verified.delete(verified.keys().next().value!);
  verified.set(cacheKey, { fan, expiresAtMs: fan.expiresAtMs });
  return fan;
}

async function verifyUncached(env: FanTokenEnv, token: string): Promise<Fan & { expiresAtMs: number }> {
  const { key, algorithms } = verificationKey(env);
  try {
    const { payload } = await jwtVerify(token, (await key) as Parameters<typeof jwtVerify>[1], {
      algorithms,
      issuer: env.FAN_JWT_ISSUER,
      audience: env.FAN_JWT_AUDIENCE,
      requiredClaims: ["exp", "sub"],
    });
    if (!payload.sub || payload.sub.length > 128)
      throw unauthorized("invalid_token", "The token has no usable subject");
    const email = typeof payload.email === "string" && payload.email.length <= 320 ? payload.email : undefined;
    return { id: payload.sub, ...(email ? { email } : {}), expiresAtMs: payload.exp! * 1000 };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof errors.JWTExpired) throw unauthorized("token_expired", "The bearer token has expired");
    throw unauthorized("invalid_token", "The bearer token is invalid");
  }
}

/** Development and tests only: what a real identity provider would issue. */
export async function signFanToken(env: FanTokenEnv, fanId: string, ttlSeconds = 3600): Promise<string> {
  if (!env.FAN_JWT_SECRET) throw new ApiError(503, "auth_not_configured", "FAN_JWT_SECRET is not set");
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(fanId)
    .setIssuer(env.FAN_JWT_ISSUER)
    .setAudience(env.FAN_JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(await hmacKey(env.FAN_JWT_SECRET));
}
