// Sign-in through the user pool's hosted pages: the authorization code grant with PKCE
// (oidc-client-ts), the same flow locally (the local system's stand-in pages) and on AWS.
import { User, UserManager, WebStorageStateStore } from "oidc-client-ts";
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import type { AppConfig } from "./config";

export interface Auth {
  user: User | null;
  ready: boolean;
  /** Sends the browser to the hosted sign-in pages; it comes back to `returnTo`. */
  signIn(returnTo?: string): Promise<void>;
  signOut(): Promise<void>;
  /** The bearer the API takes, or null: the ID token of a session that has not ended (it carries the
   *  email the API matches invitations against; `make token` gives the same). */
  bearer(): Promise<string | null>;
  /** The access token, for the pool's own API about this person (their authenticator app). */
  accessToken(): Promise<string | null>;
  manager: UserManager;
}

export function makeManager(config: AppConfig): UserManager {
  return new UserManager({
    authority: config.authority,
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    post_logout_redirect_uri: config.postLogoutRedirectUri,
    response_type: "code",
    scope: "openid email profile aws.cognito.signin.user.admin",
    // Cognito's endpoints, given rather than discovered: its logout endpoint is not in its discovery document.
    metadata: {
      issuer: config.authority,
      authorization_endpoint: config.authorizationEndpoint,
      token_endpoint: config.tokenEndpoint,
      end_session_endpoint: config.endSessionEndpoint,
      userinfo_endpoint: config.userInfoEndpoint,
      jwks_uri: config.jwksUri,
    },
    // Tokens live in this tab's session storage only, never in a URL or in local storage.
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    loadUserInfo: false,
    automaticSilentRenew: false,
    monitorSession: false,
  });
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ manager, children }: { manager: UserManager; children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let live = true;
    manager.getUser().then((found) => {
      if (!live) return;
      setUser(found && !found.expired ? found : null);
      setReady(true);
    });
    const loaded = (next: User) => setUser(next);
    const unloaded = () => setUser(null);
    manager.events.addUserLoaded(loaded);
    manager.events.addUserUnloaded(unloaded);
    return () => {
      live = false;
      manager.events.removeUserLoaded(loaded);
      manager.events.removeUserUnloaded(unloaded);
    };
  }, [manager]);

  const auth = useMemo<Auth>(
    () => ({
      user,
      ready,
      manager,
      // The hosted pages speak the console's language (Cognito's managed login takes `lang`).
      signIn: (returnTo) =>
        manager.signinRedirect({
          state: { returnTo: returnTo ?? currentPath() },
          extraQueryParams: { lang: document.documentElement.lang || "en" },
        }),
      signOut: async () => {
        const current = await manager.getUser();
        await manager.removeUser();
        // Cognito's logout endpoint takes client_id and logout_uri (not an id_token_hint).
        await manager.signoutRedirect({
          extraQueryParams: { client_id: manager.settings.client_id, logout_uri: manager.settings.post_logout_redirect_uri ?? "" },
          id_token_hint: current?.id_token,
        });
      },
      accessToken: async () => {
        const current = await manager.getUser();
        return current && !current.expired ? current.access_token : null;
      },
      bearer: async () => {
        const current = await manager.getUser();
        if (!current) return null;
        if (!current.expired) return current.id_token ?? null;
        if (!current.refresh_token) return null;
        try {
          return (await manager.signinSilent())?.id_token ?? null;
        } catch {
          await manager.removeUser();
          return null;
        }
      },
    }),
    [user, ready, manager],
  );
  return <AuthContext.Provider value={auth}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}

/** The app-relative path of this page (with its query), to come back to after signing in. */
export function currentPath(): string {
  const base = import.meta.env.BASE_URL.replace(/\/$/, "");
  const path = window.location.pathname.startsWith(base) ? window.location.pathname.slice(base.length) : "/";
  return (path || "/") + window.location.search;
}

/** Only a path inside the app may be returned to (never another site). */
export function safeReturn(target: unknown): string {
  return typeof target === "string" && target.startsWith("/") && !target.startsWith("//") ? target : "/";
}
