// The fans of `npm run bench:waiting-room`: 10,000 (or --fans) queue places held in one process
// of its own (forked with IPC, like bench/loadgen.mjs, so its CPU is measured apart from the
// server's), each fan with its bearer token, session and latest queue ticket.
//
// A fan polls only when its own ticket says it may: after every answer it waits poll_after_ms
// from the moment the answer arrived (what a browser's setTimeout does), which is never before
// the ticket's `nxt` claim; a 429 would push it back by Retry-After. Nothing is re-signed here:
// the ticket sent is always the one the server issued last. Tickets are only decoded (not
// verified) to read the queue key `k: [ms, rnd]` (drawn at the edge when the fan arrived) and
// `exp`. After the joins every fan gets its `rank`: its place in key order among the fans, 1
// first — the order the DO must admit them in.
//
// Three kinds of work, one at a time:
//   join    every fan joins the show's queue (POST /v1/waiting-room/sessions), `concurrency` at once
//   storm   the join storm: every fan (or the first `count`) joins another show's queue as fast as
//           `connections` closed-loop connections allow; the fans' own places are left alone
//   closed  a closed loop for `durationS` on `connections` keep-alive connections: each free
//           connection sends the next request at once — for "noop", GET /v1/dev/noop; for
//           "poll", the poll of the fan whose turn to poll is the earliest, waiting for it if no
//           fan may poll yet. The no-op and the polls go through the same client code, so their
//           rates compare the server, not two clients.
//   paced   open loop until `endAtMs`: every fan polls at its own cadence, as real fans would
//           (at most `maxInFlight` at once; lateness is recorded), or only the fans up to rank
//           `onlyRankUpTo` (the others stay queued without polling).
//
// Which answers needed the DO is counted by the orchestrator, at the DO binding; seen from here,
// an admission can only come from the DO, and a ticket whose `exp` moved was renewed (by the
// edge or the DO, depending on the code under test).
//
//   forked: { id, type: "init" | "retarget" | "join" | "closed" | "paced" | "state", args } →
//           { id, type: "start" }, { id, type: "done" }, { id, type: "result", result } | { id, type: "error" }
import { readFileSync } from "node:fs";
import { Pool } from "undici";

let baseUrl = null;
let fans = [];

/** Fans by the time their next poll is due (a binary min-heap). */
class DueHeap {
  items = [];
  get size() {
    return this.items.length;
  }
  peek() {
    return this.items[0];
  }
  push(fan) {
    const a = this.items;
    a.push(fan);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent].due <= a[i].due) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }
  pop() {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].due < a[m].due) m = l;
        if (r < a.length && a[r].due < a[m].due) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}
const heap = new DueHeap();

const claimsOf = (ticket) => JSON.parse(Buffer.from(ticket.split(".")[1], "base64url").toString("utf8"));
/** The queue key a ticket carries (`k: [ms, rnd]`), or null. */
const keyOf = (claims) => (Array.isArray(claims.k) ? { ms: claims.k[0], rnd: claims.k[1] } : null);
const compareKeys = (a, b) => a.ms - b.ms || a.rnd - b.rnd;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Counts and latencies of one piece of work; `timeline` buckets by wall-clock second. */
class Recorder {
  constructor({ timeline = false } = {}) {
    this.latencies = [];
    this.statuses = {};
    this.refusals = {};
    this.ok = 0;
    this.errors = 0;
    this.tooFast = 0;
    this.admitted = 0;
    this.expMoved = 0;
    this.otherStatus = 0;
    this.admissions = [];
    this.waits = 0;
    this.timeline = timeline ? new Map() : null;
  }
  bucket(nowMs) {
    if (!this.timeline) return null;
    const second = Math.floor(nowMs / 1000);
    let b = this.timeline.get(second);
    if (!b) {
      b = {
        t: second,
        polls: 0,
        admitted: 0,
        exp_moved: 0,
        too_fast: 0,
        errors: 0,
        latency_sum_ms: 0,
        latency_max_ms: 0,
        sent: 0,
        late_max_ms: 0,
        late_over_1s: 0,
      };
      this.timeline.set(second, b);
    }
    return b;
  }
  summary(wallS, cpuS) {
    const l = this.latencies.sort((a, b) => a - b);
    const pct = (p) => (l.length ? l[Math.min(l.length - 1, Math.floor(p * l.length))] : null);
    return {
      wall_s: wallS,
      responses: l.length,
      ok: this.ok,
      ok_per_s: this.ok / wallS,
      statuses: this.statuses,
      refusals: this.refusals,
      errors: this.errors,
      too_fast_429: this.tooFast,
      admitted_answers: this.admitted,
      exp_moved_answers: this.expMoved,
      other_status_answers: this.otherStatus,
      key_changed_answers: this.keyChanged ?? 0,
      waits_for_a_due_fan: this.waits,
      latency_ms: {
        p50: pct(0.5),
        p90: pct(0.9),
        p95: pct(0.95),
        p99: pct(0.99),
        max: l.at(-1) ?? null,
        mean: l.length ? l.reduce((a, b) => a + b, 0) / l.length : null,
      },
      cpu_s: cpuS,
      admissions: this.admissions,
      timeline: this.timeline ? [...this.timeline.values()].sort((a, b) => a.t - b.t) : undefined,
    };
  }
}

/** The first few refused answers' bodies, to say what went wrong. */
const refusalSamples = [];
function sampleRefusal(status, text) {
  if (refusalSamples.length < 5) refusalSamples.push(`${status} ${text.slice(0, 3000)}`);
}

function refusalCode(status, text) {
  try {
    return `${status} ${JSON.parse(text).code}`;
  } catch {
    return String(status);
  }
}

/** One poll of one fan with the ticket it holds; updates the fan from the answer. */
async function poll(pool, fan, rec, { checkoutWindowMs }) {
  const t0 = performance.now();
  let response;
  let text;
  try {
    response = await pool.request({
      method: "GET",
      path: fan.path,
      headers: { authorization: fan.auth, "waiting-room-ticket": fan.ticket },
    });
    text = await response.body.text();
  } catch {
    rec.errors++;
    const b = rec.bucket(Date.now());
    if (b) b.errors++;
    fan.due = Date.now() + 1000;
    return;
  }
  const ms = performance.now() - t0;
  const now = Date.now();
  rec.latencies.push(ms);
  const klass = `${Math.floor(response.statusCode / 100)}xx`;
  rec.statuses[klass] = (rec.statuses[klass] ?? 0) + 1;
  fan.polls++;
  const b = rec.bucket(now);
  if (response.statusCode === 429) {
    rec.tooFast++;
    if (b) b.too_fast++;
    fan.due = now + Number(response.headers["retry-after"] ?? 1) * 1000;
    return;
  }
  if (response.statusCode !== 200) {
    const code = refusalCode(response.statusCode, text);
    rec.refusals[code] = (rec.refusals[code] ?? 0) + 1;
    fan.status = "gone";
    fan.lastRefusal = code;
    return;
  }
  rec.ok++;
  const body = JSON.parse(text);
  const claims = claimsOf(body.ticket);
  if (b) {
    b.polls++;
    b.latency_sum_ms += ms;
    if (ms > b.latency_max_ms) b.latency_max_ms = ms;
  }
  if (body.status === "admitted") {
    rec.admitted++;
    if (b) b.admitted++;
    fan.status = "admitted";
    rec.admissions.push({
      fan: fan.i,
      rank: fan.rank,
      // The admission token expires one checkout window after the DO admitted the fan.
      admitted_at_ms: body.admission_expires_at_ms - checkoutWindowMs,
      seen_at_ms: now,
    });
  } else if (body.status !== "waiting") {
    rec.otherStatus++;
    fan.status = body.status;
  } else if (claims.exp !== fan.exp) {
    rec.expMoved++;
    if (b) b.exp_moved++;
  }
  fan.ticket = body.ticket;
  fan.exp = claims.exp;
  const key = keyOf(claims);
  if (key && fan.key && compareKeys(key, fan.key) !== 0) rec.keyChanged = (rec.keyChanged ?? 0) + 1;
  fan.pollAfterMs = body.poll_after_ms;
  // As a browser would: poll again poll_after_ms after this answer arrived (never before `nxt`).
  fan.due = Math.max(now + body.poll_after_ms, claims.nxt);
}

function retarget({ url }) {
  baseUrl = url;
  return { url };
}

function init({ url, tokensFile, fanIds }) {
  baseUrl = url;
  const tokens = JSON.parse(readFileSync(tokensFile, "utf8"));
  fans = fanIds.map((id, i) => ({
    i,
    id,
    auth: `Bearer ${tokens[i]}`,
    status: "new",
    polls: 0,
  }));
  return { fans: fans.length };
}

async function join({ showId, concurrency }, hooks) {
  const pool = new Pool(baseUrl, { connections: concurrency, pipelining: 1 });
  const rec = new Recorder();
  const body = JSON.stringify({ show_id: showId });
  let next = 0;
  let created = 0;
  let retried5xx = 0;
  hooks.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const startedAt = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < fans.length) {
        const fan = fans[next++];
        const s = performance.now();
        const sentAt = Date.now();
        try {
          let response = await pool.request({
            method: "POST",
            path: "/v1/waiting-room/sessions",
            headers: { authorization: fan.auth, "content-type": "application/json" },
            body,
          });
          let text = await response.body.text();
          // A 5xx is the server's failure: a fan's app tries again (up to three times), and
          // the retries are counted and reported; the queue needs every fan.
          for (let attempt = 0; response.statusCode >= 500 && attempt < 3; attempt++) {
            retried5xx++;
            sampleRefusal(response.statusCode, text);
            await sleep(100);
            response = await pool.request({
              method: "POST",
              path: "/v1/waiting-room/sessions",
              headers: { authorization: fan.auth, "content-type": "application/json" },
              body,
            });
            text = await response.body.text();
          }
          rec.latencies.push(performance.now() - s);
          if (response.statusCode !== 201 && response.statusCode !== 200) {
            sampleRefusal(response.statusCode, text);
            const code = refusalCode(response.statusCode, text);
            rec.refusals[code] = (rec.refusals[code] ?? 0) + 1;
            fan.status = "gone";
            continue;
          }
          if (response.statusCode === 201) created++;
          rec.ok++;
          const answer = JSON.parse(text);
          const claims = claimsOf(answer.ticket);
          Object.assign(fan, {
            status: answer.status,
            sessionId: answer.session_id,
            path: `/v1/waiting-room/sessions/${answer.session_id}`,
            ticket: answer.ticket,
            key: keyOf(claims),
            position: answer.position,
            positionRange: answer.position_range,
            sentAt,
            exp: claims.exp,
            iat: claims.iat,
            joinedAt: Date.now(),
            due: Math.max(Date.now() + answer.poll_after_ms, claims.nxt),
          });
          if (fan.status === "waiting") heap.push(fan);
        } catch {
          rec.errors++;
          fan.status = "gone";
        }
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  hooks.done();
  await pool.close();
  const { admissions: _a, ...summary } = rec.summary(wallS, (cpu.user + cpu.system) / 1e6);
  // Ranks: the fans in key order, 1 first — the order the DO must admit them in.
  const keyed = fans.filter((f) => f.key).sort((a, b) => compareKeys(a.key, b.key));
  keyed.forEach((f, i) => {
    f.rank = i + 1;
  });
  // A key's time is the edge's clock at arrival (the same machine's clock here): between the
  // moment the join was sent and its answer came back, but for the pre-queue's 0.
  const keyOutsideItsRequest = keyed.filter(
    (f) => f.key.ms !== 0 && (f.key.ms < f.sentAt - 2 || f.key.ms > f.joinedAt + 2),
  ).length;
  return {
    ...summary,
    started_at_ms: startedAt,
    ended_at_ms: Date.now(),
    created,
    fans_waiting: fans.filter((f) => f.status === "waiting").length,
    distinct_keys: new Set(keyed.map((f) => `${f.key.ms}:${f.key.rnd}`)).size,
    pre_queue_keys: keyed.filter((f) => f.key.ms === 0).length,
    key_ms_range: keyed.length ? [keyed[0].key.ms, keyed.at(-1).key.ms] : null,
    keys_outside_their_request: keyOutsideItsRequest,
    retried_5xx: retried5xx,
    ticket_ttl_s: fans[0]?.exp && fans[0]?.iat ? fans[0].exp - fans[0].iat : null,
    refusal_samples: refusalSamples.splice(0),
  };
}

/**
 * The join storm: fans join `showId` (a show of its own, so their real places elsewhere are left
 * alone) in a closed loop on `connections` connections, each sending the next fan's join as soon
 * as the previous answer is read — as fast as the machine allows, through the same client code
 * as the no-op cells. Each join is answered at the edge; the answers are only checked (201, a
 * ticket with a key, all keys distinct).
 */
async function storm({ showId, connections, count }, hooks) {
  const pool = new Pool(baseUrl, { connections, pipelining: 1 });
  const rec = new Recorder();
  const body = JSON.stringify({ show_id: showId });
  const n = Math.min(count ?? fans.length, fans.length);
  const keys = new Set();
  let next = 0;
  let created = 0;
  let noKey = 0;
  hooks.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const startedAt = Date.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < n) {
        const fan = fans[next++];
        const s = performance.now();
        try {
          const response = await pool.request({
            method: "POST",
            path: "/v1/waiting-room/sessions",
            headers: { authorization: fan.auth, "content-type": "application/json" },
            body,
          });
          const text = await response.body.text();
          rec.latencies.push(performance.now() - s);
          const klass = `${Math.floor(response.statusCode / 100)}xx`;
          rec.statuses[klass] = (rec.statuses[klass] ?? 0) + 1;
          if (response.statusCode !== 201) {
            sampleRefusal(response.statusCode, text);
            const code = refusalCode(response.statusCode, text);
            rec.refusals[code] = (rec.refusals[code] ?? 0) + 1;
            continue;
          }
          created++;
          rec.ok++;
          const key = keyOf(claimsOf(JSON.parse(text).ticket));
          if (key) keys.add(`${key.ms}:${key.rnd}`);
          else noKey++;
        } catch {
          rec.errors++;
        }
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  hooks.done();
  await pool.close();
  const { admissions: _a, ...summary } = rec.summary(wallS, (cpu.user + cpu.system) / 1e6);
  return {
    kind: "join",
    connections,
    ...summary,
    started_at_ms: startedAt,
    ended_at_ms: Date.now(),
    joins: n,
    created,
    distinct_keys: keys.size,
    tickets_without_key: noKey,
    refusal_samples: refusalSamples.splice(0),
  };
}

async function closed({ kind, connections, durationS, checkoutWindowMs }, hooks) {
  const pool = new Pool(baseUrl, { connections, pipelining: 1 });
  const rec = new Recorder();
  hooks.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + durationS * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        if (kind === "noop") {
          const s = performance.now();
          try {
            const response = await pool.request({ method: "GET", path: "/v1/dev/noop" });
            await response.body.text();
            rec.latencies.push(performance.now() - s);
            const klass = `${Math.floor(response.statusCode / 100)}xx`;
            rec.statuses[klass] = (rec.statuses[klass] ?? 0) + 1;
            if (response.statusCode === 200) rec.ok++;
          } catch {
            rec.errors++;
          }
          continue;
        }
        const fan = heap.peek();
        if (!fan) break;
        const wait = fan.due - Date.now();
        if (wait > 0) {
          // No fan may poll yet: wait for the first one rather than poll early.
          rec.waits++;
          await sleep(Math.min(wait, end - performance.now(), 50));
          continue;
        }
        heap.pop();
        await poll(pool, fan, rec, { checkoutWindowMs });
        if (fan.status === "waiting") heap.push(fan);
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  hooks.done();
  await pool.close();
  return { kind, connections, duration_s: durationS, ...rec.summary(wallS, (cpu.user + cpu.system) / 1e6) };
}

async function paced({ endAtMs, maxInFlight, checkoutWindowMs, onlyRankUpTo = null, spreadFirstS = 0 }, hooks) {
  const pool = new Pool(baseUrl, { connections: maxInFlight, pipelining: 1 });
  const rec = new Recorder({ timeline: true });
  const lateness = [];
  let inFlight = 0;
  let capHits = 0;
  // With `onlyRankUpTo`, fans further back stay in the queue but do not poll during this phase.
  const parked = [];
  hooks.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const startedAt = Date.now();
  const end = t0 + (endAtMs - startedAt);
  if (spreadFirstS > 0) {
    // Fans that are all due at once (after the throughput cells) would start as one herd; a real
    // crowd's polls are spread over its cadence. A fan may always poll later than its ticket
    // allows, never sooner: each first poll is delayed by a uniform 0–spreadFirstS s.
    const all = [];
    while (heap.size) all.push(heap.pop());
    for (const fan of all) {
      fan.due = Math.max(fan.due, startedAt + Math.random() * spreadFirstS * 1000);
      heap.push(fan);
    }
  }
  await new Promise((resolve) => {
    const pump = () => {
      const now = Date.now();
      while (heap.size && heap.peek().due <= now) {
        if (inFlight >= maxInFlight) {
          capHits++;
          break;
        }
        const fan = heap.pop();
        if (onlyRankUpTo !== null && fan.rank > onlyRankUpTo) {
          parked.push(fan);
          continue;
        }
        const late = now - fan.due;
        lateness.push(late);
        const b = rec.bucket(now);
        b.sent++;
        if (late > b.late_max_ms) b.late_max_ms = late;
        if (late > 1000) b.late_over_1s++;
        inFlight++;
        poll(pool, fan, rec, { checkoutWindowMs }).finally(() => {
          inFlight--;
          if (fan.status === "waiting") heap.push(fan);
        });
      }
    };
    const timer = setInterval(() => {
      if (performance.now() < end) {
        pump();
        return;
      }
      clearInterval(timer);
      const drain = setInterval(() => {
        if (inFlight === 0) {
          clearInterval(drain);
          resolve();
        }
      }, 5);
    }, 5);
  });
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  hooks.done();
  await pool.close();
  for (const fan of parked) heap.push(fan);
  lateness.sort((a, b) => a - b);
  const lp = (p) => (lateness.length ? lateness[Math.min(lateness.length - 1, Math.floor(p * lateness.length))] : null);
  return {
    started_at_ms: startedAt,
    ended_at_ms: Date.now(),
    ...rec.summary(wallS, (cpu.user + cpu.system) / 1e6),
    lateness_ms: { p50: lp(0.5), p95: lp(0.95), p99: lp(0.99), max: lateness.at(-1) ?? null },
    max_in_flight: maxInFlight,
    fans_parked: parked.length,
    in_flight_cap_hits: capHits,
  };
}

function state() {
  const by = {};
  for (const f of fans) by[f.status] = (by[f.status] ?? 0) + 1;
  const waiting = fans.filter((f) => f.status === "waiting");
  const cadence = {};
  let offered = 0;
  for (const f of waiting) {
    cadence[f.pollAfterMs ?? "none"] = (cadence[f.pollAfterMs ?? "none"] ?? 0) + 1;
    if (f.pollAfterMs) offered += 1000 / f.pollAfterMs;
  }
  const admittedRanks = fans.filter((f) => f.status === "admitted").map((f) => f.rank);
  const lastAdmitted = admittedRanks.length ? Math.max(...admittedRanks) : null;
  return {
    by_status: by,
    // Admitted by the DO (a later fan was) but not polled since: no answer has said so yet.
    waiting_below_last_admitted: waiting
      .filter((f) => lastAdmitted !== null && f.rank < lastAdmitted)
      .map((f) => f.rank),
    waiting_by_poll_after_ms: cadence,
    // What the waiting fans ask for at their current cadence, whatever the server manages.
    offered_polls_per_s: offered,
    polls_per_fan_max: Math.max(0, ...fans.map((f) => f.polls)),
    refusals: fans.filter((f) => f.lastRefusal).map((f) => f.lastRefusal),
    admitted_ranks: admittedRanks,
    waiting_min_rank: waiting.length ? Math.min(...waiting.map((f) => f.rank)) : null,
  };
}

const handlers = { init, retarget, join, storm, closed, paced, state };

if (process.send) {
  process.on("message", async (message) => {
    const handler = handlers[message?.type];
    if (!handler) return;
    const reply = (payload) => process.send({ id: message.id, ...payload });
    try {
      const result = await handler(message.args ?? {}, {
        start: () => reply({ type: "start" }),
        done: () => reply({ type: "done" }),
      });
      reply({ type: "result", result });
    } catch (error) {
      reply({ type: "error", message: error instanceof Error ? error.stack : String(error) });
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ type: "ready" });
}
