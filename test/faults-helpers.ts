import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, inject } from "vitest";
import worker from "../src/index";
import { base } from "./helpers";

/** The Worker with some bindings changed for one request (a dependency pointed elsewhere). */
export async function apiWith(overrides: Partial<Env>, path: string, init: RequestInit & { json?: unknown } = {}) {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  const ctx = createExecutionContext();
  const started = performance.now();
  const response = await worker.fetch(
    new Request(`${base}${path}`, {
      ...rest,
      headers,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    }) as Request<unknown, IncomingRequestCfProperties>,
    { ...env, ...overrides },
    ctx,
  );
  const ms = performance.now() - started;
  await waitOnExecutionContext(ctx);
  return Object.assign(response, { ms });
}

/** Postgres frozen: the tunnel answers the WebSocket and then nothing ever again. */
export const postgresDown = () => ({ PG_WS_PROXY: inject("pgFrozenProxy") });

/** Asserts the 503 `dependency_unavailable` problem naming `dependency`, with Retry-After. */
export async function expectUnavailable(response: Response, dependency: string) {
  const text = await response.text();
  expect(response.status, text).toBe(503);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const retryAfter = Number(response.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(JSON.parse(text)).toMatchObject({ code: "dependency_unavailable", dependency, retry_after_s: retryAfter });
}
