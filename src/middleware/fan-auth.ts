import type { MiddlewareHandler } from "hono";
import { bearerCredential } from "../auth/bearer";
import { type Fan, verifyFanToken } from "../auth/fan-token";
import { limitPrincipal } from "./rate-limit";

export type FanVariables = { fan: Fan };

/**
 * Fans authenticate with a bearer JWT from the configured issuer; `sub` is the fan id. The
 * fan's own rate limits are counted here, the first moment the fan is known.
 */
export function fanAuth(): MiddlewareHandler<{ Bindings: Env; Variables: FanVariables }> {
  return async function fanAuth(c, next) {
    const fan = await verifyFanToken(c.env, bearerCredential(c.req.header("authorization")));
    await limitPrincipal(c, "fan", fan.id);
    c.set("fan", fan);
    await next();
  };
}
