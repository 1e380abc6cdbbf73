// A CPU profile of the Worker + Show DO isolate through workerd's V8 inspector (Chrome DevTools
// Protocol over WebSocket), summarized by where the time goes: each sample's function mapped
// back through the bundle's source map to its package or source file.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * Connects to one worker's inspector and starts sampling: workerd's own inspector
 * (`/core:user:<name>`), or `wrangler dev`'s DevTools proxy (`/ws`, which wants a DevTools
 * Origin; the worker's own inspector already has wrangler's session attached).
 */
export async function startProfile({
  port: inspectorPort,
  target: targetId = "core:user:onsale",
  origin,
  intervalUs = 200,
}) {
  const socket = new WebSocket(
    `ws://127.0.0.1:${inspectorPort}/${targetId}`,
    origin ? { headers: { Origin: origin } } : undefined,
  );
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", () => reject(new Error(`no inspector at ${inspectorPort}/${targetId}`)), {
      once: true,
    });
  });
  let id = 0;
  const pending = new Map();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    if (message.id && pending.has(message.id)) {
      const { resolve, reject } = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) reject(new Error(`${message.error.message}`));
      else resolve(message.result);
    }
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const messageId = ++id;
      pending.set(messageId, { resolve, reject });
      socket.send(JSON.stringify({ id: messageId, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: intervalUs });
  await send("Profiler.start");
  return {
    async stop() {
      const { profile } = await send("Profiler.stop");
      await send("Profiler.disable").catch(() => {});
      socket.close();
      return profile;
    },
  };
}

function sourceMapper(bundlePath) {
  try {
    const { TraceMap, originalPositionFor } = require("@jridgewell/trace-mapping");
    const map = new TraceMap(readFileSync(`${bundlePath}.map`, "utf8"));
    const mapper = (line, column) => originalPositionFor(map, { line: line + 1, column })?.source ?? null;
    mapper.line = (line, column) => originalPositionFor(map, { line: line + 1, column })?.line ?? null;
    return mapper;
  } catch {
    const none = () => null;
    none.line = () => null;
    return none;
  }
}

/** `node_modules/jose/dist/…` → `jose`; `durable-objects/show.ts` stays a path. */
function bucketOf(source) {
  const clean = source.replace(/^(\.\.\/)+/, "").replace(/^.*?(node_modules\/)/, "$1");
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(clean);
  if (pkg) return pkg[1];
  // The repository's own files by their path in it, wherever it is checked out.
  return clean.replace(/^.*?\/(?=(src|durable-objects|bench|scripts)\/)/, "");
}

/**
 * Durable Object code: a sample with one of these sources on its stack is the object's work
 * (its RPC methods, alarms, SQLite under them), whoever's request led to it. The Worker itself
 * imports only `queue-key.ts` and types from durable-objects/, so those do not count.
 */
const isDurableObjectSource = (bucket) =>
  bucket.startsWith("durable-objects/") && !bucket.startsWith("durable-objects/queue-key");

/**
 * Self time by bucket (package or source file, or the V8 pseudo-frames: idle, GC, program,
 * native), as a share of the busy (non-idle) time, plus the busy fraction of the window, and
 * the time spent under Durable Object code (`do_us_per_request`: locally the objects share the
 * Worker's isolate; in production they run elsewhere). That split is a lower bound for the
 * objects' share: the RPC plumbing before a method's first frame, and the garbage collector,
 * count as the Worker's.
 */
export function summarizeProfile(profile, bundlePath, { requests } = {}) {
  const mapSource = sourceMapper(bundlePath);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const bucketOfFrame = new Map();
  const frameBucket = (node) => {
    let bucket = bucketOfFrame.get(node.id);
    if (bucket === undefined) {
      const frame = node.callFrame;
      const source = frame.url?.endsWith(".js") ? mapSource(frame.lineNumber, frame.columnNumber) : null;
      bucket = source ? bucketOf(source) : "";
      bucketOfFrame.set(node.id, bucket);
    }
    return bucket;
  };
  const underDo = new Map();
  const isUnderDo = (id) => {
    if (underDo.has(id)) return underDo.get(id);
    const node = nodes.get(id);
    const parent = parentOf.get(id);
    const value = isDurableObjectSource(frameBucket(node)) || (parent !== undefined && isUnderDo(parent));
    underDo.set(id, value);
    return value;
  };
  let doUs = 0;
  const durationUs = profile.endTime - profile.startTime;
  const perSampleUs = durationUs / Math.max(1, profile.samples.length);
  const selfUs = new Map();
  const functionUs = new Map();
  let idleUs = 0;
  const counts = new Map();
  for (const sample of profile.samples) counts.set(sample, (counts.get(sample) ?? 0) + 1);
  for (const [nodeId, hits] of counts) {
    const node = nodes.get(nodeId);
    const frame = node.callFrame;
    const us = hits * perSampleUs;
    let bucket;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    if (frame.functionName.startsWith("(")) bucket = frame.functionName;
    else if (!frame.url) bucket = `(native) ${frame.functionName || "anonymous"}`;
    else {
      const source = frame.url.endsWith(".js") ? mapSource(frame.lineNumber, frame.columnNumber) : null;
      bucket = source ? bucketOf(source) : frame.url.replace(/^.*\//, "");
    }
    selfUs.set(bucket, (selfUs.get(bucket) ?? 0) + us);
    if (isUnderDo(nodeId)) doUs += us;
    // Where the function starts, for the repository's own files (anonymous handlers differ by it).
    const line = /^(src|durable-objects)\//.test(bucket) ? mapSource.line(frame.lineNumber, frame.columnNumber) : null;
    const fn = `${frame.functionName || "anonymous"} (${bucket}${line ? `:${line}` : ""})`;
    functionUs.set(fn, (functionUs.get(fn) ?? 0) + us);
  }
  const busyUs = durationUs - idleUs;
  const top = (map, n) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({
        name,
        share: us / busyUs,
        us_per_request: requests ? us / requests : null,
      }));
  return {
    duration_s: durationUs / 1e6,
    samples: profile.samples.length,
    busy_fraction: busyUs / durationUs,
    busy_us_per_request: requests ? busyUs / requests : null,
    do_share: doUs / busyUs,
    do_us_per_request: requests ? doUs / requests : null,
    by_source: top(selfUs, 40),
    by_function: top(functionUs, 20),
  };
}
