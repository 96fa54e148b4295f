// Seed 000/002: the firm admin's screens, as the API offers them — staff (invite, role,
// deactivate / reactivate), the assignment rules, the chart of accounts and the retention setting.
// A customer's assignees and transfer are on the customer's page.
import { useState, type FormEvent } from "react";
import { expect, type Api, type Schemas } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { Loading } from "../components/Layout";
import { useFormat } from "../format";
import { hasMessage, useT } from "../i18n";
import type { MessageKey } from "../i18n/en";
import { StaffOnly } from "../me";
import { useSession } from "../session";
import { useLoad } from "../useLoad";

type Role = Schemas["StaffRole"];
type Kind = Schemas["LedgerKind"];
const KINDS: Kind[] = ["bank", "expense", "income", "asset", "liability", "equity"];
const DIRECTIONS: Schemas["Direction"][] = ["any", "in", "out"];

export function AdminPage() {
  const t = useT();
  return (
    <StaffOnly>
      {(firm) =>
        firm.role !== "admin" ? (
          <p role="alert">{t("error.forbidden")}</p>
        ) : (
          <AdminScreens />
        )
      }
    </StaffOnly>
  );
}

function AdminScreens() {
  const t = useT();
  const { api } = useSession();
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">{t("admin.title")}</h1>
      <Staff api={api} />
      <Rules api={api} />
      <Ledger api={api} />
      <Settings api={api} />
    </section>
  );
}

/** Runs one change, reporting its error; `then` on success. */
function useAction() {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function run(action: () => Promise<unknown>, then: () => void) {
    setBusy(true);
    setError(null);
    try {
      await action();
      then();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }
  return { error, busy, run };
}

function Staff({ api }: { api: Api }) {
  const t = useT();
  const format = useFormat();
  const [staff, reload] = useLoad(() => expect(api.GET("/staff")), [api]);
  const [invitations, reloadInvitations] = useLoad(() => expect(api.GET("/staff/invitations")), [api]);
  const action = useAction();
  const [form, setForm] = useState({ name: "", email: "", role: "adviser" as Role });
  const invite = (event: FormEvent) => {
    event.preventDefault();
    void action.run(() => expect(api.POST("/staff/invitations", { body: form })), () => {
      setForm({ name: "", email: "", role: "adviser" });
      reloadInvitations();
    });
  };
  const path = (userId: string) => ({ params: { path: { user_id: userId } } });
  return (
    <section aria-labelledby="staff-title" className="panel">
      <h2 id="staff-title">{t("admin.staff")}</h2>
      {action.error !== null && <ErrorNotice error={action.error} />}
      {staff.state === "loading" && <Loading />}
      {staff.state === "failed" && <ErrorNotice error={staff.error} onRetry={reload} />}
      {staff.state === "ready" && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{t("customers.col.name")}</th>
              <th scope="col">{t("customers.col.email")}</th>
              <th scope="col">{t("admin.role")}</th>
              <th scope="col">{t("customers.col.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {staff.data.items.map((member) => (
              <tr key={member.user_id}>
                <td>
                  {member.name ?? "—"} {!member.active && <span className="hint">({t("admin.deactivated")})</span>}
                </td>
                <td>{member.email ?? "—"}</td>
                <td>
                  <label className="inline">
                    <span className="visually-hidden">{t("admin.roleOf", { name: member.name ?? member.user_id })}</span>
                    <select
                      value={member.role}
                      onChange={(e) => void action.run(() => expect(api.PATCH("/staff/{user_id}", { ...path(member.user_id), body: { role: e.target.value as Role } })), reload)}
                    >
                      <option value="adviser">{t("home.role.adviser")}</option>
                      <option value="admin">{t("home.role.admin")}</option>
                    </select>
                  </label>
                </td>
                <td>
                  {member.active ? (
                    <button type="button" className="danger" disabled={action.busy} onClick={() => void action.run(() => expect(api.POST("/staff/{user_id}/deactivate", path(member.user_id))), reload)}>
                      {t("admin.deactivateNamed", { name: member.name ?? member.user_id })}
                    </button>
                  ) : (
                    <button type="button" disabled={action.busy} onClick={() => void action.run(() => expect(api.POST("/staff/{user_id}/reactivate", path(member.user_id))), reload)}>
                      {t("admin.reactivateNamed", { name: member.name ?? member.user_id })}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>{t("admin.invitations")}</h3>
      {invitations.state === "ready" && invitations.data.items.length === 0 && <p className="empty">{t("admin.noInvitations")}</p>}
      {invitations.state === "ready" && invitations.data.items.length > 0 && (
        <ul className="cards">
          {invitations.data.items.map((invitation) => (
            <li key={invitation.invitation_id}>
              {invitation.name} — {invitation.email} · {t(invitation.role === "admin" ? "home.role.admin" : "home.role.adviser")} ·{" "}
              <span className="hint">{t("admin.invitationSent", {
                  when: format.instant(invitation.sent_at),
                  status: hasMessage(`admin.invitationStatus.${invitation.status}`) ? t(`admin.invitationStatus.${invitation.status}` as MessageKey) : invitation.status,
                })}</span>
            </li>
          ))}
        </ul>
      )}
      <form className="filters" onSubmit={invite} aria-label={t("admin.inviteStaff")}>
        <label>
          {t("customers.invite.name")}
          <input required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </label>
        <label>
          {t("customers.invite.email")}
          <input type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
        </label>
        <label>
          {t("admin.role")}
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
            <option value="adviser">{t("home.role.adviser")}</option>
            <option value="admin">{t("home.role.admin")}</option>
          </select>
        </label>
        <button type="submit" className="primary" disabled={action.busy}>
          {t("admin.inviteStaff")}
        </button>
      </form>
    </section>
  );
}

function Rules({ api }: { api: Api }) {
  const t = useT();
  const [rules, reload] = useLoad(() => expect(api.GET("/assignment-rules")), [api]);
  const action = useAction();
  const empty = { name: "", position: "10", text_contains: "", direction: "any" as Schemas["Direction"], ledger_account: "" };
  const [form, setForm] = useState(empty);
  const add = (event: FormEvent) => {
    event.preventDefault();
    const body = {
      name: form.name,
      position: Number(form.position),
      direction: form.direction,
      text_contains: form.text_contains || null,
      ledger_account: form.ledger_account || null,
    };
    void action.run(() => expect(api.POST("/assignment-rules", { body })), () => {
      setForm(empty);
      reload();
    });
  };
  return (
    <section aria-labelledby="rules-title" className="panel">
      <h2 id="rules-title">{t("admin.rules")}</h2>
      {action.error !== null && <ErrorNotice error={action.error} />}
      {rules.state === "failed" && <ErrorNotice error={rules.error} onRetry={reload} />}
      {rules.state === "ready" && rules.data.length === 0 && <p className="empty">{t("admin.noRules")}</p>}
      {rules.state === "ready" && rules.data.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{t("admin.position")}</th>
              <th scope="col">{t("customers.col.name")}</th>
              <th scope="col">{t("admin.when")}</th>
              <th scope="col">{t("customer.accounts.col.ledger")}</th>
              <th scope="col">{t("customers.col.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {rules.data.map((rule) => (
              <tr key={rule.rule_id}>
                <td>{rule.position}</td>
                <td>{rule.name}</td>
                <td>
                  {t(`admin.direction.${rule.direction}` as MessageKey)}
                  {rule.text_contains && <> · “{rule.text_contains}”</>}
                </td>
                <td>{rule.ledger_account ?? "—"}</td>
                <td>
                  <button type="button" className="danger" onClick={() => void action.run(() => expect(api.DELETE("/assignment-rules/{rule_id}", { params: { path: { rule_id: rule.rule_id } } })), reload)}>
                    {t("admin.deleteNamed", { name: rule.name })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="filters" onSubmit={add} aria-label={t("admin.addRule")}>
        <label>
          {t("customers.invite.name")}
          <input required maxLength={100} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </label>
        <label>
          {t("admin.position")}
          <input type="number" min={0} max={10000} required value={form.position} onChange={(e) => setForm({ ...form, position: e.target.value })} />
        </label>
        <label>
          {t("admin.textContains")}
          <input maxLength={100} value={form.text_contains} onChange={(e) => setForm({ ...form, text_contains: e.target.value })} />
        </label>
        <label>
          {t("admin.directionLabel")}
          <select value={form.direction} onChange={(e) => setForm({ ...form, direction: e.target.value as Schemas["Direction"] })}>
            {DIRECTIONS.map((direction) => (
              <option key={direction} value={direction}>
                {t(`admin.direction.${direction}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("customer.accounts.col.ledger")}
          <input maxLength={64} value={form.ledger_account} onChange={(e) => setForm({ ...form, ledger_account: e.target.value })} />
        </label>
        <button type="submit" className="primary" disabled={action.busy}>
          {t("admin.addRule")}
        </button>
      </form>
    </section>
  );
}

function Ledger({ api }: { api: Api }) {
  const t = useT();
  const [ledger, reload] = useLoad(() => expect(api.GET("/ledger-accounts", { params: { query: { include_archived: true } } })), [api]);
  const action = useAction();
  const [form, setForm] = useState({ code: "", name: "", kind: "bank" as Kind });
  const add = (event: FormEvent) => {
    event.preventDefault();
    void action.run(() => expect(api.POST("/ledger-accounts", { body: form })), () => {
      setForm({ code: "", name: "", kind: "bank" });
      reload();
    });
  };
  return (
    <section aria-labelledby="ledger-title" className="panel">
      <h2 id="ledger-title">{t("admin.ledger")}</h2>
      {action.error !== null && <ErrorNotice error={action.error} />}
      {ledger.state === "failed" && <ErrorNotice error={ledger.error} onRetry={reload} />}
      {ledger.state === "ready" && ledger.data.items.length === 0 && <p className="empty">{t("admin.noLedger")}</p>}
      {ledger.state === "ready" && ledger.data.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{t("admin.code")}</th>
              <th scope="col">{t("customers.col.name")}</th>
              <th scope="col">{t("file.kind")}</th>
              <th scope="col">{t("customers.col.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {ledger.data.items.map((account) => (
              <tr key={account.code}>
                <td>{account.code}</td>
                <td>
                  {account.name} {account.archived && <span className="hint">({t("admin.archived")})</span>}
                </td>
                <td>{t(`ledger.${account.kind}` as MessageKey)}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => void action.run(() => expect(api.PATCH("/ledger-accounts/{code}", { params: { path: { code: account.code } }, body: { archived: !account.archived } })), reload)}
                  >
                    {t(account.archived ? "admin.restoreNamed" : "admin.archiveNamed", { name: account.name })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="filters" onSubmit={add} aria-label={t("admin.addLedger")}>
        <label>
          {t("admin.code")}
          <input required maxLength={64} value={form.code} onChange={(e) => setForm({ ...form, code: e.target.value })} />
        </label>
        <label>
          {t("customers.invite.name")}
          <input required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </label>
        <label>
          {t("file.kind")}
          <select value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value as Kind })}>
            {KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {t(`ledger.${kind}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary" disabled={action.busy}>
          {t("admin.addLedger")}
        </button>
      </form>
    </section>
  );
}

function Settings({ api }: { api: Api }) {
  const t = useT();
  const [settings, reload] = useLoad(() => expect(api.GET("/firm/settings")), [api]);
  const action = useAction();
  const [years, setYears] = useState<string | null>(null);
  if (settings.state !== "ready") return settings.state === "failed" ? <ErrorNotice error={settings.error} onRetry={reload} /> : <Loading />;
  const save = (event: FormEvent) => {
    event.preventDefault();
    void action.run(() => expect(api.PUT("/firm/settings", { body: { retention_years: Number(years ?? settings.data.retention_years) } })), reload);
  };
  return (
    <section aria-labelledby="settings-title" className="panel">
      <h2 id="settings-title">{t("admin.settings")}</h2>
      {action.error !== null && <ErrorNotice error={action.error} />}
      <form className="filters" onSubmit={save}>
        <label>
          {t("admin.retention")}
          <input type="number" min={1} max={30} value={years ?? settings.data.retention_years} onChange={(e) => setYears(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={action.busy}>
          {t("file.save")}
        </button>
      </form>
    </section>
  );
}
