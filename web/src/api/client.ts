import { observeServerTime } from "../lib/server-clock";
import { session, signOut } from "../session";

// The one way the app talks to Onsale: same-origin /v1 only, problem+json turned into
// ApiProblem, the fan's bearer token when asked for, server time fed to the clock.

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    /** The API's stable `code` (e.g. `seats_unavailable`); `network` when no answer came. */
    readonly code: string,
    readonly detail: string,
    readonly body: Record<string, unknown> = {},
    readonly retryAfterS: number | null = null,
  ) {
    super(detail);
    this.name = "ApiProblem";
  }
}

export interface Call {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  body?: unknown;
  /** Send the signed-in fan's token; a 401 then signs the fan out. */
  auth?: boolean;
  /** Send this organizer API key instead (the console). */
  organizerKey?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function api<T>(path: string, call: Call = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", ...call.headers };
  if (call.body !== undefined) headers["content-type"] = "application/json";
  if (call.idempotencyKey) headers["idempotency-key"] = call.idempotencyKey;
  const token = call.organizerKey ?? (call.auth ? session.value?.token : undefined);
  if (token) headers.authorization = `Bearer ${token}`;
  const sentAt = Date.now();
  let response: Response;
  try {
    response = await fetch(path, {
      method: call.method ?? "GET",
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: call.signal,
    });
  } catch (error) {
    if (call.signal?.aborted) throw error;
    throw new ApiProblem(0, "network", String(error));
  }
  const receivedAt = Date.now();
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {}
  if (typeof body.server_time_ms === "number") observeServerTime(body.server_time_ms, sentAt, receivedAt);
  if (!response.ok) {
    const code = typeof body.code === "string" ? body.code : `http_${response.status}`;
    // An expired or unknown fan token: the fan signs in again; other 401s (an admission
    // window that closed, a queue ticket that expired) belong to the page that made the call.
    if (
      response.status === 401 &&
      call.auth &&
      ["invalid_token", "token_expired", "missing_credentials"].includes(code)
    )
      signOut();
    const retryAfter = Number(response.headers.get("retry-after"));
    throw new ApiProblem(
      response.status,
      code,
      typeof body.detail === "string" ? body.detail : response.statusText,
      body,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
    );
  }
  return body as T;
}

/** A file the API serves only to the bearer (QR codes, PDFs), as an object URL. */
export async function authorizedObjectUrl(path: string): Promise<string> {
  const token = session.value?.token;
  const response = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!response.ok) throw new ApiProblem(response.status, `http_${response.status}`, response.statusText);
  return URL.createObjectURL(await response.blob());
}
