// Seed 004: a client file — its sections (family, patrimony, donations, simulations and reports),
// the "Access rights" tab (members with email, phone and level; holders' access shown as
// irrevocable; external advisers registered, then granted) and the access log. What a caller may
// do comes from the API (`you.allowed_actions`): a control shows only when it is allowed.
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import { expect, type Api, type Schemas } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { EventLog } from "../components/EventLog";
import { Loading } from "../components/Layout";
import { Tabs } from "../components/Tabs";
import { useFormat } from "../format";
import { useT } from "../i18n";
import type { MessageKey } from "../i18n/en";
import { useSession } from "../session";
import { useLoad } from "../useLoad";
import { usePaged } from "../usePaged";

type FileOut = Schemas["FileOut"];
type Action = Schemas["FileAction"];
type Level = Schemas["AccessLevel"];
const RELATIONS: Schemas["Relation"][] = ["holder", "co_holder", "spouse_partner", "child", "parent", "other"];
const ADVISER_TYPES: Schemas["AdviserType"][] = ["banker", "notary", "lawyer", "accountant", "insurer", "other"];
const LEVELS: Level[] = ["read_only", "read_write"];
const IRREVOCABLE: Schemas["Relation"][] = ["holder", "co_holder"]; // R-ACC-4
type Tab = "file" | "access" | "log";

export function MyFilesPage() {
  const t = useT();
  const { api } = useSession();
  const [files, reload] = useLoad(() => expect(api.GET("/me/files")), [api]);
  return (
    <section aria-labelledby="files-title">
      <h1 id="files-title">{t("file.mine")}</h1>
      {files.state === "loading" && <Loading />}
      {files.state === "failed" && <ErrorNotice error={files.error} onRetry={reload} />}
      {files.state === "ready" && files.data.items.length === 0 && <p className="empty">{t("file.none")}</p>}
      {files.state === "ready" && (
        <ul className="cards">
          {files.data.items.map((file) => (
            <li key={file.file_id}>
              <Link to={`/files/${file.file_id}`}>{t("file.openNamed", { label: file.file_label, firm: file.firm_name })}</Link>
              <div className="hint">{t(`invite.level.${file.level}` as MessageKey)}</div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function ClientFilePage() {
  const t = useT();
  const { api } = useSession();
  const { fileId = "" } = useParams();
  const [tab, setTab] = useState<Tab>("file");
  const [file, reload] = useLoad(() => expect(api.GET("/files/{file_id}", { params: { path: { file_id: fileId } } })), [api, fileId]);
  if (file.state === "loading") return <Loading />;
  if (file.state === "failed") return <ErrorNotice error={file.error} onRetry={reload} />;
  const allowed = new Set<Action>(file.data.you.allowed_actions);
  const tabs: Tab[] = ["file", ...(allowed.has("view_access") ? (["access"] as Tab[]) : []), ...(allowed.has("view_access_log") ? (["log"] as Tab[]) : [])];
  return (
    <article aria-labelledby="file-title">
      <h1 id="file-title">{t("file.title", { name: file.data.customer_name })}</h1>
      <Tabs<Tab> label={t("file.tabs")} idPrefix="file-tab" tabs={tabs} selected={tab} onSelect={setTab} panelId="file-panel" name={(name) => t(`file.tab.${name}` as MessageKey)} />
      <div id="file-panel" role="tabpanel" aria-labelledby={`file-tab-${tab}`}>
        {tab === "file" && <Sections api={api} file={file.data} allowed={allowed} onChanged={reload} />}
        {tab === "access" && <AccessRights api={api} fileId={fileId} allowed={allowed} />}
        {tab === "log" && <AccessLog api={api} fileId={fileId} />}
      </div>
    </article>
  );
}

/** One small form: its fields, its submit, its error; cleared and closed after success. */
function MiniForm({ title, submit, children, onDone }: { title: string; submit(): Promise<unknown>; children: ReactNode; onDone(): void }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const [state, setState] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  async function send(event: FormEvent) {
    event.preventDefault();
    setState({ busy: true, error: null });
    try {
      await submit();
      setState({ busy: false, error: null });
      setOpen(false);
      onDone();
    } catch (error) {
      setState({ busy: false, error });
    }
  }
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)}>
        {title}
      </button>
    );
  }
  return (
    <form className="panel" onSubmit={(event) => void send(event)} aria-label={title}>
      {children}
      {state.error !== null && <ErrorNotice error={state.error} />}
      <div className="actions">
        <button type="submit" className="primary" disabled={state.busy}>
          {t("file.save")}
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          {t("file.cancel")}
        </button>
      </div>
    </form>
  );
}

function Field({ label, children }: { label: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <>
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </>
  );
}

function Sections({ api, file, allowed, onChanged }: { api: Api; file: FileOut; allowed: Set<Action>; onChanged(): void }) {
  const t = useT();
  const format = useFormat();
  const path = { file_id: file.file_id };
  const [member, setMember] = useState({ name: "", relation: "child" as Schemas["Relation"], birth_date: "" });
  const [item, setItem] = useState({ kind: "asset" as Schemas["PatrimonyKind"], label: "", value: "", currency: "EUR" });
  const [gift, setGift] = useState({ donor: "", beneficiary: "", value: "", currency: "EUR", donated_on: "", description: "" });
  const [doc, setDoc] = useState({ kind: "simulation" as "simulation" | "report", title: "", content: "" });
  return (
    <>
      <section aria-labelledby="family-title" className="panel">
        <h2 id="family-title">{t("file.family")}</h2>
        {file.members.length === 0 ? (
          <p className="empty">{t("file.noMembers")}</p>
        ) : (
          <ul className="cards">
            {file.members.map((m) => (
              <li key={m.member_id}>
                <strong>{m.name}</strong> — {t(`relation.${m.relation}` as MessageKey)}
                {m.birth_date && <span className="hint"> · {format.day(m.birth_date)}</span>}
              </li>
            ))}
          </ul>
        )}
        {allowed.has("edit_family") && (
          <MiniForm title={t("file.addMember")} onDone={onChanged} submit={() => expect(api.POST("/files/{file_id}/members", { params: { path }, body: { name: member.name, relation: member.relation, birth_date: member.birth_date || null } }))}>
            <Field label={t("file.name")}>{(id) => <input id={id} required value={member.name} onChange={(e) => setMember({ ...member, name: e.target.value })} />}</Field>
            <Field label={t("file.relation")}>
              {(id) => (
                <select id={id} value={member.relation} onChange={(e) => setMember({ ...member, relation: e.target.value as Schemas["Relation"] })}>
                  {RELATIONS.map((r) => (
                    <option key={r} value={r}>
                      {t(`relation.${r}` as MessageKey)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label={t("file.birthDate")}>{(id) => <input id={id} type="date" value={member.birth_date} onChange={(e) => setMember({ ...member, birth_date: e.target.value })} />}</Field>
          </MiniForm>
        )}
      </section>

      <section aria-labelledby="patrimony-title" className="panel">
        <h2 id="patrimony-title">{t("file.patrimony")}</h2>
        {file.patrimony.length === 0 ? (
          <p className="empty">{t("file.noPatrimony")}</p>
        ) : (
          <table className="list">
            <tbody>
              {file.patrimony.map((p) => (
                <tr key={p.item_id}>
                  <td>{p.label}</td>
                  <td>{t(`patrimony.${p.kind}` as MessageKey)}</td>
                  <td className="amount">{format.money(p.value, p.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {allowed.has("edit_patrimony") && (
          <MiniForm title={t("file.addPatrimony")} onDone={onChanged} submit={() => expect(api.POST("/files/{file_id}/patrimony", { params: { path }, body: item }))}>
            <Field label={t("file.kind")}>
              {(id) => (
                <select id={id} value={item.kind} onChange={(e) => setItem({ ...item, kind: e.target.value as Schemas["PatrimonyKind"] })}>
                  <option value="asset">{t("patrimony.asset")}</option>
                  <option value="liability">{t("patrimony.liability")}</option>
                </select>
              )}
            </Field>
            <Field label={t("file.label")}>{(id) => <input id={id} required value={item.label} onChange={(e) => setItem({ ...item, label: e.target.value })} />}</Field>
            <Field label={t("file.value")}>{(id) => <input id={id} required inputMode="decimal" pattern="-?[0-9]+(\.[0-9]+)?" value={item.value} onChange={(e) => setItem({ ...item, value: e.target.value })} />}</Field>
            <Field label={t("file.currency")}>{(id) => <input id={id} required maxLength={3} value={item.currency} onChange={(e) => setItem({ ...item, currency: e.target.value.toUpperCase() })} />}</Field>
          </MiniForm>
        )}
      </section>

      <section aria-labelledby="donations-title" className="panel">
        <h2 id="donations-title">{t("file.donations")}</h2>
        {file.donations.length === 0 ? (
          <p className="empty">{t("file.noDonations")}</p>
        ) : (
          <ul className="cards">
            {file.donations.map((d) => (
              <li key={d.donation_id}>
                {t("file.donationLine", { donor: d.donor, beneficiary: d.beneficiary, value: format.money(d.value, d.currency), day: format.day(d.donated_on) })}
              </li>
            ))}
          </ul>
        )}
        {allowed.has("edit_donations") && (
          <MiniForm title={t("file.addDonation")} onDone={onChanged} submit={() => expect(api.POST("/files/{file_id}/donations", { params: { path }, body: { ...gift, description: gift.description || null } }))}>
            <Field label={t("file.donor")}>{(id) => <input id={id} required value={gift.donor} onChange={(e) => setGift({ ...gift, donor: e.target.value })} />}</Field>
            <Field label={t("file.beneficiary")}>{(id) => <input id={id} required value={gift.beneficiary} onChange={(e) => setGift({ ...gift, beneficiary: e.target.value })} />}</Field>
            <Field label={t("file.value")}>{(id) => <input id={id} required inputMode="decimal" value={gift.value} onChange={(e) => setGift({ ...gift, value: e.target.value })} />}</Field>
            <Field label={t("file.currency")}>{(id) => <input id={id} required maxLength={3} value={gift.currency} onChange={(e) => setGift({ ...gift, currency: e.target.value.toUpperCase() })} />}</Field>
            <Field label={t("file.donatedOn")}>{(id) => <input id={id} required type="date" value={gift.donated_on} onChange={(e) => setGift({ ...gift, donated_on: e.target.value })} />}</Field>
          </MiniForm>
        )}
      </section>

      <section aria-labelledby="documents-title" className="panel">
        <h2 id="documents-title">{t("file.documents")}</h2>
        {file.documents.length === 0 ? (
          <p className="empty">{t("file.noDocuments")}</p>
        ) : (
          <ul className="cards">
            {file.documents.map((d) => (
              <li key={d.document_id}>
                <strong>{d.title}</strong> — {t(`document.${d.kind}` as MessageKey)} <span className="hint">{format.instant(d.created_at)}</span>
                <p>{d.content}</p>
              </li>
            ))}
          </ul>
        )}
        {(allowed.has("create_simulation") || allowed.has("create_report")) && (
          <MiniForm
            title={t("file.addDocument")}
            onDone={onChanged}
            submit={() =>
              doc.kind === "simulation"
                ? expect(api.POST("/files/{file_id}/simulations", { params: { path }, body: { title: doc.title, content: doc.content } }))
                : expect(api.POST("/files/{file_id}/reports", { params: { path }, body: { title: doc.title, content: doc.content } }))
            }
          >
            <Field label={t("file.kind")}>
              {(id) => (
                <select id={id} value={doc.kind} onChange={(e) => setDoc({ ...doc, kind: e.target.value as "simulation" | "report" })}>
                  {allowed.has("create_simulation") && <option value="simulation">{t("document.simulation")}</option>}
                  {allowed.has("create_report") && <option value="report">{t("document.report")}</option>}
                </select>
              )}
            </Field>
            <Field label={t("file.docTitle")}>{(id) => <input id={id} required value={doc.title} onChange={(e) => setDoc({ ...doc, title: e.target.value })} />}</Field>
            <Field label={t("file.content")}>{(id) => <textarea id={id} required value={doc.content} onChange={(e) => setDoc({ ...doc, content: e.target.value })} />}</Field>
          </MiniForm>
        )}
      </section>
    </>
  );
}

function AccessRights({ api, fileId, allowed }: { api: Api; fileId: string; allowed: Set<Action> }) {
  const t = useT();
  const path = { file_id: fileId };
  const [access, reload] = useLoad(() => expect(api.GET("/files/{file_id}/access", { params: { path } })), [api, fileId]);
  const [error, setError] = useState<unknown>(null);
  const [adviser, setAdviser] = useState({ name: "", type: "notary" as Schemas["AdviserType"], email: "", phone: "" });
  const [adviserLevel, setAdviserLevel] = useState<Level>("read_only");
  async function revoke(run: () => Promise<unknown>) {
    setError(null);
    if (!window.confirm(t("file.revokeConfirm"))) return;
    try {
      await run();
      reload();
    } catch (failure) {
      setError(failure);
    }
  }
  if (access.state === "loading") return <Loading />;
  if (access.state === "failed") return <ErrorNotice error={access.error} onRetry={reload} />;
  const canFamily = allowed.has("manage_family_access") || allowed.has("manage_central_access");
  return (
    <>
      {error !== null && <ErrorNotice error={error} />}
      <section aria-labelledby="members-access-title" className="panel">
        <h2 id="members-access-title">{t("file.access.members")}</h2>
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{t("file.name")}</th>
              <th scope="col">{t("file.access.contact")}</th>
              <th scope="col">{t("file.access.level")}</th>
              <th scope="col">{t("customers.col.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {access.data.members.map((m) => {
              const irrevocable = IRREVOCABLE.includes(m.relation) && m.access !== null;
              return (
                <tr key={m.member_id}>
                  <td>
                    {m.name} <span className="hint">({t(`relation.${m.relation}` as MessageKey)})</span>
                  </td>
                  <td>{m.access ? `${m.access.email} · ${m.access.phone}` : "—"}</td>
                  <td>
                    {m.access ? t(`invite.level.${m.access.level}` as MessageKey) : t("file.access.noAccess")}
                    {m.access?.status === "invited" && <div className="hint">{t("file.access.invited")}</div>}
                    {irrevocable && <div className="hint">{t("file.access.irrevocable")}</div>}
                  </td>
                  <td className="actions">
                    {canFamily && !m.access && <GrantMember api={api} fileId={fileId} memberId={m.member_id} name={m.name} onDone={reload} />}
                    {canFamily && m.access && !irrevocable && (
                      <button type="button" className="danger" onClick={() => void revoke(() => expect(api.DELETE("/files/{file_id}/members/{member_id}/access", { params: { path: { ...path, member_id: m.member_id } } })))}>
                        {t("file.access.revokeNamed", { name: m.name })}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="advisers-access-title" className="panel">
        <h2 id="advisers-access-title">{t("file.access.advisers")}</h2>
        {access.data.advisers.length === 0 && <p className="empty">{t("file.access.noAdvisers")}</p>}
        <ul className="cards">
          {access.data.advisers.map((a) => (
            <li key={a.adviser_id}>
              <strong>{a.name}</strong> — {t(`adviser.${a.type}` as MessageKey)} · {a.email} · {a.phone}
              <div>{a.access ? t(`invite.level.${a.access.level}` as MessageKey) : t("file.access.noAccess")}</div>
              {allowed.has("manage_adviser_access") && !a.access && (
                <MiniForm title={t("file.access.grantNamed", { name: a.name })} onDone={reload} submit={() => expect(api.PUT("/files/{file_id}/advisers/{adviser_id}/access", { params: { path: { ...path, adviser_id: a.adviser_id } }, body: { level: adviserLevel } }))}>
                  <LevelField value={adviserLevel} onChange={setAdviserLevel} />
                </MiniForm>
              )}
              {allowed.has("manage_adviser_access") && a.access && (
                <button type="button" className="danger" onClick={() => void revoke(() => expect(api.DELETE("/files/{file_id}/advisers/{adviser_id}/access", { params: { path: { ...path, adviser_id: a.adviser_id } } })))}>
                  {t("file.access.revokeNamed", { name: a.name })}
                </button>
              )}
            </li>
          ))}
        </ul>
        {allowed.has("register_adviser") && (
          <MiniForm title={t("file.access.registerAdviser")} onDone={reload} submit={() => expect(api.POST("/files/{file_id}/advisers", { params: { path }, body: adviser }))}>
            <Field label={t("file.name")}>{(id) => <input id={id} required value={adviser.name} onChange={(e) => setAdviser({ ...adviser, name: e.target.value })} />}</Field>
            <Field label={t("file.access.adviserType")}>
              {(id) => (
                <select id={id} value={adviser.type} onChange={(e) => setAdviser({ ...adviser, type: e.target.value as Schemas["AdviserType"] })}>
                  {ADVISER_TYPES.map((type) => (
                    <option key={type} value={type}>
                      {t(`adviser.${type}` as MessageKey)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label={t("file.access.email")}>{(id) => <input id={id} type="email" required value={adviser.email} onChange={(e) => setAdviser({ ...adviser, email: e.target.value })} />}</Field>
            <Field label={t("file.access.phone")}>{(id) => <input id={id} type="tel" required value={adviser.phone} onChange={(e) => setAdviser({ ...adviser, phone: e.target.value })} />}</Field>
          </MiniForm>
        )}
      </section>
    </>
  );
}

function LevelField({ value, onChange }: { value: Level; onChange(level: Level): void }) {
  const t = useT();
  return (
    <Field label={t("file.access.level")}>
      {(id) => (
        <select id={id} value={value} onChange={(e) => onChange(e.target.value as Level)}>
          {LEVELS.map((level) => (
            <option key={level} value={level}>
              {t(`invite.level.${level}` as MessageKey)}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function AccessLog({ api, fileId }: { api: Api; fileId: string }) {
  const t = useT();
  const list = usePaged(
    (cursor) => expect(api.GET("/files/{file_id}/access-log", { params: { path: { file_id: fileId }, query: { limit: 25, ...(cursor ? { cursor } : {}) } } })),
    [api, fileId],
  );
  return <EventLog title={t("file.tab.log")} titleId="log-title" list={list} />;
}

/** One member's grant form, with its own fields: nothing typed for one member reaches another. */
function GrantMember({ api, fileId, memberId, name, onDone }: { api: Api; fileId: string; memberId: string; name: string; onDone(): void }) {
  const t = useT();
  const [grant, setGrant] = useState({ email: "", phone: "", level: "read_only" as Level });
  return (
    <MiniForm
      title={t("file.access.grantNamed", { name })}
      onDone={() => {
        setGrant({ email: "", phone: "", level: "read_only" });
        onDone();
      }}
      submit={() => expect(api.PUT("/files/{file_id}/members/{member_id}/access", { params: { path: { file_id: fileId, member_id: memberId } }, body: grant }))}
    >
      <Field label={t("file.access.email")}>{(id) => <input id={id} type="email" required value={grant.email} onChange={(e) => setGrant({ ...grant, email: e.target.value })} />}</Field>
      <Field label={t("file.access.phone")}>{(id) => <input id={id} type="tel" required value={grant.phone} onChange={(e) => setGrant({ ...grant, phone: e.target.value })} />}</Field>
      <LevelField value={grant.level} onChange={(level) => setGrant({ ...grant, level })} />
    </MiniForm>
  );
}
