import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../app";
import { fanSecurity, problemResponses } from "../lib/schemas";
import { fanAuth } from "../middleware/fan-auth";

const Me = z.object({ fan_id: z.string() }).openapi("Me");

export const me = createRouter();
me.use("*", fanAuth());

me.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["fans"],
    summary: "The fan the bearer token identifies",
    security: fanSecurity,
    responses: {
      200: { description: "The fan", content: { "application/json": { schema: Me } } },
      ...problemResponses(401),
    },
  }),
  (c) => c.json({ fan_id: c.var.fan!.id }, 200),
);
