import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("GET /healthz", () => {
  it("reports Postgres, KV and the Show DO reachable", async () => {
    const response = await exports.default.fetch("http://onsale.test/healthz");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe("ok");
    expect(body.checks.postgres?.ok).toBe(true);
    expect(body.checks.kv?.ok).toBe(true);
    expect(body.checks.show_do?.ok).toBe(true);
  });
});
