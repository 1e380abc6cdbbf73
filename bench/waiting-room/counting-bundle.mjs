// The Worker bundle with its calls to the Show DO counted (bench/waiting-room/do-calls-entry.mjs),
// as one module: Miniflare, as bench/miniflare-host.mjs drives it, loads a single script and
// does not follow its imports. The bundle's text is kept byte for byte except its closing
// `export { … }` block, which becomes as many empty lines (so the source map still maps every
// line of it); the entry follows inside a function scope, so none of its names can collide with
// the bundle's top-level ones, and the module exports the counted class and handler instead
// (any other export, such as another Durable Object class, unchanged).
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const entryFile = path.join(path.dirname(fileURLToPath(import.meta.url)), "do-calls-entry.mjs");
const IMPORT_LINE = 'import worker, { ShowDO as Base } from "./index.js";';
const EXPORT_LINE = "export { CountedShowDO as ShowDO, countedWorker as default };";

export function writeCountingBundle(bundlePath) {
  const text = readFileSync(bundlePath, "utf8");
  const at = text.lastIndexOf("\nexport {");
  const close = at < 0 ? -1 : text.indexOf("};", at);
  if (at < 0 || close < 0) throw new Error(`no closing export block in ${bundlePath}`);
  const block = text.slice(at + 1, close + 2);
  const exported = new Map();
  for (const item of block.slice("export {".length, -2).split(",")) {
    const [local, name = local] = item.trim().split(/\s+as\s+/);
    if (local) exported.set(name, local);
  }
  const showLocal = exported.get("ShowDO");
  const defaultLocal = exported.get("default");
  if (!showLocal || !defaultLocal) throw new Error(`the bundle does not export ShowDO and default: ${block}`);

  // Any other class the bundle exports (another Durable Object, say) is exported unchanged.
  const others = [...exported]
    .filter(([name]) => name !== "ShowDO" && name !== "default")
    .map(([name, local]) => `, ${local} as ${name}`)
    .join("");
  const entry = readFileSync(entryFile, "utf8");
  if (!entry.includes(IMPORT_LINE) || !entry.includes(EXPORT_LINE)) {
    throw new Error(`${entryFile} must keep its import and export lines as counting-bundle.mjs expects them`);
  }
  const body = entry
    .replace(IMPORT_LINE, `const worker = ${defaultLocal};\nconst Base = ${showLocal};`)
    .replace(EXPORT_LINE, "return { CountedShowDO, countedWorker };");
  const counted = [
    text.slice(0, at + 1),
    "\n".repeat(block.split("\n").length - 1),
    text.slice(close + 2),
    "\n// ── bench/waiting-room/do-calls-entry.mjs ──\n",
    `const __benchCounted = (() => {\n${body}\n})();\n`,
    "const __benchShowDO = __benchCounted.CountedShowDO;\n",
    "const __benchDefault = __benchCounted.countedWorker;\n",
    `export { __benchShowDO as ShowDO, __benchDefault as default${others} };\n`,
  ].join("");
  const out = path.join(path.dirname(bundlePath), "counted.js");
  writeFileSync(out, counted);
  if (existsSync(`${bundlePath}.map`)) copyFileSync(`${bundlePath}.map`, `${out}.map`);
  return out;
}
