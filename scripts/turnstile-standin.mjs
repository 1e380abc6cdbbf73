// A local stand-in for Cloudflare Turnstile's siteverify endpoint, so `npm run dev` and the tests
// verify tokens without the internet (siteverify needs it even with Cloudflare's test keys). It
// answers as siteverify does (https://developers.cloudflare.com/turnstile/get-started/server-side-validation/):
// form-encoded or JSON `secret`, `response`, `remoteip`, `idempotency_key`; `{ success,
// "error-codes", challenge_ts, hostname, action, cdata }`.
//
// Cloudflare's documented test secrets behave as documented, whatever the token:
//   1x0000000000000000000000000000000AA  always passes
//   2x0000000000000000000000000000000AA  always fails      (invalid-input-response)
//   3x0000000000000000000000000000000AA  already spent     (timeout-or-duplicate)
// Any other secret is treated as a production secret: it refuses the test widgets' dummy token
// `XXXX.DUMMY.TOKEN.XXXX`, accepts any other token once, and answers a second use with
// timeout-or-duplicate. A retry with the same `idempotency_key` gets the first answer again.
//
// Test controls: POST /_standin/stall answers nothing for a minute (a siteverify outage that
// times out); GET /_standin/requests lists what was asked, oldest first.
import { createServer } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export const TEST_SECRETS = {
  pass: "1x0000000000000000000000000000000AA",
  fail: "2x0000000000000000000000000000000AA",
  spent: "3x0000000000000000000000000000000AA",
};
export const DUMMY_TOKEN = "XXXX.DUMMY.TOKEN.XXXX";
const STALL_MS = 60_000;

async function readParams(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  if ((request.headers["content-type"] ?? "").includes("application/json")) {
    try {
      return JSON.parse(text);
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

export async function startTurnstileStandin({ port = 0, log = () => {} } = {}) {
  const spent = new Set();
  /** idempotency_key → the answer first given under it. */
  const answered = new Map();
  const requests = [];
  const shutdown = new AbortController();

  function verify({ secret, response, remoteip, idempotency_key: key }) {
    if (key && answered.has(key)) return answered.get(key);
    const outcome = (errorCodes) => ({
      success: errorCodes.length === 0,
      "error-codes": errorCodes,
      ...(errorCodes.length === 0
        ? { challenge_ts: new Date().toISOString(), hostname: "localhost", action: "", cdata: "" }
        : {}),
      ...(remoteip ? { metadata: { remoteip } } : {}),
    });
    let answer;
    if (!secret) answer = outcome(["missing-input-secret"]);
    else if (!response) answer = outcome(["missing-input-response"]);
    else if (secret === TEST_SECRETS.pass) answer = outcome([]);
    else if (secret === TEST_SECRETS.fail) answer = outcome(["invalid-input-response"]);
    else if (secret === TEST_SECRETS.spent) answer = outcome(["timeout-or-duplicate"]);
    else if (response === DUMMY_TOKEN) answer = outcome(["invalid-input-response"]);
    else if (spent.has(response)) answer = outcome(["timeout-or-duplicate"]);
    else {
      spent.add(response);
      answer = outcome([]);
    }
    if (key) answered.set(key, answer);
    return answer;
  }

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://standin");
    const send = (status, body) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.method === "POST" && url.pathname === "/turnstile/v0/siteverify") {
      const params = await readParams(request);
      requests.push(params);
      const answer = verify(params);
      log(`siteverify → ${answer.success ? "pass" : answer["error-codes"].join(",")}`);
      return send(200, answer);
    }
    if (request.method === "POST" && url.pathname === "/_standin/stall") {
      const timer = setTimeout(() => send(200, { success: true, "error-codes": [] }), STALL_MS);
      shutdown.signal.addEventListener("abort", () => clearTimeout(timer));
      request.on("close", () => clearTimeout(timer));
      return;
    }
    if (request.method === "GET" && url.pathname === "/_standin/requests") return send(200, requests);
    send(404, { success: false, "error-codes": ["not-found"] });
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const actualPort = server.address().port;
  const url = `http://127.0.0.1:${actualPort}`;
  return {
    url,
    verifyUrl: `${url}/turnstile/v0/siteverify`,
    close() {
      shutdown.abort();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "12112" } } });
  const standin = await startTurnstileStandin({ port: Number(values.port), log: (line) => console.log(line) });
  console.log(`Turnstile stand-in: siteverify at ${standin.verifyUrl}`);
  for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => standin.close().then(() => process.exit(0)));
}
