import { useEffect, useState } from "react";
import { useNavigate } from "react-router";
import { safeReturn, useAuth } from "../auth";
import { Loading } from "../components/Layout";
import { useT } from "../i18n";

/** Where the hosted sign-in pages send the browser back with `?code=…&state=…`. */
export function AuthCallback() {
  const t = useT();
  const auth = useAuth();
  const navigate = useNavigate();
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    auth.manager.signinRedirectCallback().then(
      (user) => {
        const state = user.state as { returnTo?: unknown } | undefined;
        if (live) navigate(safeReturn(state?.returnTo), { replace: true });
      },
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
    // The code can be exchanged once: run on the first render only.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  if (!failed) return <Loading />;
  return (
    <section aria-labelledby="callback-title">
      <h1 id="callback-title">{t("error.title")}</h1>
      <p role="alert">{t("auth.callbackFailed")}</p>
      <button type="button" className="primary" onClick={() => void auth.signIn("/")}>
        {t("app.signIn")}
      </button>
    </section>
  );
}

export function SignedOut() {
  const t = useT();
  const auth = useAuth();
  return (
    <section aria-labelledby="signed-out-title">
      <h1 id="signed-out-title">{t("auth.signedOut.title")}</h1>
      <p>{t("auth.signedOut.body")}</p>
      <button type="button" className="primary" onClick={() => void auth.signIn("/")}>
        {t("app.signIn")}
      </button>
    </section>
  );
}

export function NotFound() {
  const t = useT();
  return (
    <section aria-labelledby="not-found-title">
      <h1 id="not-found-title">{t("notFound.title")}</h1>
      <p>{t("notFound.body")}</p>
    </section>
  );
}
