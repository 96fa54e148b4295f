// Seed 000/003/004: the customer's own screens — their firms and accounts, each connection's
// status with its fix (refresh, reauthorise, deauthorise, find new accounts), connecting a bank
// (the provider, institution search with web address and notice, consent, then the bank's pages or
// Plaid Link), notifications and the EULA.
import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { expect, type Api, type Schemas } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { Loading, MoreButton } from "../components/Layout";
import { useConfig } from "../config";
import { useFormat } from "../format";
import { useT } from "../i18n";
import type { MessageKey } from "../i18n/en";
import { useMe } from "../me";
import { runPlaidLink } from "../plaidLink";
import { useSession } from "../session";
import { useLoad } from "../useLoad";
import { usePaged } from "../usePaged";

type Connection = Schemas["ConnectionViewOut"];
type Provider = "gocardless" | "plaid";
const PROVIDERS: Provider[] = ["gocardless", "plaid"];
/** A Plaid consent started (its connection and Link token): Link can be opened again with it. */
type PlaidStarted = { connectionId: string; linkToken: string };

function CustomerOnly({ children }: { children: React.ReactNode }) {
  const t = useT();
  const { me } = useMe();
  if (!me) return <p role="alert">{t("auth.required")}</p>;
  if (me.customer_of.length === 0) return <p role="alert">{t("error.customers_only")}</p>;
  return <>{children}</>;
}

export function MyBankPage() {
  return (
    <CustomerOnly>
      <MyBank />
    </CustomerOnly>
  );
}

function MyBank() {
  const t = useT();
  const { api } = useSession();
  const [eula] = useLoad(() => expect(api.GET("/eula")), [api]);
  return (
    <section aria-labelledby="mybank-title">
      <div className="title-row">
        <h1 id="mybank-title">{t("mybank.title")}</h1>
        <Link className="button primary" to="/me/connect">
          {t("mybank.connect")}
        </Link>
      </div>
      {eula.state === "ready" && !eula.data.accepted && (
        <p className="notice" role="status">
          {t("mybank.eulaPending")} <Link to="/me/eula">{t("mybank.eulaLink")}</Link>
        </p>
      )}
      <MyConnections api={api} />
      <MyAccounts api={api} />
    </section>
  );
}

/** Link's public token handed to the API (a new Item, or the same one re-logged in update mode); the
 *  screen to show next: the same outcome screen as the bank's redirect, with the connection's status. */
async function completeLinked(api: Api, connectionId: string, publicToken: string): Promise<string> {
  const params = { path: { connection_id: connectionId } };
  const done = await expect(api.POST("/connections/{connection_id}/complete", { params, body: { public_token: publicToken } }));
  return `/connections/complete?${new URLSearchParams({ outcome: done.status }).toString()}`;
}

function MyConnections({ api }: { api: Api }) {
  const config = useConfig();
  const navigate = useNavigate();
  const t = useT();
  const format = useFormat();
  const [connections, reload] = useLoad(() => expect(api.GET("/me/connections", { params: { query: { limit: 25 } } })), [api]);
  const [outcome, setOutcome] = useState<{ error: unknown; done: string | null }>({ error: null, done: null });
  const path = (connection: Connection) => ({ params: { path: { connection_id: connection.connection_id } } });
  async function act(connection: Connection, action: "refresh" | "reauthorise" | "deauthorise" | "find_new_accounts") {
    setOutcome({ error: null, done: null });
    try {
      if (action === "refresh") {
        const answer = await expect(api.POST("/connections/{connection_id}/refresh", path(connection)));
        setOutcome({ error: null, done: t(`mybank.import.${answer.import_state}` as MessageKey) });
      } else if (action === "reauthorise") {
        const started = await expect(api.POST("/connections/{connection_id}/reauthorise", path(connection)));
        if (started.consent_url) {
          window.location.assign(started.consent_url); // GoCardless: a new consent at the bank
          return;
        }
        if (started.link_token) {
          // Plaid: Link in update mode re-logs the same Item, then the console completes it.
          const outcome = await runPlaidLink(config.plaidLinkScript, started.link_token);
          if (outcome.kind === "exit") {
            setOutcome({ error: null, done: t(outcome.errorCode ? "mybank.linkFailed" : "mybank.linkClosed") });
            return;
          }
          navigate(await completeLinked(api, connection.connection_id, outcome.publicToken));
          return;
        }
        setOutcome({ error: null, done: t("mybank.reauthoriseStarted") });
      } else if (action === "deauthorise") {
        if (!window.confirm(t("mybank.deauthoriseConfirm", { bank: connection.institution_name }))) return;
        await expect(api.POST("/connections/{connection_id}/deauthorise", path(connection)));
        setOutcome({ error: null, done: t("mybank.deauthorised", { bank: connection.institution_name }) });
      } else {
        const found = await expect(api.POST("/connections/{connection_id}/find-new-accounts", path(connection)));
        setOutcome({ error: null, done: t("mybank.found", { n: found.new_accounts_offered }) });
      }
      reload();
    } catch (error) {
      setOutcome({ error, done: null });
    }
  }
  return (
    <section aria-labelledby="connections-title" className="panel">
      <h2 id="connections-title">{t("mybank.connections")}</h2>
      {outcome.done && (
        <p className="notice" role="status">
          {outcome.done}
        </p>
      )}
      {outcome.error !== null && <ErrorNotice error={outcome.error} />}
      {connections.state === "loading" && <Loading />}
      {connections.state === "failed" && <ErrorNotice error={connections.error} onRetry={reload} />}
      {connections.state === "ready" && connections.data.firms.every((firm) => firm.connections.length === 0) && (
        <p className="empty">{t("mybank.noConnections")}</p>
      )}
      {connections.state === "ready" &&
        connections.data.firms.map((firm) =>
          firm.connections.length === 0 ? null : (
            <div key={firm.firm_id}>
              <h3>{firm.firm_name}</h3>
              <ul className="cards">
                {firm.connections.map((connection) => (
                  <li key={connection.connection_id}>
                    <strong>{connection.institution_name}</strong> —{" "}
                    <span className={`status status-${connection.status}`}>{t(`status.${connection.status}` as MessageKey)}</span>
                    {connection.historical && connection.consent_ended_on && (
                      <div className="hint">{t("mybank.historical", { day: format.day(connection.consent_ended_on) })}</div>
                    )}
                    {connection.expires_at && !connection.historical && (
                      <div className="hint">{t("customer.connections.expires", { when: format.instant(connection.expires_at) })}</div>
                    )}
                    {connection.last_error && <div>{t(`problem.${connection.last_error}` as MessageKey)}</div>}
                    <div className="actions">
                      {connection.status === "linked" && (
                        <button type="button" onClick={() => void act(connection, "refresh")}>
                          {t("mybank.fix.refresh")}
                        </button>
                      )}
                      {(connection.fix === "reauthorise" || connection.fix === "reconnect" || connection.expires_soon) && (
                        <button type="button" className="primary" onClick={() => void act(connection, "reauthorise")}>
                          {t("mybank.fix.reauthorise")}
                        </button>
                      )}
                      {connection.status === "linked" && (
                        <button type="button" onClick={() => void act(connection, "find_new_accounts")}>
                          {t("mybank.fix.findNewAccounts")}
                        </button>
                      )}
                      {connection.status !== "revoked" && (
                        <button type="button" className="danger" onClick={() => void act(connection, "deauthorise")}>
                          {t("mybank.fix.deauthorise")}
                        </button>
                      )}
                    </div>
                  </li>
                ))}
              </ul>
            </div>
          ),
        )}
    </section>
  );
}

function MyAccounts({ api }: { api: Api }) {
  const t = useT();
  const format = useFormat();
  const [accounts, reload] = useLoad(() => expect(api.GET("/me/accounts", { params: { query: { limit: 25 } } })), [api]);
  return (
    <section aria-labelledby="accounts-title" className="panel">
      <h2 id="accounts-title">{t("mybank.accounts")}</h2>
      {accounts.state === "loading" && <Loading />}
      {accounts.state === "failed" && <ErrorNotice error={accounts.error} onRetry={reload} />}
      {accounts.state === "ready" &&
        accounts.data.firms.map((firm) => (
          <div key={firm.firm_id}>
            <h3>{t("mybank.sharedWith", { firm: firm.firm_name })}</h3>
            {firm.accounts.length === 0 ? (
              <p className="empty">{t("mybank.noAccounts")}</p>
            ) : (
              <table className="list">
                <thead>
                  <tr>
                    <th scope="col">{t("customer.accounts.col.account")}</th>
                    <th scope="col" className="amount">
                      {t("customer.accounts.col.balance")}
                    </th>
                    <th scope="col">{t("mybank.firmDecision")}</th>
                  </tr>
                </thead>
                <tbody>
                  {firm.accounts.map((account) => (
                    <tr key={account.account_id}>
                      <td>
                        {account.name} — {account.institution} {account.masked_identifier}
                        {account.historical && account.consent_ended_on && (
                          <div className="hint">{t("mybank.historical", { day: format.day(account.consent_ended_on) })}</div>
                        )}
                      </td>
                      <td className="amount">{format.money(account.balance, account.currency)}</td>
                      <td>{t(`mybank.accountStatus.${account.status}` as MessageKey)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        ))}
    </section>
  );
}

export function ConnectBankPage() {
  return (
    <CustomerOnly>
      <ConnectBank />
    </CustomerOnly>
  );
}

function ConnectBank() {
  const t = useT();
  const { api } = useSession();
  const { me } = useMe();
  const { plaidLinkScript } = useConfig();
  const navigate = useNavigate();
  const firms = me?.customer_of ?? [];
  const [provider, setProvider] = useState<Provider>("gocardless");
  const [country, setCountry] = useState("GB");
  const [typed, setTyped] = useState("");
  const [query, setQuery] = useState("");
  const [chosen, setChosen] = useState<Schemas["InstitutionOut"] | null>(null);
  const [firmId, setFirmId] = useState(firms[0]?.firm_id ?? "");
  const [consent, setConsent] = useState(false);
  const [start, setStart] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const [plaid, setPlaid] = useState<PlaidStarted | null>(null);
  const [exited, setExited] = useState<"closed" | "failed" | null>(null);
  const [found] = useLoad(
    () => expect(api.GET("/institutions", { params: { query: { provider, country, q: query } } })),
    [api, provider, country, query],
  );
  const search = (event: FormEvent) => {
    event.preventDefault();
    setQuery(typed.trim());
  };
  const choose = (bank: Schemas["InstitutionOut"] | null) => {
    setChosen(bank);
    setPlaid(null);
    setExited(null);
  };
  async function connect(event: FormEvent) {
    event.preventDefault();
    if (!chosen) return;
    setStart({ busy: true, error: null });
    setExited(null);
    try {
      let started = plaid; // after Link was closed, the same Link token opens it again
      if (!started) {
        const body = { provider, institution_id: chosen.id, ...(firms.length > 1 ? { firm_id: firmId } : {}) };
        const answer = await expect(api.POST("/connections", { body }));
        if (answer.consent_url) {
          window.location.assign(answer.consent_url); // GoCardless: the bank's pages, then its redirect
          return;
        }
        if (!answer.link_token) {
          setStart({ busy: false, error: null });
          return;
        }
        started = { connectionId: answer.connection.connection_id, linkToken: answer.link_token };
        setPlaid(started);
      }
      const outcome = await runPlaidLink(plaidLinkScript, started.linkToken);
      if (outcome.kind === "exit") {
        if (outcome.errorCode) setPlaid(null); // Link failed: the next attempt starts a new consent
        setExited(outcome.errorCode ? "failed" : "closed");
        setStart({ busy: false, error: null });
        return;
      }
      navigate(await completeLinked(api, started.connectionId, outcome.publicToken));
    } catch (error) {
      setStart({ busy: false, error });
    }
  }
  return (
    <section aria-labelledby="connect-title">
      <p>
        <Link to="/me">{t("mybank.back")}</Link>
      </p>
      <h1 id="connect-title">{t("connect.title")}</h1>
      {!chosen && (
        <>
          <fieldset className="panel choice">
            <legend>{t("connect.provider")}</legend>
            {PROVIDERS.map((option) => (
              <label key={option} className="check">
                <input
                  type="radio"
                  name="provider"
                  value={option}
                  checked={provider === option}
                  onChange={() => setProvider(option)}
                />{" "}
                {t(`connect.provider.${option}` as MessageKey)}
              </label>
            ))}
          </fieldset>
          <form className="filters panel" onSubmit={search} role="search" aria-label={t("connect.search")}>
            <label>
              {t("connect.country")}
              <select value={country} onChange={(e) => setCountry(e.target.value)}>
                {["GB", "FR", "DE", "ES", "IT", "NL", "BE", "IE"].map((code) => (
                  <option key={code} value={code}>
                    {new Intl.DisplayNames([document.documentElement.lang || "en"], { type: "region" }).of(code)}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t("connect.bank")}
              <input type="search" value={typed} onChange={(e) => setTyped(e.target.value)} />
            </label>
            <button type="submit">{t("connect.searchButton")}</button>
          </form>
          {found.state === "loading" && <Loading />}
          {found.state === "failed" && <ErrorNotice error={found.error} />}
          {found.state === "ready" && found.data.length === 0 && (
            <p className="empty">{t(provider === "plaid" && !query ? "connect.plaid.typeName" : "connect.none")}</p>
          )}
          {found.state === "ready" && found.data.length > 0 && (
            <ul className="cards">
              {found.data.map((bank) => (
                <li key={bank.id}>
                  <button type="button" className="link-like" onClick={() => choose(bank)}>
                    {t("connect.choose", { bank: bank.name })}
                  </button>
                  {bank.website && <div className="hint">{bank.website}</div>}
                  {bank.notice && <div className="hint">{bank.notice}</div>}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      {chosen && (
        <form className="panel" onSubmit={(event) => void connect(event)} aria-labelledby="consent-title">
          <h2 id="consent-title">{t("connect.consentTitle", { bank: chosen.name })}</h2>
          {chosen.website && <p>{t("connect.website", { url: chosen.website })}</p>}
          {chosen.notice && <p className="notice">{chosen.notice}</p>}
          <p>{t("connect.whatIsShared", { days: chosen.max_history_days ?? 90 })}</p>
          {provider === "plaid" && <p>{t("connect.plaid.how")}</p>}
          {firms.length > 1 && (
            <label>
              {t("connect.firm")}
              <select value={firmId} onChange={(e) => setFirmId(e.target.value)}>
                {firms.map((firm) => (
                  <option key={firm.firm_id} value={firm.firm_id}>
                    {firm.firm_name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <label className="check">
            <input type="checkbox" checked={consent} onChange={(e) => setConsent(e.target.checked)} required />{" "}
            {t("connect.consent")}
          </label>
          {exited && (
            <p className="notice" role="status">
              {t(exited === "closed" ? "connect.plaid.closed" : "connect.plaid.failed")}
            </p>
          )}
          {start.error !== null && <ErrorNotice error={start.error} />}
          <div className="actions">
            <button type="submit" className="primary" disabled={!consent || start.busy}>
              {provider === "plaid" ? t("connect.plaid.continue") : t("connect.continue", { bank: chosen.name })}
            </button>
            <button type="button" onClick={() => choose(null)}>
              {t("connect.another")}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

export function NotificationsPage() {
  const t = useT();
  const format = useFormat();
  const { api } = useSession();
  const list = usePaged((cursor) => expect(api.GET("/me/notifications", { params: { query: { limit: 25, ...(cursor ? { cursor } : {}) } } })), [api]);
  const [error, setError] = useState<unknown>(null);
  async function read(id: string) {
    try {
      await expect(api.POST("/me/notifications/{notification_id}/read", { params: { path: { notification_id: id } } }));
      list.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  return (
    <section aria-labelledby="notifications-title">
      <h1 id="notifications-title">{t("notifications.title")}</h1>
      {error !== null && <ErrorNotice error={error} />}
      {list.loading && <Loading />}
      {list.error !== null && <ErrorNotice error={list.error} onRetry={list.reload} />}
      {!list.loading && list.error === null && list.items.length === 0 && <p className="empty">{t("notifications.none")}</p>}
      <ul className="cards">
        {list.items.map((item) => (
          <li key={item.notification_id} className={item.read ? "read" : "unread"}>
            <strong>{item.title}</strong> <span className="hint">{format.instant(item.created_at)}</span>
            <p>{item.body}</p>
            {!item.read && (
              <button type="button" onClick={() => void read(item.notification_id)} aria-label={t("notifications.markReadNamed", { title: item.title })}>
                {t("notifications.markRead")}
              </button>
            )}
          </li>
        ))}
      </ul>
      <MoreButton list={list} />
    </section>
  );
}

export function EulaPage() {
  const t = useT();
  const { api } = useSession();
  const [eula, reload] = useLoad(() => expect(api.GET("/eula")), [api]);
  const [state, setState] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  async function accept(version: string) {
    setState({ busy: true, error: null });
    try {
      await expect(api.POST("/me/eula", { body: { version } }));
      setState({ busy: false, error: null });
      reload();
    } catch (error) {
      setState({ busy: false, error });
    }
  }
  if (eula.state === "loading") return <Loading />;
  if (eula.state === "failed") return <ErrorNotice error={eula.error} onRetry={reload} />;
  return (
    <section aria-labelledby="eula-title">
      <h1 id="eula-title">{t("eula.title", { version: eula.data.version })}</h1>
      <div className="panel document" tabIndex={0} role="region" aria-label={t("eula.title", { version: eula.data.version })}>
        {eula.data.text.split(/\n{2,}/).map((block, index) =>
          block.startsWith("#") ? <h2 key={index}>{block.replace(/^#+\s*/, "")}</h2> : <p key={index}>{block}</p>,
        )}
      </div>
      {eula.data.accepted ? (
        <p className="notice" role="status">
          {t("eula.accepted")}
        </p>
      ) : (
        <>
          {state.error !== null && <ErrorNotice error={state.error} />}
          <button type="button" className="primary" disabled={state.busy} onClick={() => void accept(eula.data.version)}>
            {t("eula.accept")}
          </button>
        </>
      )}
    </section>
  );
}
