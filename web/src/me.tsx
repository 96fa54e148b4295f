// Who is signed in (GET /me), once per session, and the firm a staff member works for now.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { expect, type Schemas } from "./api/client";
import { useAuth } from "./auth";
import { ErrorNotice } from "./components/ErrorNotice";
import { Loading } from "./components/Layout";
import { useT } from "./i18n";
import { useSession } from "./session";
import { useLoad } from "./useLoad";

export type Me = Schemas["MeOut"];
export type StaffOf = Schemas["StaffOfOut"];

const MeContext = createContext<{ me: Me | null; reload(): void }>({ me: null, reload: () => undefined });

export function MeProvider({ children }: { children: ReactNode }) {
  const auth = useAuth();
  const { api, firmId, chooseFirm } = useSession();
  const person = auth.user?.profile.sub ?? null; // a token refresh keeps the person: nothing reloads
  const [me, reload] = useLoad(() => (person ? expect(api.GET("/me")) : Promise.resolve(null)), [api, person]);
  const [shown, setShown] = useState<Me | null>(null);
  useEffect(() => {
    if (me.state === "ready") setShown(me.data);
  }, [me]);
  useEffect(() => {
    // A firm chosen earlier that this person no longer works for is forgotten (no stale X-Firm-Id).
    if (me.state === "ready" && firmId && !me.data?.staff_of.some((firm) => firm.firm_id === firmId)) chooseFirm(null);
  }, [me, firmId, chooseFirm]);
  if (!auth.ready || (person && me.state === "loading" && shown === null)) return <Loading />;
  if (me.state === "failed" && shown === null) return <ErrorNotice error={me.error} onRetry={reload} />;
  const current = me.state === "ready" ? me.data : person ? shown : null;
  return <MeContext.Provider value={{ me: current, reload }}>{children}</MeContext.Provider>;
}

export function useMe() {
  return useContext(MeContext);
}

/** The firm a staff member works for now: their only one, or the one they chose. */
export function useStaffFirm(): StaffOf | null {
  const { me } = useMe();
  const { firmId } = useSession();
  const firms = me?.staff_of ?? [];
  if (firms.length === 1) return firms[0] ?? null;
  return firms.find((firm) => firm.firm_id === firmId) ?? null;
}

/** A staff screen: signed in, on the staff of a firm (chosen if several), with the second factor. */
export function StaffOnly({ children }: { children: (firm: StaffOf) => ReactNode }) {
  const t = useT();
  const auth = useAuth();
  const { me } = useMe();
  const { chooseFirm } = useSession();
  const firm = useStaffFirm();
  if (!auth.user || !me) {
    return (
      <section>
        <p>{t("auth.required")}</p>
        <button type="button" className="primary" onClick={() => void auth.signIn()}>
          {t("app.signIn")}
        </button>
      </section>
    );
  }
  if (me.staff_of.length === 0) return <p role="alert">{t("error.staff_only")}</p>;
  if (me.mfa_required && !me.mfa_enrolled) return <p role="alert">{t("error.mfa_required")}</p>;
  if (!firm) {
    return (
      <section aria-labelledby="firm-title">
        <h1 id="firm-title">{t("error.firm_required")}</h1>
        <ul className="cards">
          {me.staff_of.map((option) => (
            <li key={option.firm_id}>
              <button type="button" onClick={() => chooseFirm(option.firm_id)}>
                {option.firm_name}
              </button>
            </li>
          ))}
        </ul>
      </section>
    );
  }
  return <>{children(firm)}</>;
}
