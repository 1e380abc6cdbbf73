import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";

type Health = { status: string; checks: Record<string, { ok: boolean; latency_ms: number; error?: string }> };

describe("GET /healthz", () => {
  it("reports Postgres, KV and the Show DO reachable", async () => {
    const response = await exports.default.fetch("http://onsale.test/healthz");
    expect(response.status).toBe(200);
    const body = (await response.json()) as Health;
    expect(body.status).toBe("ok");
    expect(body.checks.postgres?.ok).toBe(true);
    expect(body.checks.kv?.ok).toBe(true);
    expect(body.checks.show_do?.ok).toBe(true);
  });

  it("a failing Postgres is reported by a stable code, with none of its error text", async () => {
    // The real server, refusing a user it does not know: its message names the user.
    const url = new URL(env.DATABASE_URL);
    url.username = "healthz_user";
    url.password = "hunter2";
    url.pathname = "/private_db";
    const secretish = url.toString();
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    const response = await worker.fetch(
      new Request("http://onsale.test/healthz") as Request<unknown, IncomingRequestCfProperties>,
      { ...env, DATABASE_URL: secretish, PG_WS_PROXY: env.PG_WS_PROXY },
      ctx,
    );
    expect(response.status).toBe(503);
    const text = await response.text();
    const body = JSON.parse(text) as Health;
    expect(body.status).toBe("degraded");
    expect(body.checks.postgres).toEqual({ ok: false, latency_ms: expect.any(Number), error: "unreachable" });
    expect(body.checks.kv?.ok).toBe(true);
    for (const leak of ["healthz_user", "hunter2", url.hostname, "private_db", "authentication", "password"]) {
      expect(text).not.toContain(leak);
    }
  });

  it("polling it writes nothing: the probed object's storage is unchanged after many calls", async () => {
    await exports.default.fetch("http://onsale.test/healthz");
    const stub = env.SHOW.getByName("healthz");
    const storage = () =>
      runInDurableObject(stub, (_, state) => {
        const tables = state.storage.sql
          .exec<{ name: string }>(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'",
          )
          .toArray()
          .map((t) => t.name);
        return Object.fromEntries(
          tables.map((name) => [name, state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray()]),
        );
      });
    const before = JSON.stringify(await storage());
    for (let i = 0; i < 10; i++) expect((await exports.default.fetch("http://onsale.test/healthz")).status).toBe(200);
    expect(JSON.stringify(await storage())).toBe(before);
  });
});

describe("GET /v1/config", () => {
  it("gives the fan app public settings only: no secret of the deployment appears", async () => {
    const response = await exports.default.fetch("http://onsale.test/v1/config");
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([
      "dev_sign_in",
      "oidc",
      "stripe_publishable_key",
      "test_payments",
      "turnstile_site_key",
    ]);
    expect(body).toMatchObject({
      stripe_publishable_key: null,
      turnstile_site_key: null,
      oidc: null,
      dev_sign_in: true,
    });
    const text = JSON.stringify(body);
    for (const secret of [env.STRIPE_SECRET_KEY, env.STRIPE_WEBHOOK_SECRET, env.FAN_JWT_SECRET, env.DATABASE_URL])
      if (secret) expect(text).not.toContain(secret);
  });
});
