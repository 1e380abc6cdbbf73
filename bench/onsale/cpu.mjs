// CPU of Postgres for `npm run bench:onsale`. The Worker opens a connection per request, so
// most backends live a few milliseconds and are gone before /proc can be read at the end of
// a window; the postmaster's cutime/cstime (the CPU of its exited, reaped children) counts
// them anyway. Everything else uses bench/lib/procs.mjs.
import { readFileSync } from "node:fs";
import { processTree } from "../lib/procs.mjs";

// USER_HZ: 100 on every Linux this runs on (bench/lib/procs.mjs asks getconf; so could we).
const TICKS_PER_S = 100;

function ticks(pid, withChildren) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text
      .slice(text.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    return f[11] + f[12] + (withChildren ? f[13] + f[14] : 0);
  } catch {
    return 0;
  }
}

/** CPU seconds so far of every `postgres` process under `rootPid`, exited backends included. */
export function postgresCpuSeconds(rootPid = process.pid) {
  const pgs = processTree(rootPid).filter((p) => p.comm === "postgres");
  const pids = new Set(pgs.map((p) => p.pid));
  let total = 0;
  for (const p of pgs) {
    // The postmaster (whose parent is not postgres) also carries its reaped children.
    let parent = 0;
    try {
      parent = Number(readFileSync(`/proc/${p.pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
    } catch {}
    total += ticks(p.pid, !pids.has(parent));
  }
  return total / TICKS_PER_S;
}
