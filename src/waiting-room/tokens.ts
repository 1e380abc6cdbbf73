import { errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { KEY_RANDOM_SPACE, type QueueKey } from "../../durable-objects/queue-key";
import { hmacKey } from "../auth/hmac-key";
import { ApiError } from "../lib/problem";

// Queue tickets and admission tokens are signed and checked by the Worker itself, at the
// edge, so HS256 with one secret is enough and the fastest; the algorithm is pinned and the
// `typ` header keeps the two kinds (and any other JWT) from standing in for each other.

const QUEUE_TYP = "onsale-queue+jwt";
const ADMISSION_TYP = "onsale-admission+jwt";
const ALGORITHMS = ["HS256"];

export interface QueueTicket {
  fanId: string;
  showId: string;
  sessionId: string;
  /** The place's order, drawn at the edge when the fan arrived (the DO may correct it). */
  key: QueueKey;
  /** Earliest time the next poll is worth answering. */
  nextPollAtMs: number;
  expiresAtMs: number;
  /**
   * Set once the DO has settled the place, so later polls are answered at the edge: admitted
   * until this time (the admission's own expiry), or ended (expired or dropped).
   */
  admittedUntilMs?: number;
  ended?: boolean;
}

export interface AdmissionToken {
  fanId: string;
  showId: string;
  sessionId: string;
  expiresAtMs: number;
}

function secretKey(env: Pick<Env, "QUEUE_TICKET_SECRET">): Promise<CryptoKey> {
  const secret = env.QUEUE_TICKET_SECRET;
  if (!secret) throw new ApiError(503, "waiting_room_not_configured", "QUEUE_TICKET_SECRET is not set");
  return hmacKey(secret);
}

export async function signQueueTicket(env: Pick<Env, "QUEUE_TICKET_SECRET">, ticket: QueueTicket): Promise<string> {
  return new SignJWT({
    show: ticket.showId,
    sid: ticket.sessionId,
    k: [ticket.key.ms, ticket.key.rnd],
    nxt: ticket.nextPollAtMs,
    ...(ticket.admittedUntilMs !== undefined ? { adm: ticket.admittedUntilMs } : {}),
    ...(ticket.ended ? { end: true } : {}),
  })
    .setProtectedHeader({ alg: "HS256", typ: QUEUE_TYP })
    .setSubject(ticket.fanId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(ticket.expiresAtMs / 1000))
    .sign(await secretKey(env));
}

export async function signAdmissionToken(
  env: Pick<Env, "QUEUE_TICKET_SECRET">,
  token: AdmissionToken,
): Promise<string> {
  return new SignJWT({ show: token.showId, sid: token.sessionId })
    .setProtectedHeader({ alg: "HS256", typ: ADMISSION_TYP })
    .setSubject(token.fanId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(token.expiresAtMs / 1000))
    .sign(await secretKey(env));
}

async function verify(
  env: Pick<Env, "QUEUE_TICKET_SECRET">,
  token: string,
  typ: string,
  invalidCode: string,
): Promise<JWTPayload | "expired"> {
  try {
    const { payload } = await jwtVerify(token, await secretKey(env), {
      algorithms: ALGORITHMS,
      typ,
      requiredClaims: ["exp", "sub"],
    });
    return payload;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof errors.JWTExpired) return "expired";
    throw new ApiError(401, invalidCode, "The token is not one this waiting room issued");
  }
}

export async function verifyQueueTicket(
  env: Pick<Env, "QUEUE_TICKET_SECRET">,
  token: string,
): Promise<QueueTicket | "expired"> {
  const payload = await verify(env, token, QUEUE_TYP, "invalid_ticket");
  if (payload === "expired") return payload;
  const { sub, show, sid, k, nxt, exp, adm, end } = payload as JWTPayload & Record<string, unknown>;
  if (
    typeof show !== "string" ||
    typeof sid !== "string" ||
    typeof nxt !== "number" ||
    !isKey(k) ||
    !(adm === undefined || typeof adm === "number") ||
    !(end === undefined || end === true)
  ) {
    throw new ApiError(401, "invalid_ticket", "The waiting-room ticket is malformed");
  }
  return {
    fanId: sub!,
    showId: show,
    sessionId: sid,
    key: { ms: k[0], rnd: k[1] },
    nextPollAtMs: nxt,
    expiresAtMs: exp! * 1000,
    ...(adm !== undefined ? { admittedUntilMs: adm } : {}),
    ...(end ? { ended: true } : {}),
  };
}

function isKey(value: unknown): value is [number, number] {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    Number.isSafeInteger(value[0]) &&
    value[0] >= 0 &&
    Number.isSafeInteger(value[1]) &&
    value[1] >= 0 &&
    value[1] < KEY_RANDOM_SPACE
  );
}

export async function verifyAdmissionToken(
  env: Pick<Env, "QUEUE_TICKET_SECRET">,
  token: string,
): Promise<AdmissionToken | "expired"> {
  const payload = await verify(env, token, ADMISSION_TYP, "invalid_admission_token");
  if (payload === "expired") return payload;
  const { sub, show, sid, exp } = payload as JWTPayload & Record<string, unknown>;
  if (typeof show !== "string" || typeof sid !== "string") {
    throw new ApiError(401, "invalid_admission_token", "The admission token is malformed");
  }
  return { fanId: sub!, showId: show, sessionId: sid, expiresAtMs: exp! * 1000 };
}

/**
 * While a show's waiting room is on, holding seats takes an admission token for that show and
 * that fan, checked here at the edge without asking the DO.
 */
export async function requireAdmission(
  env: Pick<Env, "QUEUE_TICKET_SECRET">,
  header: string | undefined,
  showId: string,
  fanId: string,
): Promise<AdmissionToken> {
  if (!header) throw new ApiError(401, "admission_required", "This show has a waiting room: send its Admission-Token");
  const token = await verifyAdmissionToken(env, header);
  if (token === "expired") throw new ApiError(401, "admission_expired", "The admission window has closed");
  if (token.showId !== showId)
    throw new ApiError(403, "admission_mismatch", "This admission token is for another show");
  if (token.fanId !== fanId) throw new ApiError(403, "admission_mismatch", "This admission token is for another fan");
  return token;
}
