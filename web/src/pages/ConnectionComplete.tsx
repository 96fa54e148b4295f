import { Link, useSearchParams } from "react-router";
import { useT } from "../i18n";
import type { MessageKey } from "../i18n/en";

// The outcomes `/callbacks/<provider>` sends the browser back with (shared/services/connection_consents.py).
const OUTCOMES = [
  "linked",
  "pending",
  "no_accounts",
  "rejected",
  "credentials_rejected",
  "expired",
  "revoked",
  "refresh_failed",
  "error",
  "rate_limited",
  "invalid",
] as const;
type Outcome = (typeof OUTCOMES)[number] | "unknown";

/** The bank's redirect lands here: only a known outcome's own words, never the query's text. */
export function ConnectionComplete() {
  const t = useT();
  const [params] = useSearchParams();
  const given = params.get("outcome") ?? "";
  const outcome: Outcome = (OUTCOMES as readonly string[]).includes(given) ? (given as Outcome) : "unknown";
  return (
    <section aria-labelledby="complete-title">
      <h1 id="complete-title">{t(`connection.complete.${outcome}.title` as MessageKey)}</h1>
      <p>{t(`connection.complete.${outcome}.body` as MessageKey)}</p>
      <Link className="button" to="/">
        {t("connection.complete.myConnections")}
      </Link>
    </section>
  );
}
