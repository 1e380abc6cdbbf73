import { ApiError } from "../lib/problem";

export const TURNSTILE_SITEVERIFY_URL = "https://challenges.cloudflare.com/turnstile/v0/siteverify";
/**
 * siteverify answers in tens of milliseconds; a join waits at most this long for it. Past it the
 * fan is told to retry rather than let in unchecked: an outage must not open the door to bots.
 */
export const SITEVERIFY_TIMEOUT_MS = 3_000;

const challengeFailed = (errorCodes: string[]) =>
  new ApiError(
    403,
    "challenge_failed",
    "The bot check failed or is missing; complete it and try again",
    undefined,
    undefined,
    {
      turnstile_error_codes: errorCodes,
    },
  );

const verifierUnavailable = () =>
  new ApiError(
    503,
    "dependency_unavailable",
    "The bot check could not be verified just now; try again",
    undefined,
    { "retry-after": "2" },
    { dependency: "turnstile", retry_after_s: 2 },
  );

interface SiteverifyAnswer {
  success: boolean;
  "error-codes"?: string[];
}

/**
 * The fan in front of the door passed Turnstile: `token` is the widget's answer, verified once
 * with siteverify (tokens are single-use, valid 300 s). Does nothing while `TURNSTILE_SECRET_KEY`
 * is unset (development). The idempotency key lets a retried siteverify call for this token get
 * the same answer instead of "already spent".
 */
export async function requireTurnstile(env: Env, token: string | undefined, remoteIp: string | undefined) {
  const secret = env.TURNSTILE_SECRET_KEY;
  if (!secret) return;
  if (!token) throw challengeFailed(["missing-input-response"]);
  // One key for both attempts: a retry of a call whose answer was lost is answered the same,
  // instead of "already spent".
  const form = new URLSearchParams({ secret, response: token, idempotency_key: crypto.randomUUID() });
  if (remoteIp) form.set("remoteip", remoteIp);
  const deadline = AbortSignal.timeout(SITEVERIFY_TIMEOUT_MS);
  let answer: SiteverifyAnswer | undefined;
  for (let attempt = 1; !answer; attempt++) {
    try {
      const response = await fetch(env.TURNSTILE_VERIFY_URL || TURNSTILE_SITEVERIFY_URL, {
        method: "POST",
        body: form,
        signal: deadline,
      });
      if (!response.ok) throw new Error(`siteverify answered ${response.status}`);
      answer = (await response.json()) as SiteverifyAnswer;
    } catch (error) {
      if (attempt >= 2 || deadline.aborted) {
        console.error("turnstile: siteverify unavailable", error);
        throw verifierUnavailable();
      }
    }
  }
  if (answer.success !== true) throw challengeFailed(answer["error-codes"] ?? []);
}
