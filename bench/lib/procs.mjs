// CPU accounting from /proc (Linux): who used the 2 cores during a measurement window.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {}

export const available = (() => {
  try {
    readFileSync("/proc/stat", "utf8");
    return true;
  } catch {
    return false;
  }
})();

export const coreCount = cpus().length;

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces: fields resume after the last ')'.
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const fields = text
      .slice(close + 2)
      .split(" ")
      .map((f) => f);
    return { pid, comm, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

export function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** The process and all its descendants. */
export function processTree(rootPid) {
  if (!available) return [];
  const all = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s) all.push(s);
  }
  const tree = new Set([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of all) {
      if (!tree.has(s.pid) && tree.has(s.ppid)) {
        tree.add(s.pid);
        grew = true;
      }
    }
  }
  return all.filter((s) => tree.has(s.pid)).map((s) => ({ pid: s.pid, comm: s.comm, cmdline: cmdline(s.pid) }));
}

function machineTicks() {
  const [line] = readFileSync("/proc/stat", "utf8").split("\n");
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Measures, over a window, the cores used by labelled groups of processes, by the whole
 * machine, and by everything else ("outside": other jobs on the machine, Postgres, the kernel).
 * `groups` is { label: [pid, …] }; `selfLabel` adds this Node process (process.cpuUsage).
 */
export function startCpuWindow(groups, selfLabel) {
  if (!available) return { stop: () => null };
  const t0 = performance.now();
  const self0 = process.cpuUsage();
  const machine0 = machineTicks();
  const before = Object.fromEntries(
    Object.entries(groups).map(([label, pids]) => [label, pids.map((pid) => stat(pid)?.ticks ?? 0)]),
  );
  return {
    /** `extra` adds groups measured elsewhere (e.g. the load generator's own cpu seconds). */
    stop(extra = {}) {
      const wallS = (performance.now() - t0) / 1000;
      const machine1 = machineTicks();
      const cores = {};
      for (const [label, pids] of Object.entries(groups)) {
        let ticks = 0;
        pids.forEach((pid, i) => {
          const now = stat(pid)?.ticks;
          if (now !== undefined) ticks += now - before[label][i];
        });
        cores[label] = ticks / clockTicks / wallS;
      }
      if (selfLabel) {
        const self = process.cpuUsage(self0);
        cores[selfLabel] = (self.user + self.system) / 1e6 / wallS;
      }
      for (const [label, cpuSeconds] of Object.entries(extra)) cores[label] = cpuSeconds / wallS;
      // /proc/stat counts in ticks per core: busy ticks / (total ticks / cores) = cores busy.
      const machine = ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * coreCount;
      const known = Object.values(cores).reduce((a, b) => a + b, 0);
      return { wall_s: wallS, cores, machine_cores: machine, outside_cores: Math.max(0, machine - known) };
    },
  };
}
