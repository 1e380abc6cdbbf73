import type { MiddlewareHandler } from "hono";
import { bearerCredential } from "../auth/bearer";
import { findOrganizerByKey, type Organizer } from "../auth/organizer-key";
import type { DatabaseVariables } from "./database";
import { limitPrincipal } from "./rate-limit";

export type OrganizerVariables = { organizer: Organizer };

/**
 * Organizers authenticate with an API key; every object they touch is scoped to them. The
 * organizer's rate limit is counted here, the first moment the organizer is known.
 */
export function organizerAuth(): MiddlewareHandler<{
  Bindings: Env;
  Variables: OrganizerVariables & DatabaseVariables;
}> {
  return async function organizerAuth(c, next) {
    const organizer = await findOrganizerByKey(c.var.db, bearerCredential(c.req.header("authorization")));
    await limitPrincipal(c, "organizer", organizer.id);
    c.set("organizer", organizer);
    await next();
  };
}
