import { ApiError } from "../lib/problem";

/** The credential after `Bearer `, or a 401 that says what was wrong with the header. */
export function bearerCredential(header: string | undefined): string {
  if (!header) {
    throw new ApiError(401, "missing_credentials", "An Authorization: Bearer header is required", undefined, {
      "www-authenticate": "Bearer",
    });
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw new ApiError(
      401,
      "invalid_authorization_header",
      "The Authorization header must be 'Bearer <credential>'",
      undefined,
      {
        "www-authenticate": "Bearer",
      },
    );
  }
  return match[1];
}
