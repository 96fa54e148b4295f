// Seed 001: the adviser's customers in three sections — Invited, Pending (accounts to review),
// Customers — with their counts, a search, the invitation form, and resend / revoke.
import { useId, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { expect, type Schemas } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { Icon } from "../components/Icon";
import { Loading, MoreButton } from "../components/Layout";
import { Tabs } from "../components/Tabs";
import { useFormat } from "../format";
import { useT } from "../i18n";
import type { MessageKey } from "../i18n/en";
import { StaffOnly } from "../me";
import { useSession } from "../session";
import { usePaged } from "../usePaged";

type Section = Schemas["Section"];
type Customer = Schemas["CustomerRow"];
const SECTIONS: Section[] = ["invited", "pending", "customers"];
const ADMIN_SECTIONS: Section[] = [...SECTIONS, "ended"]; // ended relationships: admins only (retention)
const MIN_SEARCH = 3;

export function CustomersPage() {
  return <StaffOnly>{(firm) => <Customers sections={firm.role === "admin" ? ADMIN_SECTIONS : SECTIONS} />}</StaffOnly>;
}

function Customers({ sections }: { sections: Section[] }) {
  const t = useT();
  const { api } = useSession();
  const [params, setParams] = useSearchParams();
  const section = (sections as string[]).includes(params.get("section") ?? "") ? (params.get("section") as Section) : "invited";
  const [typed, setTyped] = useState(params.get("q") ?? "");
  const searchable = section !== "ended"; // the ended list is by date only (the API refuses `q` there)
  const query = searchable && typed.trim().length >= MIN_SEARCH ? typed.trim() : "";
  const list = usePaged(
    (cursor) =>
      expect(
        api.GET("/customers", {
          params: { query: { section, limit: 25, ...(query ? { q: query } : {}), ...(cursor ? { cursor } : {}) } },
        }),
      ),
    [api, section, query],
  );
  const choose = (next: Section) => {
    params.set("section", next);
    setParams(params);
  };
  const [outcome, setOutcome] = useState<Outcome>({ error: null, done: null });
  const counts = list.first?.counts ?? null;
  const rows = list.items;
  return (
    <section aria-labelledby="customers-title">
      <div className="title-row">
        <h1 id="customers-title">{t("customers.title")}</h1>
      </div>
      <InviteCustomer onInvited={() => (section === "invited" ? list.reload() : choose("invited"))} />
      <Tabs
        label={t("customers.sections")}
        idPrefix="tab"
        tabs={sections}
        selected={section}
        onSelect={choose}
        panelId="customers-panel"
        name={(name) => (
          <>
            {t(`customers.section.${name}` as MessageKey)}
            {counts && typeof counts[name] === "number" && <span className="count"> ({counts[name]})</span>}
          </>
        )}
      />
      <div id="customers-panel" role="tabpanel" aria-labelledby={`tab-${section}`}>
        {searchable && (
          <>
        <label className="search">
          {t("customers.search")}
          <input
            type="search"
            value={typed}
            onChange={(event) => setTyped(event.target.value)}
            aria-describedby="search-hint"
          />
        </label>
        <p id="search-hint" className="hint">
          {t("customers.searchHint", { n: MIN_SEARCH })}
        </p>
          </>
        )}
        {list.loading && <Loading />}
        {list.error !== null && <ErrorNotice error={list.error} onRetry={list.reload} />}
        {!list.loading && list.error === null && rows.length === 0 && (
          <p className="empty">{t(query ? "customers.noMatch" : (`customers.empty.${section}` as MessageKey))}</p>
        )}
        {outcome.error !== null && <ErrorNotice error={outcome.error} />}
        {outcome.done && (
          <p className="notice" role="status">
            {outcome.done}
          </p>
        )}
        {!list.loading && rows.length > 0 && (
          <CustomerTable
            section={section}
            rows={rows}
            onChanged={(next) => {
              setOutcome(next);
              if (next.done) list.reload();
            }}
          />
        )}
        <MoreButton list={list} />
      </div>
    </section>
  );
}

/** What the last resend or withdrawal said: kept above the list, which reloads after it. */
interface Outcome {
  error: unknown;
  done: string | null;
}

function CustomerTable({ section, rows, onChanged }: { section: Section; rows: Customer[]; onChanged(outcome: Outcome): void }) {
  const t = useT();
  const format = useFormat();
  const { api } = useSession();
  const setError = (error: unknown) => onChanged({ error, done: null });
  const setDone = (done: string | null) => done && onChanged({ error: null, done });
  async function act(customer: Customer, action: "resend" | "revoke") {
    setError(null);
    setDone(null);
    if (action === "revoke" && !window.confirm(t("customers.revokeConfirm", { name: customer.name }))) return;
    try {
      const path = action === "resend" ? "/customers/{customer_id}/invitation/resend" : "/customers/{customer_id}/invitation/revoke";
      await expect(api.POST(path, { params: { path: { customer_id: customer.customer_id } } }));
      setDone(t(action === "resend" ? "customers.resent" : "customers.revoked", { name: customer.name }));
    } catch (failure) {
      setError(failure);
    }
  }
  return (
    <>
      <table className="list">
        <caption className="visually-hidden">{t(`customers.section.${section}` as MessageKey)}</caption>
        <thead>
          <tr>
            <th scope="col">{t("customers.col.name")}</th>
            <th scope="col">{t("customers.col.email")}</th>
            <th scope="col">
              {t(section === "invited" ? "customers.col.invited" : section === "ended" ? "customers.col.ended" : "customers.col.accounts")}
            </th>
            <th scope="col">{t("customers.col.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((customer) => (
            <tr key={customer.customer_id}>
              <td>{customer.name}</td>
              <td>{customer.email}</td>
              <td>
                {section === "ended"
                  ? t("customers.endedOn", {
                      ended: format.instant(customer.ended_at),
                      erased: format.day(customer.erasure_due),
                    })
                  : section === "invited"
                  ? t(`customers.invitation.${customer.invitation_status}` as MessageKey, {
                      sent: format.instant(customer.created_at),
                      expires: format.instant(customer.invitation_expires_at),
                    })
                  : t("customers.accountsCount", { accepted: customer.accepted_accounts, fresh: customer.new_accounts })}
              </td>
              <td className="actions">
                <Link className="button" to={`/customers/${customer.customer_id}`} aria-label={t("customers.open", { name: customer.name })}>
                  <Icon name="eye" /> {t("customers.openShort")}
                </Link>
                {section === "invited" && (
                  <>
                    <button type="button" onClick={() => void act(customer, "resend")} aria-label={t("customers.resend", { name: customer.name })}>
                      {t("customers.resendShort")}
                    </button>
                    <button type="button" className="danger" onClick={() => void act(customer, "revoke")} aria-label={t("customers.revoke", { name: customer.name })}>
                      <Icon name="trash" /> {t("customers.revokeShort")}
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function InviteCustomer({ onInvited }: { onInvited(): void }) {
  const t = useT();
  const id = useId();
  const { api } = useSession();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ name: "", email: "", message: "" });
  const [state, setState] = useState<{ busy: boolean; error: unknown; sent: string | null }>({ busy: false, error: null, sent: null });
  async function submit(event: FormEvent) {
    event.preventDefault();
    setState({ busy: true, error: null, sent: null });
    try {
      const body = { name: form.name, email: form.email, ...(form.message.trim() ? { message: form.message } : {}) };
      await expect(api.POST("/customers/invitations", { body }));
      setState({ busy: false, error: null, sent: t("customers.invite.sent", { email: form.email }) });
      setForm({ name: "", email: "", message: "" });
      onInvited();
    } catch (error) {
      setState({ busy: false, error, sent: null });
    }
  }
  return (
    <div className="panel">
      <button type="button" className="primary" aria-expanded={open} aria-controls={`${id}-form`} onClick={() => setOpen(!open)}>
        {t("customers.invite.open")}
      </button>
      {state.sent && (
        <p className="notice" role="status">
          {state.sent}
        </p>
      )}
      {open && (
        <form id={`${id}-form`} onSubmit={(event) => void submit(event)} aria-label={t("customers.invite.open")}>
          <label htmlFor={`${id}-name`}>{t("customers.invite.name")}</label>
          <input id={`${id}-name`} required maxLength={200} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
          <label htmlFor={`${id}-email`}>{t("customers.invite.email")}</label>
          <input id={`${id}-email`} type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
          <label htmlFor={`${id}-message`}>{t("customers.invite.message")}</label>
          <textarea id={`${id}-message`} maxLength={1000} value={form.message} onChange={(e) => setForm({ ...form, message: e.target.value })} />
          {state.error !== null && <ErrorNotice error={state.error} />}
          <button type="submit" className="primary" disabled={state.busy}>
            {t("customers.invite.submit")}
          </button>
        </form>
      )}
    </div>
  );
}
