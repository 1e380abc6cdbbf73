import "./styles.css";
import { signal } from "@preact/signals";
import type { FunctionComponent } from "preact";
import { render } from "preact";
import { Layout } from "./components/layout";
import { Loading, ProblemMessage } from "./components/problem";
import { location, matchRoute, type Route } from "./router";

// Pages load on demand: a fan arriving on a show's waiting page downloads that page and the
// shell only (see README, "bundle budget"); the map, checkout and wallet come when needed.

type PageProps = { params: Record<string, string>; search: string };
type PageModule = { default: FunctionComponent<PageProps> };

const pages = {
  events: () => import("./pages/events"),
  event: () => import("./pages/event"),
  show: () => import("./pages/show/show-page"),
  wallet: () => import("./pages/wallet"),
  signIn: () => import("./pages/sign-in"),
  callback: () => import("./pages/callback"),
  organizer: () => import("./pages/organizer/console"),
  organizerShow: () => import("./pages/organizer/dashboard"),
  notFound: () => import("./pages/not-found"),
} satisfies Record<string, () => Promise<PageModule>>;
type PageName = keyof typeof pages;

const routes: Route<PageName>[] = [
  { pattern: "/", page: "events" },
  { pattern: "/events/:event_id", page: "event" },
  { pattern: "/shows/:show_id", page: "show" },
  { pattern: "/me", page: "wallet" },
  { pattern: "/sign-in", page: "signIn" },
  { pattern: "/callback", page: "callback" },
  { pattern: "/organizer", page: "organizer" },
  { pattern: "/organizer/shows/:show_id", page: "organizerShow" },
];

const loaded = signal<Partial<Record<PageName, PageModule["default"]>>>({});
const loadError = signal<unknown>(null);

function load(name: PageName) {
  pages[name]()
    .then((module) => {
      loaded.value = { ...loaded.value, [name]: module.default };
    })
    .catch((error) => {
      loadError.value = error;
    });
}

function App() {
  const { path, search } = location.value;
  const match = matchRoute(routes, path) ?? { page: "notFound" as const, params: {} };
  const Page = loaded.value[match.page];
  if (!Page && !loadError.value) load(match.page);
  return (
    <Layout>
      {Page ? (
        <Page key={path} params={match.params} search={search} />
      ) : loadError.value ? (
        <ProblemMessage error={loadError.value} onRetry={() => window.location.reload()} />
      ) : (
        <Loading />
      )}
    </Layout>
  );
}

render(<App />, document.getElementById("app")!);
