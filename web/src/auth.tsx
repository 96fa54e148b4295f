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
/** Where the firm a staff member chose is kept for this tab (session.tsx); cleared at sign-out. */
export const FIRM_CHOICE = "console.firm";

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

  // The tokens' readers do not change when the user does (a silent refresh must not rebuild the API
  // client nor reload the screens); concurrent requests share one refresh.
  const tokens = useMemo(() => {
    let refreshing: Promise<User | null> | null = null;
    const refreshed = () => {
      refreshing ??= manager
        .signinSilent()
        .catch(async () => {
          await manager.removeUser();
          return null;
        })
        .finally(() => {
          refreshing = null;
        });
      return refreshing;
    };
    const current = async (): Promise<User | null> => {
      const found = await manager.getUser();
      if (!found) return null;
      if (!found.expired) return found;
      return found.refresh_token ? refreshed() : null;
    };
    return {
      bearer: async () => (await current())?.id_token ?? null,
      accessToken: async () => (await current())?.access_token ?? null,
    };
  }, [manager]);

  const auth = useMemo<Auth>(
    () => ({
      user,
      ready,
      manager,
      ...tokens,
      // The hosted pages speak the console's language (Cognito's managed login takes `lang`).
      signIn: (returnTo) =>
        manager.signinRedirect({
          state: { returnTo: returnTo ?? currentPath() },
          extraQueryParams: { lang: document.documentElement.lang || "en" },
        }),
      signOut: async () => {
        // The user is removed first, so no token goes into the logout URL (no id_token_hint);
        // Cognito's logout endpoint takes client_id and logout_uri.
        await manager.removeUser();
        window.sessionStorage.removeItem(FIRM_CHOICE);
        await manager.signoutRedirect({
          extraQueryParams: { logout_uri: manager.settings.post_logout_redirect_uri ?? "" }, // the library adds client_id
        });
      },
    }),
    [user, ready, manager, tokens],
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
