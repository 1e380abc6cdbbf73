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
