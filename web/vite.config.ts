import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const require = createRequire(import.meta.url);
const swaggerUi = path.dirname(require.resolve("swagger-ui-dist/package.json"));

/** Starts Swagger UI on the API docs page (src/routes/api-docs.ts) from the page's own data. */
const swaggerInit = `window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.openapiUrl, domNode: root, deepLinking: true });
});
`;

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
    {
      // The API docs UI (/docs) from the pinned swagger-ui-dist, served as Onsale's own assets.
      name: "onsale-swagger-ui",
      generateBundle() {
        for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"]) {
          this.emitFile({
            type: "asset",
            fileName: `swagger-ui/${file}`,
            source: readFileSync(path.join(swaggerUi, file)),
          });
        }
        this.emitFile({ type: "asset", fileName: "swagger-ui/init.js", source: swaggerInit });
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
