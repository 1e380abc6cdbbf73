import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../lib/problem";

/** The Rate Limiting bindings of wrangler.toml; each has one fixed limit per period. */
export type LimiterBinding = "IP_LIMITER" | "FAN_LIMITER" | "VELOCITY_LIMITER" | "ORGANIZER_LIMITER";

/**
 * Each binding's period in seconds, as declared in wrangler.toml (the binding does not say): a
 * refused client is told to come back after at most one window. The limits themselves, and the
 * arithmetic behind them, live in wrangler.toml and docs/trust.md.
 */
export const limiterPeriodS: Record<LimiterBinding, 10 | 60> = {
  IP_LIMITER: 10,
  FAN_LIMITER: 10,
  VELOCITY_LIMITER: 60,
  ORGANIZER_LIMITER: 10,
};

interface RouteLimits {
  /** Names the counter: each group has its own per IP and per fan, so polls never eat a fan's holds. */
  group: string;
  method: string;
  path: RegExp;
  /** Counted per client address before anything else runs, authentication included. */
  perIp: LimiterBinding;
  /** Counted per authenticated fan or organizer, right after authentication. */
  perPrincipal: LimiterBinding[];
}

/**
 * Which limits apply to which route, first match wins; routes not listed (catalog reads, served
 * from caches, and the fan's own tickets and orders) have none. Holds and releases share the
 * velocity counter: together they are the seat churn a person cannot do faster than one every 3 s.
 */
export const routeLimits: RouteLimits[] = [
  {
    group: "join",
    method: "POST",
    path: /^\/v1\/waiting-room\/sessions\/?$/,
    perIp: "IP_LIMITER",
    perPrincipal: ["FAN_LIMITER"],
  },
  {
    group: "poll",
    method: "GET",
    path: /^\/v1\/waiting-room\/sessions\/[^/]+\/?$/,
    perIp: "IP_LIMITER",
    perPrincipal: ["FAN_LIMITER"],
  },
  {
    group: "hold",
    method: "POST",
    path: /^\/v1\/shows\/[^/]+\/holds\/?$/,
    perIp: "IP_LIMITER",
    perPrincipal: ["FAN_LIMITER", "VELOCITY_LIMITER"],
  },
  {
    group: "hold",
    method: "DELETE",
    path: /^\/v1\/holds\/[^/]+\/?$/,
    perIp: "IP_LIMITER",
    perPrincipal: ["FAN_LIMITER", "VELOCITY_LIMITER"],
  },
  {
    group: "order",
    method: "POST",
    path: /^\/v1\/orders(\/[^/]+\/cancel)?\/?$/,
    perIp: "IP_LIMITER",
    perPrincipal: ["FAN_LIMITER"],
  },
  {
    group: "confirm",
    method: "POST",
    path: /^\/v1\/payments\/[^/]+\/confirm\/?$/,
    perIp: "IP_LIMITER",
    perPrincipal: ["FAN_LIMITER"],
  },
  {
    group: "waitlist",
    method: "*",
    path: /^\/v1\/shows\/[^/]+\/waitlist\/?$/,
    perIp: "IP_LIMITER",
    perPrincipal: ["FAN_LIMITER"],
  },
  // Live seat-map connections: a reconnect storm after a deploy is spread by the clients' jitter;
  // one address reconnecting far faster than a stadium's crowd is a flood.
  {
    group: "live",
    method: "GET",
    path: /^\/v1\/shows\/[^/]+\/seat-map\/live\/?$/,
    perIp: "IP_LIMITER",
    perPrincipal: [],
  },
  { group: "organizer", method: "*", path: /^\/v1\/admin\//, perIp: "IP_LIMITER", perPrincipal: ["ORGANIZER_LIMITER"] },
];

export function limitsFor(method: string, path: string): RouteLimits | undefined {
  return routeLimits.find((limits) => (limits.method === "*" || limits.method === method) && limits.path.test(path));
}

const rateLimited = (group: string, scope: string, binding: LimiterBinding) =>
  new ApiError(
    429,
    "rate_limited",
    `Too many ${group} requests from this ${scope}; try again later`,
    undefined,
    { "retry-after": String(limiterPeriodS[binding]) },
    { limit_group: group, limit_scope: scope },
  );

async function allowed(env: Env, binding: LimiterBinding, key: string): Promise<boolean> {
  try {
    return (await env[binding].limit({ key })).success;
  } catch (error) {
    // A limiter that cannot answer must not close the door on an on-sale: let the request in.
    console.error("rate limit: limiter failed", binding, error);
    return true;
  }
}

/**
 * Mounted before every route: a client address over its route group's limit is refused before
 * authentication, validation or any Durable Object or database call. Requests without
 * `CF-Connecting-IP` did not come through Cloudflare's edge (tests, service bindings) and
 * have no address to count.
 */
export function rateLimit(): MiddlewareHandler<{ Bindings: Env }> {
  return async function rateLimit(c, next) {
    const limits = limitsFor(c.req.method, c.req.path);
    const ip = c.req.header("cf-connecting-ip");
    if (limits && ip && !(await allowed(c.env, limits.perIp, `${limits.group}:ip:${ip}`))) {
      throw rateLimited(limits.group, "address", limits.perIp);
    }
    await next();
  };
}

/**
 * The per-fan (or per-organizer) half, called by the authentication middlewares once they know
 * who is asking: keyed by the verified identity, so nobody can spend someone else's allowance.
 */
export async function limitPrincipal<E extends { Bindings: Env }>(
  c: Context<E>,
  kind: "fan" | "organizer",
  principalId: string,
) {
  const limits = limitsFor(c.req.method, c.req.path);
  if (!limits) return;
  for (const binding of limits.perPrincipal) {
    // Velocity counts holds and releases together, whichever route they came by.
    const counter = binding === "VELOCITY_LIMITER" ? "seat-churn" : limits.group;
    if (!(await allowed(c.env, binding, `${counter}:${kind}:${principalId}`))) {
      throw rateLimited(binding === "VELOCITY_LIMITER" ? "hold and release" : limits.group, kind, binding);
    }
  }
}
