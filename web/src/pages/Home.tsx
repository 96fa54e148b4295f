import { useState } from "react";
import { expect } from "../api/client";
import { useAuth } from "../auth";
import { ErrorNotice } from "../components/ErrorNotice";
import { Loading } from "../components/Layout";
import { useT } from "../i18n";
import { useSession } from "../session";
import { useMe } from "../me";
import { Link } from "react-router";

export function Home() {
  const t = useT();
  const auth = useAuth();
  if (!auth.ready) return <Loading />;
  if (!auth.user) {
    return (
      <section aria-labelledby="home-title">
        <h1 id="home-title">{t("home.title")}</h1>
        <p>{t("home.signedOut")}</p>
        <button type="button" className="primary" onClick={() => void auth.signIn("/")}>
          {t("app.signIn")}
        </button>
      </section>
    );
  }
  return <SignedInHome />;
}

function SignedInHome() {
  const t = useT();
  const { chooseFirm } = useSession();
  const { me, reload } = useMe();
  if (!me) return <Loading />;
  const { staff_of: staffOf, customer_of: customerOf, name, email } = me;
  return (
    <section aria-labelledby="home-title">
      <h1 id="home-title">
        {t("home.title")}, {name ?? email}
      </h1>
      {me.mfa_required && !me.mfa_enrolled && <MfaSetup onDone={reload} />}
      {staffOf.length > 0 && (
        <>
          <h2>{t("home.staffOf")}</h2>
          <ul className="cards">
            {staffOf.map((firm) => (
              <li key={firm.firm_id}>
                <strong>{firm.firm_name}</strong> — {t(firm.role === "admin" ? "home.role.admin" : "home.role.adviser")}{" "}
                <Link to="/customers" onClick={() => chooseFirm(firm.firm_id)}>
                  {t("home.open", { firm: firm.firm_name })}
                </Link>
              </li>
            ))}
          </ul>
        </>
      )}
      {customerOf.length > 0 && (
        <>
          <h2>{t("home.customerOf")}</h2>
          <ul className="cards">
            {customerOf.map((firm) => (
              <li key={firm.firm_id}>
                <strong>{firm.firm_name}</strong>
              </li>
            ))}
          </ul>
        </>
      )}
      {staffOf.length === 0 && customerOf.length === 0 && <p>{t("home.nothing")}</p>}
    </section>
  );
}

function MfaSetup({ onDone }: { onDone(): void }) {
  const t = useT();
  const { api } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await expect(api.POST("/me/mfa/confirm"));
      onDone();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="notice" role="region" aria-labelledby="mfa-title">
      <h2 id="mfa-title">{t("home.mfa.title")}</h2>
      <p>{t("home.mfa.body")}</p>
      {error !== null && <ErrorNotice error={error} />}
      <button type="button" className="primary" disabled={busy} onClick={() => void confirm()}>
        {t("home.mfa.confirm")}
      </button>
    </div>
  );
}
