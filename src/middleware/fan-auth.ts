import type { MiddlewareHandler } from "hono";
import { bearerCredential } from "../auth/bearer";
import { type Fan, verifyFanToken } from "../auth/fan-token";

export type FanVariables = { fan: Fan };

/** Fans authenticate with a bearer JWT from the configured issuer; `sub` is the fan id. */
export function fanAuth(): MiddlewareHandler<{ Bindings: Env; Variables: FanVariables }> {
  return async function fanAuth(c, next) {
    c.set("fan", await verifyFanToken(c.env, bearerCredential(c.req.header("authorization"))));
    await next();
  };
}
