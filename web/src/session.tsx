// The API client of this browser tab, with the signed-in person's token and chosen firm.
import { createContext, useContext, useMemo, useState, type ReactNode } from "react";
import { makeApi, type Api } from "./api/client";
import { FIRM_CHOICE, useAuth } from "./auth";

const FIRM = FIRM_CHOICE;

interface SessionValue {
  api: Api;
  firmId: string | null;
  chooseFirm(firmId: string | null): void;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ apiBaseUrl, children }: { apiBaseUrl: string; children: ReactNode }) {
  const auth = useAuth();
  const [firmId, setFirmId] = useState<string | null>(() => window.sessionStorage.getItem(FIRM));
  const api = useMemo(
    () => makeApi(apiBaseUrl, { bearer: auth.bearer, firmId: () => window.sessionStorage.getItem(FIRM) }),
    [apiBaseUrl, auth.bearer], // stable across token refreshes (auth.tsx)
  );
  const value = useMemo<SessionValue>(
    () => ({
      api,
      firmId,
      chooseFirm(next) {
        if (next) window.sessionStorage.setItem(FIRM, next);
        else window.sessionStorage.removeItem(FIRM);
        setFirmId(next);
      },
    }),
    [api, firmId],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
