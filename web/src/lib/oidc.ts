import * as oauth from "oauth4webapi";
import { signIn } from "../session";
import type { PublicConfig } from "./config";
import { readJson, writeJson } from "./storage";

// Production sign-in: OpenID Connect authorization code flow with PKCE (RFC 7636) against the
// issuer in GET /v1/config, with panva's oauth4webapi (small, maintained, no dependencies).
// The app is a public client: no client secret. The code verifier and state wait in
// sessionStorage for /callback; the token the API gets goes to sessionStorage (session.ts),
// never to a cookie. The API verifies it with FAN_JWT_JWKS_URL / FAN_JWT_ISSUER /
// FAN_JWT_AUDIENCE: the access token when an audience is configured, else the ID token.

type Oidc = NonNullable<PublicConfig["oidc"]>;
const PENDING = "onsale.oidc.pending";

interface Pending {
  verifier: string;
  state: string;
  nonce: string;
  next: string;
}

export const redirectUri = () => `${window.location.origin}/callback`;

async function discover(oidc: Oidc) {
  const issuer = new URL(oidc.issuer);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oidc" }));
}

/** Sends the browser to the issuer's sign-in page. */
export async function startSignIn(oidc: Oidc, next: string): Promise<void> {
  const as = await discover(oidc);
  if (!as.authorization_endpoint) throw new Error("the issuer has no authorization endpoint");
  const pending: Pending = {
    verifier: oauth.generateRandomCodeVerifier(),
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    next,
  };
  writeJson("session", PENDING, pending);
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set("client_id", oidc.client_id);
  url.searchParams.set("redirect_uri", redirectUri());
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", oidc.scope);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(pending.verifier));
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("state", pending.state);
  url.searchParams.set("nonce", pending.nonce);
  if (oidc.audience) url.searchParams.set("audience", oidc.audience);
  window.location.assign(url.href);
}

/** /callback: checks state, redeems the code with the PKCE verifier, signs the fan in. */
export async function completeSignIn(oidc: Oidc, current: URL): Promise<string> {
  const pending = readJson<Pending>("session", PENDING);
  writeJson("session", PENDING, null);
  if (!pending) throw new Error("no sign-in was started in this tab");
  const as = await discover(oidc);
  const client: oauth.Client = { client_id: oidc.client_id };
  const params = oauth.validateAuthResponse(as, client, current, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    redirectUri(),
    pending.verifier,
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: pending.nonce,
    requireIdToken: true,
  });
  const claims = oauth.getValidatedIdTokenClaims(result)!;
  const token = oidc.audience ? result.access_token : (result.id_token ?? result.access_token);
  const expiresIn = result.expires_in ?? (typeof claims.exp === "number" ? claims.exp - Date.now() / 1000 : 3600);
  signIn({ fan_id: claims.sub, token, expires_at_ms: Date.now() + expiresIn * 1000 });
  return pending.next;
}
