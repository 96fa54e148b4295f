// The emailed invitation links of the three kinds: a customer (a firm's invitation to share bank
// data), a client file's grantee (a family member or an external adviser) and a firm's staff.
// Accepting either creates the account (the invited email, a password chosen here) or signs in
// through the hosted pages and comes back here to accept.
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { ApiError, expect, type Api } from "../api/client";
import { currentPath, useAuth } from "../auth";
import { ErrorNotice } from "../components/ErrorNotice";
import { Loading } from "../components/Layout";
import { useT } from "../i18n";
import type { MessageKey } from "../i18n/en";
import { useSession } from "../session";
import { useLoad } from "../useLoad";

export type InvitationKind = "customer" | "file" | "staff";

interface Invitation {
  firm_name: string;
  level?: "read_write" | "read_only";
  role?: "admin" | "adviser";
  file_label?: string;
}

// One table of what differs between the kinds; the API's paths are literal for its typed client.
const KINDS: Record<
  InvitationKind,
  {
    title: MessageKey;
    intro: MessageKey;
    done: MessageKey;
    verify(api: Api, token: string): Promise<Invitation>;
    create(api: Api, token: string, password: string): Promise<Invitation>;
    accept(api: Api, token: string): Promise<Invitation>;
  }
> = {
  customer: {
    title: "invite.customer.title",
    intro: "invite.customer.intro",
    done: "invite.done.customer",
    verify: (api, token) => expect(api.POST("/invitations/verify", { body: { token } })),
    create: (api, token, password) => expect(api.POST("/invitations/create-account", { body: { token, password } })),
    accept: (api, token) => expect(api.POST("/invitations/accept", { body: { token } })),
  },
  file: {
    title: "invite.file.title",
    intro: "invite.file.intro",
    done: "invite.done.file",
    verify: (api, token) => expect(api.POST("/file-invitations/verify", { body: { token } })),
    create: (api, token, password) =>
      expect(api.POST("/file-invitations/create-account", { body: { token, password } })),
    accept: (api, token) => expect(api.POST("/file-invitations/accept", { body: { token } })),
  },
  staff: {
    title: "invite.staff.title",
    intro: "invite.staff.intro",
    done: "invite.done.staff",
    verify: (api, token) => expect(api.POST("/staff-invitations/verify", { body: { token } })),
    create: (api, token, password) =>
      expect(api.POST("/staff-invitations/create-account", { body: { token, password } })),
    accept: (api, token) => expect(api.POST("/staff-invitations/accept", { body: { token } })),
  },
};

const ACCEPT_AFTER_SIGN_IN = "accept";

export function AcceptInvitation({ kind }: { kind: InvitationKind }) {
  const t = useT();
  const auth = useAuth();
  const { api } = useSession();
  const [params, setParams] = useSearchParams();
  const token = params.get("token") ?? "";
  const spec = KINDS[kind];
  const [found] = useLoad(
    () => (token ? spec.verify(api, token) : Promise.reject(new ApiError(404, "not_found", ""))),
    [api, kind, token],
  );
  const [outcome, setOutcome] = useState<{ accepted: Invitation; signedIn: boolean } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);

  async function run(action: () => Promise<Invitation>, signedIn: boolean) {
    setBusy(true);
    setError(null);
    try {
      setOutcome({ accepted: await action(), signedIn });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  // Back from the hosted sign-in pages with `accept=1`: accept as the signed-in person, once.
  const wantsAccept = params.get(ACCEPT_AFTER_SIGN_IN) === "1";
  useEffect(() => {
    if (!wantsAccept || !auth.ready || !auth.user || found.state !== "ready") return;
    params.delete(ACCEPT_AFTER_SIGN_IN);
    setParams(params, { replace: true });
    void run(() => spec.accept(api, token), true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [wantsAccept, auth.ready, auth.user, found.state]);

  useEffect(() => heading.current?.focus(), [outcome]);

  if (found.state === "loading") return <Loading />;
  if (found.state === "failed") {
    return (
      <section aria-labelledby="invite-title">
        <h1 id="invite-title">{t("invite.invalid.title")}</h1>
        <p>{t("invite.invalid.body")}</p>
      </section>
    );
  }
  const invitation = found.data;
  if (outcome) {
    const { accepted } = outcome;
    return (
      <section aria-labelledby="invite-title">
        <h1 id="invite-title" ref={heading} tabIndex={-1}>
          {t("invite.done.title")}
        </h1>
        <p>{t(spec.done, { firm: accepted.firm_name, label: accepted.file_label ?? "" })}</p>
        {outcome.signedIn ? (
          <a className="button primary" href={`${import.meta.env.BASE_URL}`}>
            {t("invite.done.continue")}
          </a>
        ) : (
          <>
            <p>{t("invite.done.signIn")}</p>
            <button type="button" className="primary" onClick={() => void auth.signIn("/")}>
              {t("app.signIn")}
            </button>
          </>
        )}
      </section>
    );
  }

  const signInAndAccept = () => {
    if (auth.user) return void run(() => spec.accept(api, token), true);
    const back = new URLSearchParams(params);
    back.set(ACCEPT_AFTER_SIGN_IN, "1");
    void auth.signIn(`${currentPath().split("?")[0]}?${back.toString()}`);
  };

  return (
    <section aria-labelledby="invite-title">
      <h1 id="invite-title">{t(spec.title)}</h1>
      <p>
        {t(spec.intro, {
          firm: invitation.firm_name,
          level: invitation.level ? t(`invite.level.${invitation.level}`) : "",
          role: invitation.role ? t(invitation.role === "admin" ? "home.role.admin" : "home.role.adviser") : "",
        })}
      </p>
      {error !== null && <ErrorNotice error={error} />}
      {busy && (
        <p role="status" aria-live="polite">
          {t("invite.accepting")}
        </p>
      )}
      <div className="columns">
        {!auth.user && <NewAccount disabled={busy} onSubmit={(password) => run(() => spec.create(api, token, password), false)} />}
        <div className="panel">
          <h2>{t("invite.existing.heading")}</h2>
          <button type="button" className="primary" disabled={busy} onClick={signInAndAccept}>
            {t("invite.existing.submit")}
          </button>
        </div>
      </div>
    </section>
  );
}

function NewAccount({ disabled, onSubmit }: { disabled: boolean; onSubmit(password: string): void }) {
  const t = useT();
  const id = useId();
  const [password, setPassword] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(password);
  };
  return (
    <form className="panel" onSubmit={submit}>
      <h2>{t("invite.new.heading")}</h2>
      <label htmlFor={`${id}-password`}>{t("invite.new.password")}</label>
      <input
        id={`${id}-password`}
        type="password"
        autoComplete="new-password"
        minLength={12}
        required
        aria-describedby={`${id}-hint`}
        value={password}
        onChange={(event) => setPassword(event.target.value)}
      />
      <p id={`${id}-hint`} className="hint">
        {t("invite.new.passwordHint")}
      </p>
      <button type="submit" className="primary" disabled={disabled}>
        {t("invite.new.submit")}
      </button>
    </form>
  );
}
