import type { ContentfulStatusCode } from "hono/utils/http-status";

export interface ProblemFieldError {
  path: string;
  message: string;
}

/**
 * The one error type of the Worker. Thrown anywhere, rendered once by `onError` as
 * RFC 9457 problem+json; `code` is the stable, machine-readable part clients switch on.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly errors?: ProblemFieldError[],
    readonly headers?: Record<string, string>,
    /** RFC 9457 extension members, e.g. the `seat_ids` a fan lost. */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const titles: Partial<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function problemBody(error: ApiError, requestId?: string) {
  return {
    type: `https://onsale.dev/problems/${error.code.replaceAll("_", "-")}`,
    title: titles[error.status] ?? "Error",
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(error.errors ? { errors: error.errors } : {}),
    ...error.extensions,
    ...(requestId ? { request_id: requestId } : {}),
  };
}

export function problemResponse(error: ApiError, requestId?: string): Response {
  return new Response(JSON.stringify(problemBody(error, requestId)), {
    status: error.status,
    headers: {
      "content-type": "application/problem+json",
      ...(requestId ? { "request-id": requestId } : {}),
      ...error.headers,
    },
  });
}

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);

/** The outside services a request can be refused for while they are down or slow. */
export type Dependency = "postgres" | "stripe" | "kv" | "queue" | "email" | "turnstile";

/**
 * 503 for a dependency that is down, slow or behind an open circuit breaker: the client is
 * told which one and when to try again, and nothing the request did is left half done.
 */
export const dependencyUnavailable = (dependency: Dependency, retryAfterS: number, why = "is not answering") =>
  new ApiError(
    503,
    "dependency_unavailable",
    `A service this request needs (${dependency}) ${why}; try again shortly`,
    undefined,
    { "retry-after": String(Math.max(1, Math.ceil(retryAfterS))) },
    { dependency, retry_after_s: Math.max(1, Math.ceil(retryAfterS)) },
  );

/**
 * The first ApiError along an error's causes: drivers and SDKs wrap what a guard threw (drizzle
 * in `cause`, Stripe's SDK in `detail`), and the problem it carries is the one to answer with.
 */
export function apiErrorWithin(error: unknown): ApiError | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e && typeof e === "object" && !seen.has(e); ) {
    seen.add(e);
    if (e instanceof ApiError) return e;
    const { cause, detail } = e as { cause?: unknown; detail?: unknown };
    e = cause ?? detail;
  }
  return undefined;
}
