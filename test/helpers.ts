import { env, exports } from "cloudflare:workers";
import { SignJWT } from "jose";
import { expect } from "vitest";
import { hashOrganizerKey, newOrganizerKey } from "../src/auth/organizer-key";
import { withDatabase } from "../src/db/client";
import { organizerApiKeys, organizers } from "../src/db/schema";
import { newId } from "../src/lib/ids";

export const base = "http://onsale.test";

/** A request to the Worker under test, through its real fetch handler. */
export function api(path: string, init: RequestInit & { json?: unknown } = {}) {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  return exports.default.fetch(`${base}${path}`, {
    ...rest,
    headers,
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
}

export async function problem(response: Response) {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return (await response.json()) as { status: number; code: string; errors?: { path: string; message: string }[] };
}

/** A fan JWT as the configured issuer would sign it; `claims` and `ttl` let tests break it. */
export async function fanToken(fanId: string, options: { ttl?: number; secret?: string; claims?: object } = {}) {
  return new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(fanId)
    .setIssuer(env.FAN_JWT_ISSUER)
    .setAudience(env.FAN_JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttl ?? 600))
    .sign(new TextEncoder().encode(options.secret ?? env.FAN_JWT_SECRET));
}

export const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

/** A fresh organizer with its own API key, so tests never share objects. */
export async function newOrganizer(name = "Test Organizer") {
  const id = newId("org");
  const key = newOrganizerKey();
  await withDatabase(env, async (db) => {
    await db.insert(organizers).values({ id, name });
    await db.insert(organizerApiKeys).values({
      id: newId("key"),
      organizerId: id,
      name: "test",
      prefix: key.slice(0, 12),
      keyHash: await hashOrganizerKey(key),
    });
  });
  return { id, key };
}

export const uniqueFan = () => `fan_${crypto.randomUUID().slice(0, 8)}`;
