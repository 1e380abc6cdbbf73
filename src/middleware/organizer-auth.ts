import type { MiddlewareHandler } from "hono";
import { bearerCredential } from "../auth/bearer";
import { findOrganizerByKey, type Organizer } from "../auth/organizer-key";
import type { DatabaseVariables } from "./database";

export type OrganizerVariables = { organizer: Organizer };

/** Organizers authenticate with an API key; every object they touch is scoped to them. */
export function organizerAuth(): MiddlewareHandler<{
  Bindings: Env;
  Variables: OrganizerVariables & DatabaseVariables;
}> {
  return async function organizerAuth(c, next) {
    c.set("organizer", await findOrganizerByKey(c.var.db, bearerCredential(c.req.header("authorization"))));
    await next();
  };
}
