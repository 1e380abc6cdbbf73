import { signal } from "@preact/signals";

// A history-API router in a few lines: the location is a signal, same-origin links are
// intercepted, and every navigation moves focus to the new page's heading so screen-reader
// and keyboard users land where a sighted user looks.

export const location = signal({ path: window.location.pathname, search: window.location.search });

export function navigate(to: string, { replace = false } = {}) {
  const url = new URL(to, window.location.origin);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  location.value = { path: url.pathname, search: url.search };
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => {
  location.value = { path: window.location.pathname, search: window.location.search };
});

/** Paths the Worker answers (API, docs): never handled by the app. */
const serverPaths = /^\/(v1|\.well-known|healthz|docs|openapi\.json)(\/|$)/;

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
    return;
  const anchor = (event.target as Element | null)?.closest?.("a");
  if (!anchor || anchor.target || anchor.hasAttribute("download") || anchor.origin !== window.location.origin) return;
  if (serverPaths.test(anchor.pathname)) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
});

export interface Route<P extends string = string> {
  /** `/events/:event_id` style: each `:name` matches one path segment. */
  pattern: string;
  page: P;
}

export function matchRoute<P extends string>(routes: Route<P>[], path: string) {
  for (const route of routes) {
    const names: string[] = [];
    const regex = new RegExp(
      `^${route.pattern.replace(/:([a-z_]+)/g, (_, name: string) => {
        names.push(name);
        return "([^/]+)";
      })}/?$`,
    );
    const found = regex.exec(path);
    if (found) {
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(found[i + 1]!);
      });
      return { page: route.page, params };
    }
  }
  return null;
}

/** The query string as a plain object (the last value of a repeated key wins). */
export const queryOf = (search: string) => Object.fromEntries(new URLSearchParams(search));
