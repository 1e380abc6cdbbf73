import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The fan app is its own Vite root; its build is the Worker's Static Assets directory
// (wrangler.toml `[assets]`), so `wrangler dev` and `wrangler deploy` serve what this writes.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  publicDir: false,
  plugins: [
    {
      name: "onsale-assets-ignore",
      generateBundle() {
        this.emitFile({ type: "asset", fileName: ".assetsignore", source: ".vite\n" });
      },
    },
  ],
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/client", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    // Every byte of the waiting page counts: no polyfill for browsers that all support modulepreload.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    // Read by `npm run size:web` (scripts/web-budget.mjs); .assetsignore keeps it off the edge.
    manifest: true,
    rollupOptions: {
      output: {
        // Preact and signals change rarely: a chunk of their own stays cached across app deploys.
        manualChunks: (id: string) => (/node_modules\/(preact|@preact)\//.test(id) ? "preact" : undefined),
      },
    },
  },
});
