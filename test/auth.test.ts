import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { base64url, exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { hashOrganizerKey } from "../src/auth/organizer-key";
import { withDatabase } from "../src/db/client";
import { organizerApiKeys } from "../src/db/schema";
import { api, bearer, fanToken, newOrganizer, problem } from "./helpers";

describe("fan bearer JWT", () => {
  it("a valid token identifies the fan", async () => {
    const response = await api("/v1/me", { headers: bearer(await fanToken("fan_alice")) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ fan_id: "fan_alice" });
  });

  it("no Authorization header: 401 missing_credentials", async () => {
    const response = await api("/v1/me");
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await problem(response)).code).toBe("missing_credentials");
  });

  it("a header that is not a bearer credential: 401 invalid_authorization_header", async () => {
    const response = await api("/v1/me", { headers: { authorization: "Basic YWxpY2U6c2VjcmV0" } });
    expect((await problem(response)).code).toBe("invalid_authorization_header");
  });

  it("an expired token: 401 token_expired", async () => {
    const response = await api("/v1/me", { headers: bearer(await fanToken("fan_alice", { ttl: -120 })) });
    expect(response.status).toBe(401);
    expect((await problem(response)).code).toBe("token_expired");
  });

  it("a token signed with another secret: 401 invalid_token", async () => {
    const token = await fanToken("fan_alice", { secret: "not-the-configured-secret-at-all-0123456789" });
    const response = await api("/v1/me", { headers: bearer(token) });
    expect((await problem(response)).code).toBe("invalid_token");
  });

  it("a tampered payload (sub swapped, signature kept): 401 invalid_token", async () => {
    const [header, payload, signature] = (await fanToken("fan_alice")).split(".");
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
    const forged = base64url.encode(JSON.stringify({ ...claims, sub: "fan_mallory" }));
    const response = await api("/v1/me", { headers: bearer(`${header}.${forged}.${signature}`) });
    expect((await problem(response)).code).toBe("invalid_token");
  });

  it("wrong algorithms are refused: alg none, HS512, and RS256 with an attacker's key", async () => {
    const claims = { sub: "fan_alice", iss: env.FAN_JWT_ISSUER, aud: env.FAN_JWT_AUDIENCE };
    const exp = Math.floor(Date.now() / 1000) + 600;
    const unsigned = `${base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url.encode(
      JSON.stringify({ ...claims, exp }),
    )}.`;
    const hs512 = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS512" })
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(env.FAN_JWT_SECRET));
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const rs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", jwk: await exportJWK(publicKey) })
      .setExpirationTime(exp)
      .sign(privateKey);
    for (const token of [unsigned, hs512, rs256]) {
      const response = await api("/v1/me", { headers: bearer(token) });
      expect(response.status).toBe(401);
      expect((await problem(response)).code).toBe("invalid_token");
    }
  });

  it("wrong issuer, wrong audience or no exp: 401 invalid_token", async () => {
    const secret = new TextEncoder().encode(env.FAN_JWT_SECRET);
    const exp = Math.floor(Date.now() / 1000) + 600;
    const wrongIssuer = await new SignJWT({ sub: "fan_alice", aud: env.FAN_JWT_AUDIENCE, iss: "https://evil.example" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(exp)
      .sign(secret);
    const wrongAudience = await new SignJWT({ sub: "fan_alice", aud: "someone-else", iss: env.FAN_JWT_ISSUER })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(exp)
      .sign(secret);
    const noExp = await new SignJWT({ sub: "fan_alice", aud: env.FAN_JWT_AUDIENCE, iss: env.FAN_JWT_ISSUER })
      .setProtectedHeader({ alg: "HS256" })
      .sign(secret);
    for (const token of [wrongIssuer, wrongAudience, noExp]) {
      expect((await problem(await api("/v1/me", { headers: bearer(token) }))).code).toBe("invalid_token");
    }
  });

  it("garbage in the bearer slot: 401 invalid_token, never a 500", async () => {
    for (const junk of ["abc", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "x".repeat(5000)]) {
      const response = await api("/v1/me", { headers: bearer(junk) });
      expect(response.status).toBe(401);
      expect((await problem(response)).code).toBe("invalid_token");
    }
  });
});

describe("organizer API key", () => {
  it("a known key identifies its organizer", async () => {
    const organizer = await newOrganizer("Key Holder");
    const response = await api("/v1/admin/organizer", { headers: bearer(organizer.key) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ organizer_id: organizer.id, name: "Key Holder" });
  });

  it("is stored only as its SHA-256", async () => {
    const organizer = await newOrganizer();
    const rows = await withDatabase(env, (db) =>
      db.select().from(organizerApiKeys).where(eq(organizerApiKeys.organizerId, organizer.id)),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.keyHash).toBe(await hashOrganizerKey(organizer.key));
    expect(JSON.stringify(rows)).not.toContain(organizer.key);
  });

  it("an unknown, malformed or missing key: 401", async () => {
    const unknown = `osk_live_${"0".repeat(48)}`;
    expect((await problem(await api("/v1/admin/organizer", { headers: bearer(unknown) }))).code).toBe(
      "invalid_api_key",
    );
    expect((await problem(await api("/v1/admin/organizer", { headers: bearer("hunter2") }))).code).toBe(
      "invalid_api_key",
    );
    expect((await problem(await api("/v1/admin/organizer"))).code).toBe("missing_credentials");
  });

  it("a revoked key stops working", async () => {
    const organizer = await newOrganizer();
    await withDatabase(env, (db) =>
      db.update(organizerApiKeys).set({ revokedAt: new Date() }).where(eq(organizerApiKeys.organizerId, organizer.id)),
    );
    const response = await api("/v1/admin/organizer", { headers: bearer(organizer.key) });
    expect((await problem(response)).code).toBe("invalid_api_key");
  });

  it("a fan JWT is not an organizer key", async () => {
    const response = await api("/v1/admin/organizer", { headers: bearer(await fanToken("fan_alice")) });
    expect((await problem(response)).code).toBe("invalid_api_key");
  });
});
