import { z } from "@hono/zod-openapi";

// Shapes shared by every route module: the problem document, the idempotency header and the
// security schemes. Resource schemas live beside their routes.

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ description: "Stable machine-readable error code" }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    request_id: z.string().optional(),
    dependency: z
      .enum(["postgres", "stripe", "kv", "queue", "email", "turnstile"])
      .optional()
      .openapi({ description: "With `dependency_unavailable` (503): the service that is down; see Retry-After" }),
    retry_after_s: z.number().int().optional(),
  })
  .openapi("Problem");

/** The problem+json responses a route can answer with, for the OpenAPI document. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: "Problem", content: { "application/problem+json": { schema: Problem } } },
    ]),
  );
}

export const fanSecurity = [{ fanBearer: [] }];
export const organizerSecurity = [{ organizerKey: [] }];
