// Seed 001/003: one customer — shared accounts to review (accept / decline, link to a ledger
// account), connections and their status, "Import transactions", the transactions with filters,
// and (admins) the customer's audit trail.
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { expect, type Api, type Schemas } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { EventLog } from "../components/EventLog";
import { Icon } from "../components/Icon";
import { Loading, MoreButton } from "../components/Layout";
import { useFormat } from "../format";
import { useT } from "../i18n";
import type { MessageKey } from "../i18n/en";
import { StaffOnly, type StaffOf } from "../me";
import { useSession } from "../session";
import { useLoad } from "../useLoad";
import { usePaged } from "../usePaged";

type Account = Schemas["AccountOut"];

export function CustomerPage() {
  return <StaffOnly>{(firm) => <Customer firm={firm} />}</StaffOnly>;
}

function Customer({ firm }: { firm: StaffOf }) {
  const t = useT();
  const { api } = useSession();
  const { customerId = "" } = useParams();
  const [customer, reload] = useLoad(
    () => expect(api.GET("/customers/{customer_id}", { params: { path: { customer_id: customerId } } })),
    [api, customerId],
  );
  if (customer.state === "loading") return <Loading />;
  if (customer.state === "failed") return <ErrorNotice error={customer.error} onRetry={reload} />;
  const found = customer.data;
  return (
    <article aria-labelledby="customer-title">
      <p>
        <Link to="/customers">{t("customer.back")}</Link>
      </p>
      <h1 id="customer-title">{found.name}</h1>
      <p className="hint">{found.email}</p>
      <p>
        <Link to={`/files/${customerId}`}>{t("file.open")}</Link>
      </p>
      {firm.role === "admin" && <Team api={api} customer={found} onChanged={reload} />}
      <Accounts api={api} customerId={customerId} onChanged={reload} />
      <Connections api={api} customerId={customerId} />
      <Transactions api={api} customerId={customerId} />
      {firm.role === "admin" && <Audit api={api} customerId={customerId} />}
    </article>
  );
}

function Accounts({ api, customerId, onChanged }: { api: Api; customerId: string; onChanged(): void }) {
  const t = useT();
  const format = useFormat();
  const path = { customer_id: customerId };
  const [accounts, reload] = useLoad(() => expect(api.GET("/customers/{customer_id}/accounts", { params: { path } })), [api, customerId]);
  const [ledger] = useLoad(() => expect(api.GET("/ledger-accounts")), [api]);
  const [error, setError] = useState<unknown>(null);
  async function review(account: Account, decision: "accept" | "decline") {
    setError(null);
    try {
      const route =
        decision === "accept"
          ? "/customers/{customer_id}/accounts/{account_id}/accept"
          : "/customers/{customer_id}/accounts/{account_id}/decline";
      await expect(api.POST(route, { params: { path: { ...path, account_id: account.account_id } } }));
      reload();
      onChanged();
    } catch (failure) {
      setError(failure);
    }
  }
  async function link(account: Account, code: string) {
    setError(null);
    try {
      const params = { path: { ...path, account_id: account.account_id } };
      if (code) await expect(api.POST("/customers/{customer_id}/accounts/{account_id}/link", { params, body: { ledger_account: code } }));
      else await expect(api.POST("/customers/{customer_id}/accounts/{account_id}/unlink", { params }));
      reload();
    } catch (failure) {
      setError(failure);
    }
  }
  const bankCodes = ledger.state === "ready" ? ledger.data.items.filter((l) => l.kind === "bank" && !l.archived) : [];
  return (
    <section aria-labelledby="accounts-title" className="panel">
      <h2 id="accounts-title">{t("customer.accounts.title")}</h2>
      {error !== null && <ErrorNotice error={error} />}
      {accounts.state === "loading" && <Loading />}
      {accounts.state === "failed" && <ErrorNotice error={accounts.error} onRetry={reload} />}
      {accounts.state === "ready" && (
        <>
          <h3>{t("customer.accounts.toReview")}</h3>
          {accounts.data.new_accounts.length === 0 ? (
            <p className="empty">{t("customer.accounts.noneToReview")}</p>
          ) : (
            <ul className="cards">
              {accounts.data.new_accounts.map((account) => (
                <li key={account.account_id}>
                  <strong>{account.name}</strong> — {account.institution} {account.masked_identifier} ·{" "}
                  {format.money(account.balance, account.currency)}
                  <div className="actions">
                    <button type="button" className="primary" onClick={() => void review(account, "accept")} aria-label={t("customer.accounts.acceptNamed", { name: account.name })}>
                      <Icon name="check" /> {t("customer.accounts.accept")}
                    </button>
                    <button type="button" className="danger" onClick={() => void review(account, "decline")} aria-label={t("customer.accounts.declineNamed", { name: account.name })}>
                      <Icon name="trash" /> {t("customer.accounts.decline")}
                    </button>
                  </div>
                </li>
              ))}
            </ul>
          )}
          <h3>{t("customer.accounts.accepted")}</h3>
          {accounts.data.connected_accounts.length === 0 ? (
            <p className="empty">{t("customer.accounts.noneAccepted")}</p>
          ) : (
            <table className="list">
              <thead>
                <tr>
                  <th scope="col">{t("customer.accounts.col.account")}</th>
                  <th scope="col">{t("customer.accounts.col.balance")}</th>
                  <th scope="col">{t("customer.accounts.col.updated")}</th>
                  <th scope="col">{t("customer.accounts.col.ledger")}</th>
                </tr>
              </thead>
              <tbody>
                {accounts.data.connected_accounts.map((account) => (
                  <tr key={account.account_id}>
                    <td>
                      {account.name} — {account.institution} {account.masked_identifier}
                      {account.problem && <div className="hint">{t(`problem.${account.problem}` as MessageKey)}</div>}
                    </td>
                    <td className="amount">{format.money(account.balance, account.currency)}</td>
                    <td>{format.instant(account.last_updated)}</td>
                    <td>
                      <label className="inline">
                        <span className="visually-hidden">{t("customer.accounts.linkNamed", { name: account.name })}</span>
                        <select value={account.ledger_account ?? ""} onChange={(event) => void link(account, event.target.value)}>
                          <option value="">{t("customer.accounts.noLedger")}</option>
                          {bankCodes.map((code) => (
                            <option key={code.code} value={code.code}>
                              {code.code} — {code.name}
                            </option>
                          ))}
                        </select>
                      </label>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

function Connections({ api, customerId }: { api: Api; customerId: string }) {
  const t = useT();
  const format = useFormat();
  const path = { customer_id: customerId };
  const [connections, reload] = useLoad(() => expect(api.GET("/customers/{customer_id}/connections", { params: { path } })), [api, customerId]);
  const [imports, setImports] = useState<{ busy: boolean; error: unknown; done: string | null }>({ busy: false, error: null, done: null });
  async function importNow() {
    setImports({ busy: true, error: null, done: null });
    try {
      const queued = await expect(api.POST("/customers/{customer_id}/imports", { params: { path } }));
      setImports({ busy: false, error: null, done: t("customer.imports.queued", { queued: queued.jobs_queued, already: queued.already_queued }) });
    } catch (error) {
      setImports({ busy: false, error, done: null });
    }
  }
  return (
    <section aria-labelledby="connections-title" className="panel">
      <h2 id="connections-title">{t("customer.connections.title")}</h2>
      {connections.state === "loading" && <Loading />}
      {connections.state === "failed" && <ErrorNotice error={connections.error} onRetry={reload} />}
      {connections.state === "ready" &&
        (connections.data.length === 0 ? (
          <p className="empty">{t("customer.connections.none")}</p>
        ) : (
          <ul className="cards">
            {connections.data.map((connection) => (
              <li key={connection.connection_id}>
                <strong>{connection.institution_name}</strong> —{" "}
                <span className={`status status-${connection.status}`}>{t(`status.${connection.status}` as MessageKey)}</span>
                <div className="hint">
                  {t("customer.connections.lastImport", { when: format.instant(connection.last_import_at) })}
                  {connection.expires_at && <> · {t("customer.connections.expires", { when: format.instant(connection.expires_at) })}</>}
                </div>
                {connection.last_error && <div>{t(`problem.${connection.last_error}` as MessageKey)}</div>}
              </li>
            ))}
          </ul>
        ))}
      <button type="button" className="primary" onClick={() => void importNow()} disabled={imports.busy}>
        {t("customer.imports.button")}
      </button>
      {imports.busy && (
        <p role="status" aria-live="polite">
          {t("app.loading")}
        </p>
      )}
      {imports.done && (
        <p className="notice" role="status">
          {imports.done}
        </p>
      )}
      {imports.error !== null && <ErrorNotice error={imports.error} />}
    </section>
  );
}

function Transactions({ api, customerId }: { api: Api; customerId: string }) {
  const t = useT();
  const format = useFormat();
  const [filters, setFilters] = useState({ account_id: "", from: "", to: "" });
  const [applied, setApplied] = useState(filters);
  const [accounts] = useLoad(
    () => expect(api.GET("/customers/{customer_id}/accounts", { params: { path: { customer_id: customerId } } })),
    [api, customerId],
  );
  const list = usePaged(
    (cursor) =>
      expect(
        api.GET("/customers/{customer_id}/transactions", {
          params: {
            path: { customer_id: customerId },
            query: {
              limit: 50,
              ...(applied.account_id ? { account_id: applied.account_id } : {}),
              ...(applied.from ? { from: applied.from } : {}),
              ...(applied.to ? { to: applied.to } : {}),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      ),
    [api, customerId, applied],
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setApplied(filters);
  };
  const accepted = accounts.state === "ready" ? accounts.data.connected_accounts : [];
  return (
    <section aria-labelledby="transactions-title" className="panel">
      <h2 id="transactions-title">{t("customer.transactions.title")}</h2>
      <form className="filters" onSubmit={submit} aria-label={t("customer.transactions.filters")}>
        <label>
          {t("customer.transactions.account")}
          <select value={filters.account_id} onChange={(e) => setFilters({ ...filters, account_id: e.target.value })}>
            <option value="">{t("customer.transactions.allAccounts")}</option>
            {accepted.map((account) => (
              <option key={account.account_id} value={account.account_id}>
                {account.name} {account.masked_identifier}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("customer.transactions.from")}
          <input type="date" value={filters.from} onChange={(e) => setFilters({ ...filters, from: e.target.value })} />
        </label>
        <label>
          {t("customer.transactions.to")}
          <input type="date" value={filters.to} onChange={(e) => setFilters({ ...filters, to: e.target.value })} />
        </label>
        <button type="submit">{t("customer.transactions.apply")}</button>
      </form>
      {list.loading && <Loading />}
      {list.error !== null && <ErrorNotice error={list.error} onRetry={list.reload} />}
      {!list.loading && list.error === null && list.items.length === 0 && <p className="empty">{t("customer.transactions.none")}</p>}
      {list.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{t("customer.transactions.col.date")}</th>
              <th scope="col">{t("customer.transactions.col.description")}</th>
              <th scope="col">{t("customer.transactions.col.ledger")}</th>
              <th scope="col" className="amount">
                {t("customer.transactions.col.amount")}
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((line) => (
              <tr key={line.line_id}>
                <td>{format.day(line.booking_date)}</td>
                <td>
                  {line.description}
                  {line.pending && <span className="hint"> · {t("customer.transactions.pending")}</span>}
                </td>
                <td>{line.ledger_account ?? "—"}</td>
                <td className="amount">{format.money(line.amount, line.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MoreButton list={list} />
    </section>
  );
}

function Audit({ api, customerId }: { api: Api; customerId: string }) {
  const t = useT();
  const [staff] = useLoad(() => expect(api.GET("/staff")), [api]);
  const who = (actorId: string) =>
    (staff.state === "ready" && staff.data.items.find((member) => member.user_id === actorId)?.name) || actorId;
  const list = usePaged(
    (cursor) => expect(api.GET("/audit", { params: { query: { customer_id: customerId, limit: 25, ...(cursor ? { cursor } : {}) } } })),
    [api, customerId],
  );
  return <EventLog title={t("customer.audit.title")} titleId="audit-title" list={list} who={who} />;
}

function Team({ api, customer, onChanged }: { api: Api; customer: Schemas["CustomerOut"]; onChanged(): void }) {
  const t = useT();
  const [staff] = useLoad(() => expect(api.GET("/staff")), [api]);
  const [error, setError] = useState<unknown>(null);
  const [pick, setPick] = useState("");
  const path = { customer_id: customer.customer_id };
  async function run(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
      onChanged();
    } catch (failure) {
      setError(failure);
    }
  }
  if (staff.state !== "ready") return staff.state === "failed" ? <ErrorNotice error={staff.error} /> : <Loading />;
  const active = staff.data.items.filter((member) => member.active);
  const name = (userId: string) => staff.data.items.find((m) => m.user_id === userId)?.name ?? userId;
  const others = active.filter((m) => m.user_id !== customer.owner_id && !customer.assignee_ids.includes(m.user_id));
  return (
    <section aria-labelledby="team-title" className="panel">
      <h2 id="team-title">{t("customer.team.title")}</h2>
      {error !== null && <ErrorNotice error={error} />}
      <p>{t("customer.team.owner", { name: name(customer.owner_id) })}</p>
      <ul className="cards">
        {customer.assignee_ids.map((userId) => (
          <li key={userId}>
            {name(userId)}{" "}
            <button type="button" className="danger" onClick={() => void run(() => expect(api.DELETE("/customers/{customer_id}/assignees/{user_id}", { params: { path: { ...path, user_id: userId } } })))}>
              {t("customer.team.removeNamed", { name: name(userId) })}
            </button>
          </li>
        ))}
      </ul>
      <div className="filters">
        <label>
          {t("customer.team.adviser")}
          <select value={pick} onChange={(e) => setPick(e.target.value)}>
            <option value="">—</option>
            {others.map((m) => (
              <option key={m.user_id} value={m.user_id}>
                {m.name ?? m.email ?? m.user_id}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!pick} onClick={() => void run(() => expect(api.PUT("/customers/{customer_id}/assignees/{user_id}", { params: { path: { ...path, user_id: pick } } })))}>
          {t("customer.team.assign")}
        </button>
        <button type="button" disabled={!pick} onClick={() => void run(() => expect(api.POST("/customers/{customer_id}/transfer", { params: { path }, body: { owner_id: pick } })))}>
          {t("customer.team.transfer")}
        </button>
      </div>
    </section>
  );
}
