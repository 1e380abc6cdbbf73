// The load generator of `npm run bench:holds`: autocannon in a process of its own, so its CPU
// is measured apart from the server's and the orchestrator's, and started once per target
// (forked with IPC) so no Node start-up lands between cells.
//
//   forked:  { type: "run", cell } → { type: "start" }, { type: "done" }, { type: "result", result }
//   CLI:     node bench/loadgen.mjs <cell.json> <result.json>
//
// cell: { url, kind: "noop" | "noop-do" | "hold", showId, connections, durationS, timeoutS,
//         seatsFile, tokensFile, startIndex, holdsPerFan, keyPrefix }
// For "hold", request number i (counted from startIndex across the whole show) holds seat
// seats[i] for fan floor(i / holdsPerFan) with Idempotency-Key `${keyPrefix}-${i}`: every request
// is a distinct seat + fan + key, so each one is a real hold, not a replay or a 409.
// The result has the counts by status, latency percentiles from every response's own time
// (autocannon's histogram has no p95), the bodies' hold ids and seats for the double-hold check,
// and this process's CPU time during the run.
import { readFileSync, writeFileSync } from "node:fs";
import autocannon from "autocannon";

const files = new Map();
function readJson(file) {
  if (!files.has(file)) files.set(file, JSON.parse(readFileSync(file, "utf8")));
  return files.get(file);
}

export async function runCell(cell, { onStart, onDone } = {}) {
  const seats = cell.kind === "hold" ? readJson(cell.seatsFile) : [];
  const tokens = cell.kind === "hold" ? readJson(cell.tokensFile) : [];
  let next = cell.startIndex ?? 0;
  let sent = 0;
  let exhausted = 0;
  const okBodies = [];
  const refusals = new Map();
  const latencies = [];

  function holdRequest(request) {
    let i = next++;
    if (i >= seats.length) {
      // Out of fresh seats: wrap around (these become 409s and are reported as such).
      exhausted++;
      i %= seats.length;
    }
    sent++;
    request.headers = {
      "content-type": "application/json",
      authorization: `Bearer ${tokens[Math.floor(i / cell.holdsPerFan) % tokens.length]}`,
      "idempotency-key": `${cell.keyPrefix}-${i}`,
    };
    request.body = JSON.stringify({ seat_ids: [seats[i]] });
    return request;
  }

  const paths = { noop: "/v1/dev/noop", "noop-do": `/v1/dev/noop-do/${cell.showId}` };
  const requests =
    cell.kind === "hold"
      ? [
          {
            method: "POST",
            path: `/v1/shows/${cell.showId}/holds`,
            setupRequest: holdRequest,
            onResponse: (status, body) => {
              if (status === 201) okBodies.push(body);
              else {
                const text = `${status} ${body}`.slice(0, 400);
                refusals.set(text, (refusals.get(text) ?? 0) + 1);
              }
            },
          },
        ]
      : [
          {
            method: "GET",
            path: paths[cell.kind],
            setupRequest: (request) => {
              sent++;
              return request;
            },
          },
        ];

  onStart?.();
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const instance = autocannon({
    url: cell.url,
    connections: cell.connections,
    pipelining: 1,
    duration: cell.durationS,
    timeout: cell.timeoutS ?? 10,
    requests,
  });
  instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  const result = await instance;
  const wallS = (performance.now() - wallStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  onDone?.();

  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null;

  // The seats each successful hold got, for the double-hold check across the whole show.
  const held = [];
  let unparsable = 0;
  for (const body of okBodies) {
    try {
      const hold = JSON.parse(body);
      held.push([hold.hold_id, hold.seat_ids]);
    } catch {
      unparsable++;
    }
  }
  const refusalCodes = {};
  for (const [text, count] of refusals) {
    let code = text.slice(0, 3);
    try {
      code = `${text.slice(0, 3)} ${JSON.parse(text.slice(4)).code}`;
    } catch {}
    refusalCodes[code] = (refusalCodes[code] ?? 0) + count;
  }
  const statuses = {};
  for (const key of Object.keys(result)) {
    if (/^[1-5]xx$/.test(key) && result[key]) statuses[key] = result[key];
  }
  const ok = cell.kind === "hold" ? held.length + unparsable : (result["2xx"] ?? 0);
  return {
    kind: cell.kind,
    connections: cell.connections,
    duration_s: result.duration,
    wall_s: wallS,
    start_index: cell.startIndex ?? 0,
    sent,
    responses: latencies.length,
    ok,
    ok_per_s: ok / result.duration,
    statuses,
    refusals: refusalCodes,
    refusal_samples: [...refusals.keys()].slice(0, 3),
    errors: result.errors,
    timeouts: result.timeouts,
    exhausted,
    unparsable,
    latency_ms: {
      p50: pct(0.5),
      p90: pct(0.9),
      p95: pct(0.95),
      p99: pct(0.99),
      max: latencies.at(-1) ?? null,
      mean: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : null,
    },
    cpu_s: (cpu.user + cpu.system) / 1e6,
    held,
  };
}

if (process.send) {
  process.on("message", async (message) => {
    if (message?.type !== "run") return;
    try {
      const result = await runCell(message.cell, {
        onStart: () => process.send({ type: "start" }),
        onDone: () => process.send({ type: "done" }),
      });
      process.send({ type: "result", result });
    } catch (error) {
      process.send({ type: "error", message: error instanceof Error ? error.stack : String(error) });
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ type: "ready" });
} else if (process.argv[2] && process.argv[3]) {
  const result = await runCell(JSON.parse(readFileSync(process.argv[2], "utf8")));
  writeFileSync(process.argv[3], JSON.stringify(result));
}
