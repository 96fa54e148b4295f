import type { ReactNode } from "react";
import { Link } from "react-router";
import { useAuth } from "../auth";
import { LOCALES, useLocale, useT, type Locale } from "../i18n";

export function Layout({ children }: { children: ReactNode }) {
  const t = useT();
  const auth = useAuth();
  const { locale, choose } = useLocale();
  return (
    <>
      <a className="skip" href="#main">
        {t("app.skip")}
      </a>
      <header className="top">
        <Link to="/" className="brand">
          {t("app.name")}
        </Link>
        <nav aria-label={t("app.name")} className="top-actions">
          <label className="language">
            <span>{t("app.language")}</span>
            <select value={locale} onChange={(event) => choose(event.target.value as Locale)}>
              {Object.entries(LOCALES).map(([code, name]) => (
                <option key={code} value={code} lang={code}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          {auth.ready &&
            (auth.user ? (
              <button type="button" onClick={() => void auth.signOut()}>
                {t("app.signOut")}
              </button>
            ) : (
              <button type="button" onClick={() => void auth.signIn()}>
                {t("app.signIn")}
              </button>
            ))}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

export function Loading() {
  const t = useT();
  return (
    <p role="status" aria-live="polite">
      {t("app.loading")}
    </p>
  );
}
