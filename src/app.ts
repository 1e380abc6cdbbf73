import type { Hook } from "@hono/zod-openapi";
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
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
  const router = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const openapi = router.openapi;
  // A route's headers are validated by its zod schema as @hono/zod-openapi would, but from the
  // headers the schema names only: its validator first copies every request header into an
  // object (`c.req.header()`), which on a queue poll or a hold cost more than the schema check
  // itself. The route is documented unchanged; validation order is headers, params, body.
  router.openapi = ((route, handler, hook) => {
    const headers = route.request?.headers;
    if (!(headers instanceof z.ZodObject)) return openapi(route, handler, hook);
    const { middleware, hide, ...documented } = route;
    if (!hide) router.openAPIRegistry.registerPath(documented);
    const validate = namedHeaders(headers);
    return openapi(
      {
        ...route,
        hide: true,
        request: { ...route.request, headers: undefined },
        middleware: [validate, ...(middleware ? [middleware].flat() : [])],
      },
      handler,
      hook,
    );
  }) as typeof openapi;
  return router;
}

function namedHeaders(schema: z.ZodObject): MiddlewareHandler<AppEnv> {
  const names = Object.keys(schema.shape);
  return async function validateHeaders(c, next) {
    const named: Record<string, string> = {};
    for (const name of names) {
      const value = c.req.header(name);
      if (value !== undefined) named[name] = value;
    }
    const result = await schema.safeParseAsync(named);
    if (!result.success) {
      validationHook({ success: false, error: result.error, data: named, target: "header" } as never, c as never);
    }
    c.req.addValidatedData("header", result.data as Record<string, string>);
    await next();
  };
}
