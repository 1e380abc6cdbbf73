// `npm run size:web`: what the waiting page costs a fan on a cold cache, brotli-compressed as
// the edge serves it. The waiting page loads the shell (index.html's entry script, its static
// imports and CSS) and the show page's chunk with its static imports; the seat map, checkout and
// wallet load later. Reads Vite's manifest of the last `npm run build`; fails above the budget.
import { readFileSync } from "node:fs";
import path from "node:path";
import { brotliCompressSync, constants } from "node:zlib";
import { root } from "./local-stack.mjs";

const BUDGET_BYTES = 40 * 1024;
const dist = path.join(root, "dist", "client");
const manifest = JSON.parse(readFileSync(path.join(dist, ".vite", "manifest.json"), "utf8"));

/** A chunk and everything it imports statically, with their CSS. */
function closure(key, seen = new Set()) {
  if (seen.has(key)) return seen;
  seen.add(key);
  for (const imported of manifest[key]?.imports ?? []) closure(imported, seen);
  return seen;
}

const entry = Object.keys(manifest).find((key) => manifest[key].isEntry);
const showPage = Object.keys(manifest).find((key) => key.endsWith("pages/show/show-page.tsx"));
const chunks = closure(showPage, closure(entry));
const files = new Set(["index.html"]);
for (const key of chunks) {
  files.add(manifest[key].file);
  for (const css of manifest[key].css ?? []) files.add(css);
}

const brotli = (buffer) => brotliCompressSync(buffer, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
let total = 0;
const rows = [...files].map((file) => {
  const bytes = readFileSync(path.join(dist, file));
  const compressed = brotli(bytes);
  total += compressed;
  return { file, raw: bytes.length, brotli: compressed };
});
for (const row of rows)
  console.log(`${row.file.padEnd(42)} ${String(row.raw).padStart(8)} B  ${String(row.brotli).padStart(7)} B br`);
console.log(
  `waiting page total (JS + CSS + HTML): ${(total / 1024).toFixed(1)} KB brotli; budget ${BUDGET_BYTES / 1024} KB`,
);
// For the record: what loads later, chunk by chunk (seat map with pan/zoom, checkout, wallet, …).
const later = Object.values(manifest)
  .filter((chunk) => chunk.file.endsWith(".js") && !files.has(chunk.file))
  .map(
    (chunk) =>
      `${chunk.name ?? chunk.file} ${(brotli(readFileSync(path.join(dist, chunk.file))) / 1024).toFixed(1)} KB`,
  );
console.log(`loaded later, brotli: ${later.join(", ")}`);
if (total > BUDGET_BYTES) {
  console.error("over the waiting page's budget");
  process.exit(1);
}
