import type { Context } from "hono";

/**
 * The API docs page. Swagger UI itself is a pinned `swagger-ui-dist`, copied by the web build
 * into the Static Assets under /swagger-ui/ (web/vite.config.ts), so the page loads nothing
 * from another origin and works offline; the policy below makes sure of it in the browser.
 */
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Onsale API</title>
<link rel="stylesheet" href="/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/swagger-ui/init.js"></script>
</body>
</html>
`;

export function apiDocsPage(c: Context) {
  c.header(
    "content-security-policy",
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  );
  c.header("cache-control", "public, max-age=300");
  return c.html(page);
}
