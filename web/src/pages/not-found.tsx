import { PageHeading } from "../components/page-heading";
import { t } from "../i18n";

export default function NotFoundPage() {
  return (
    <div class="page">
      <PageHeading title={t.notFound.title}>{t.notFound.title}</PageHeading>
      <p>{t.notFound.body}</p>
      <p>
        <a href="/">{t.notFound.home}</a>
      </p>
    </div>
  );
}
