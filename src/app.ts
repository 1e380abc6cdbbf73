import type { Hook } from "@hono/zod-openapi";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { RequestIdVariables } from "hono/request-id";
import { ApiError } from "./lib/problem";
import type { DatabaseVariables } from "./middleware/database";
import type { FanVariables } from "./middleware/fan-auth";
import type { OrganizerVariables } from "./middleware/organizer-auth";

export type AppEnv = {
  Bindings: Env;
  Variables: RequestIdVariables & Partial<DatabaseVariables & FanVariables & OrganizerVariables>;
};

const codeByTarget: Record<string, string> = {
  json: "validation_failed",
  query: "invalid_query",
  param: "invalid_path",
  header: "invalid_header",
};

/**
 * Every zod failure becomes one problem listing each issue by path: 400 for the URL and
 * headers (the request itself is malformed), 422 for a well-formed JSON body that fails
 * validation.
 */
const validationHook: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (result.success) return;
  const errors = result.error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.join(".") : "(root)",
    message: issue.message,
  }));
  const target = "target" in result ? String(result.target) : "json";
  if (target === "header" && result.error.issues.every((issue) => issue.path[0] === "idempotency-key")) {
    throw new ApiError(400, "idempotency_key_required", "Send an Idempotency-Key header of 1–255 characters", errors);
  }
  const status = target === "json" ? 422 : 400;
  throw new ApiError(status, codeByTarget[target] ?? "validation_failed", `The request ${target} is invalid`, errors);
};

/** A router for one resource; all share the validation hook so there is one error path. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}
