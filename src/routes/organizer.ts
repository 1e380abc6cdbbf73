import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../app";
import { organizerSecurity, problemResponses } from "../lib/schemas";
import { organizerDatabase } from "../middleware/database";
import { organizerAuth } from "../middleware/organizer-auth";

const OrganizerBody = z.object({ organizer_id: z.string(), name: z.string() }).openapi("Organizer");

export const organizer = createRouter();
organizer.use("*", organizerDatabase(), organizerAuth());

organizer.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["organizers"],
    summary: "The organizer the API key belongs to",
    security: organizerSecurity,
    responses: {
      200: { description: "The organizer", content: { "application/json": { schema: OrganizerBody } } },
      ...problemResponses(401, 429),
    },
  }),
  (c) => c.json({ organizer_id: c.var.organizer!.id, name: c.var.organizer!.name }, 200),
);
