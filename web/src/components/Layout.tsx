import { useEffect, useRef, type ReactNode } from "react";
import { Link, NavLink, useLocation } from "react-router";
import { useAuth } from "../auth";
import { LOCALES, useLocale, useT, type Locale } from "../i18n";
import { useMe } from "../me";

export function Layout({ children }: { children: ReactNode }) {
  const t = useT();
  const auth = useAuth();
  const { locale, choose } = useLocale();
  const { me } = useMe();
  usePageHeading(t("app.name"));
  return (
    <>
      <a className="skip" href="#main">
        {t("app.skip")}
      </a>
      <header className="top">
        <Link to="/" className="brand">
          {t("app.name")}
        </Link>
        {me && (
          <nav aria-label={t("nav.main")} className="main-nav">
            {me.staff_of.length > 0 && (
              <>
                <NavLink to="/customers">{t("nav.customers")}</NavLink>
                <NavLink to="/data-refresh">{t("nav.refresh")}</NavLink>
                {me.staff_of.some((firm) => firm.role === "admin") && <NavLink to="/firm">{t("nav.admin")}</NavLink>}
              </>
            )}
            {me.customer_of.length > 0 && <NavLink to="/me">{t("nav.myBank")}</NavLink>}
            {me.staff_of.length === 0 && <NavLink to="/files">{t("nav.files")}</NavLink>}
            <NavLink to="/notifications">{t("nav.notifications")}</NavLink>
          </nav>
        )}
        <div className="top-actions">
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
        </div>
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

/** "Load more" under a paged list, while the API has more. */
export function MoreButton({ list }: { list: { hasMore: boolean; busy: boolean; more(): Promise<void> } }) {
  const t = useT();
  if (!list.hasMore) return null;
  return (
    <button type="button" onClick={() => void list.more()} disabled={list.busy}>
      {t("common.loadMore")}
    </button>
  );
}

/** On each new screen: the window's title is the screen's heading, and (after the first screen) the
 *  focus moves to that heading, so a screen reader announces where the person is. The heading of a
 *  screen loaded on first use appears a moment later: watched for, for a few seconds at most. */
function usePageHeading(appName: string) {
  const { pathname } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    const moveFocus = !first.current;
    first.current = false;
    const main = document.getElementById("main");
    if (!main) return;
    const settle = () => {
      const heading = main.querySelector("h1");
      if (!heading) return false;
      document.title = `${heading.textContent ?? ""} · ${appName}`;
      if (moveFocus) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: false });
      }
      return true;
    };
    if (settle()) return;
    const observer = new MutationObserver(() => settle() && observer.disconnect());
    observer.observe(main, { childList: true, subtree: true });
    const stop = window.setTimeout(() => observer.disconnect(), 5000);
    return () => {
      observer.disconnect();
      window.clearTimeout(stop);
    };
  }, [pathname, appName]);
}
