// `bench:onsale -- --chaos`: mid-sale, Postgres is frozen (every process of the bench's embedded
// cluster stopped with SIGSTOP: connections stay open, nothing answers, as a stalled server or
// a network partition looks to the Worker) and, after it recovers, Stripe fails (the stand-in
// answers every API call 503). The crowd's requests around both are recorded by the load
// generator; the line printed says how many fell inside the faults, how fast they were
// answered, how many 503s and other 5xx, and how long checkout took to work again.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { sleep } from "./http.mjs";

/** Postgres's processes: the postmaster (postmaster.pid) and its children. */
function postgresPids(dataDir) {
  const postmaster = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  let children = [];
  try {
    children = execFileSync("pgrep", ["-P", String(postmaster)], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {}
  return [postmaster, ...children];
}

function signalAll(pids, signal) {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {}
  }
}

/**
 * Runs the plan in the background from `saleStart`: Postgres frozen `faultS` at `postgresAtS`,
 * Stripe failing `faultS` at `stripeAtS`; the load generator records from the first fault to
 * `tailS` after the last. Resolves to the two windows (wall ms) once all is over.
 */
export function runChaos({ loadgen, stripe, pgDataDir, saleStart, postgresAtS, stripeAtS, faultS, tailS = 30, log }) {
  let frozen = [];
  const thaw = () => signalAll(frozen, "SIGCONT");
  const done = (async () => {
    const windows = {};
    await sleep(Math.max(0, saleStart + postgresAtS * 1000 - Date.now()));
    loadgen.send({ type: "chaos", on: true });
    frozen = postgresPids(pgDataDir);
    windows.postgres = { from: Date.now() };
    signalAll(frozen, "SIGSTOP");
    log(`chaos: Postgres frozen (SIGSTOP, ${frozen.length} processes) for ${faultS} s`);
    await sleep(faultS * 1000);
    thaw();
    windows.postgres.to = Date.now();
    log("chaos: Postgres resumed");
    await sleep(Math.max(0, saleStart + stripeAtS * 1000 - Date.now()));
    windows.stripe = { from: Date.now() };
    stripe.setOutage("5xx");
    log(`chaos: Stripe answering 503 to every call for ${faultS} s`);
    await sleep(faultS * 1000);
    stripe.setOutage("off");
    windows.stripe.to = Date.now();
    log("chaos: Stripe back");
    await sleep(tailS * 1000);
    loadgen.send({ type: "chaos", on: false });
    return windows;
  })();
  return { done, thaw };
}

/** The fan requests that need each dependency: recovery is the first of them answered 2xx. */
const NEEDS = { postgres: new Set(["order", "confirm", "tickets"]), stripe: new Set(["order", "confirm"]) };

/**
 * The chaos figures from the load generator's log ([op, started at, ms, status] per request):
 * requests that started inside a fault window, their p99 answer time, 503s, other 5xx (and
 * requests never answered, status 0, counted with them), and recovery: from a fault's end to
 * the first request needing that dependency (order, confirm; for Postgres also the order page)
 * answered 2xx that started after it. `checkout_p99_ms` is the p99 of the orders and confirms
 * alone: the other requests' times are the machine's load, not the faults.
 */
export function chaosSummary(windows, entries) {
  const inside = entries.filter(([, at]) =>
    Object.values(windows).some((w) => w.to !== undefined && at >= w.from && at < w.to),
  );
  const ms = inside.map(([, , took]) => took).sort((a, b) => a - b);
  const p99 = ms.length ? ms[Math.min(ms.length - 1, Math.floor(0.99 * ms.length))] : null;
  const checkout = inside
    .filter(([op]) => NEEDS.stripe.has(op))
    .map(([, , took]) => took)
    .sort((a, b) => a - b);
  const checkoutP99 = checkout.length
    ? checkout[Math.min(checkout.length - 1, Math.floor(0.99 * checkout.length))]
    : null;
  const unavailable = inside.filter(([, , , status]) => status === 503).length;
  const other5xx = inside.filter(([, , , status]) => status === 0 || (status >= 500 && status !== 503)).length;
  const recovery = {};
  for (const [name, w] of Object.entries(windows)) {
    const firstOk = entries
      .filter(([op, at, , status]) => NEEDS[name].has(op) && at >= w.to && status >= 200 && status < 300)
      .map(([, at, took]) => at + took)
      .sort((a, b) => a - b)[0];
    recovery[name] = firstOk === undefined ? null : (firstOk - w.to) / 1000;
  }
  const recoveries = Object.values(recovery);
  const worst = recoveries.includes(null) ? null : Math.max(...recoveries);
  const byStatus = {};
  for (const [op, , , status] of inside) byStatus[`${op} ${status}`] = (byStatus[`${op} ${status}`] ?? 0) + 1;
  return {
    windows,
    requests: inside.length,
    p99_ms: p99,
    checkout_p99_ms: checkoutP99,
    unavailable_503: unavailable,
    other_5xx: other5xx,
    recovery_s: recovery,
    by_status: byStatus,
    line: `chaos: ${inside.length} requests during faults, answered within ${p99 === null ? "–" : Math.round(p99)} ms, ${unavailable} × 503, ${other5xx} × other 5xx, recovery ${worst === null ? "never" : worst.toFixed(1)} s`,
  };
}
