import { useState, type FormEvent } from "react";
import { expect } from "../api/client";
import { useAuth } from "../auth";
import { useConfig } from "../config";
import { associateAuthenticator, IdentityError, otpauthUri, verifyAuthenticator } from "../identity";
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

/** A staff member without a second factor: a new authenticator secret for their app, its first
 *  code checked by the pool (TOTP enabled and preferred), then confirmed to the API (R-ID-4). */
function MfaSetup({ onDone }: { onDone(): void }) {
  const t = useT();
  const { api } = useSession();
  const { me } = useMe();
  const auth = useAuth();
  const config = useConfig();
  const [secret, setSecret] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const WRONG_CODE = ["CodeMismatchException", "EnableSoftwareTokenMFAException"];
  async function step(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }
  const token = async () => {
    const found = await auth.accessToken();
    if (!found) throw new IdentityError("NotAuthorizedException");
    return found;
  };
  const start = () => step(async () => setSecret(await associateAuthenticator(config.identityEndpoint, await token())));
  const finish = (event: FormEvent) => {
    event.preventDefault();
    void step(async () => {
      await verifyAuthenticator(config.identityEndpoint, await token(), code.trim());
      await expect(api.POST("/me/mfa/confirm"));
      onDone();
    });
  };
  return (
    <div className="notice" role="region" aria-labelledby="mfa-title">
      <h2 id="mfa-title">{t("home.mfa.title")}</h2>
      <p>{t("home.mfa.body")}</p>
      {error instanceof IdentityError && (
        <p className="notice notice-error" role="alert">
          {t(WRONG_CODE.includes(error.type) ? "home.mfa.wrongCode" : "home.mfa.failed")}
        </p>
      )}
      {error !== null && !(error instanceof IdentityError) && <ErrorNotice error={error} />}
      {!secret ? (
        <button type="button" className="primary" disabled={busy} onClick={() => void start()}>
          {t("home.mfa.start")}
        </button>
      ) : (
        <form onSubmit={finish}>
          <p>{t("home.mfa.addKey")}</p>
          <p>
            <code data-testid="totp-secret">{secret}</code>
          </p>
          <p>
            <a href={otpauthUri(secret, me?.email ?? "", t("app.name"))}>{t("home.mfa.openApp")}</a>
          </p>
          <label htmlFor="mfa-code">{t("home.mfa.code")}</label>
          <input id="mfa-code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required value={code} onChange={(e) => setCode(e.target.value)} />
          <button type="submit" className="primary" disabled={busy}>
            {t("home.mfa.confirm")}
          </button>
        </form>
      )}
    </div>
  );
}
