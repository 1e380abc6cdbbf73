import { PageHeading } from "../components/page-heading";
import { SignInForm } from "../components/sign-in-form";
import { t } from "../i18n";
import { navigate, queryOf } from "../router";

/** Only same-site paths are followed after sign-in: `?next=` is not an open redirect. */
const safeNext = (next: string | undefined) => (next?.startsWith("/") && !next.startsWith("//") ? next : "/me");

export default function SignInPage({ search }: { search: string }) {
  const next = safeNext(queryOf(search).next);
  return (
    <div class="page narrow">
      <PageHeading title={t.signIn.title}>{t.signIn.title}</PageHeading>
      <SignInForm onSignedIn={() => navigate(next, { replace: true })} />
    </div>
  );
}
