// Seed 002: the Data Refresh dashboard — every filter, select one / several / all matching,
// "Refresh data" with its result (queued / excluded with reasons), the job's progress updating by
// itself, and the job history.
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ApiError, expect, type Api, type Schemas } from "../api/client";
import { ErrorNotice } from "../components/ErrorNotice";
import { Loading, MoreButton } from "../components/Layout";
import { useFormat } from "../format";
import { hasMessage, useT } from "../i18n";
import type { MessageKey } from "../i18n/en";
import { StaffOnly } from "../me";
import { useSession } from "../session";
import { useLoad } from "../useLoad";
import { usePaged } from "../usePaged";

type Filters = Schemas["FiltersIn"];
type Row = Schemas["EngagementRowOut"];
type Counts = Schemas["CountsOut"];
const STATUSES: Schemas["RefreshStatus"][] = ["active", "inactive", "capped_today", "queued", "running", "succeeded", "failed"];
const POLL_MS = 2000;
const EMPTY = { q: "", contact: "", package: "", status: "", from: "", to: "" };

/** The form's values as the API's filters (blank ones left out; days as the browser's local midnight). */
function toFilters(form: typeof EMPTY): Filters {
  const filters: Filters = {};
  if (form.q.trim().length >= 3) filters.q = form.q.trim();
  if (form.contact.trim()) filters.contact = form.contact.trim();
  if (form.package) filters.package = form.package;
  if (form.status) filters.status = form.status as Schemas["RefreshStatus"];
  if (form.from) filters.last_upload_from = new Date(`${form.from}T00:00:00`).toISOString();
  if (form.to) filters.last_upload_to = new Date(`${form.to}T23:59:59.999`).toISOString();
  return filters;
}

export function DataRefreshPage() {
  return <StaffOnly>{() => <Dashboard />}</StaffOnly>;
}

function Dashboard() {
  const t = useT();
  const format = useFormat();
  const { api } = useSession();
  const navigate = useNavigate();
  const [form, setForm] = useState(EMPTY);
  const [filters, setFilters] = useState<Filters>({});
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  const [trigger, setTrigger] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  // One Idempotency-Key per selection: a retry after a lost answer is the same request, not a second job.
  const idempotencyKey = useMemo(() => crypto.randomUUID(), [selected, allMatching, filters]);
  const [packages] = useLoad(() => expect(api.GET("/data-refresh/packages")), [api]);
  const list = usePaged(
    (cursor) =>
      expect(api.GET("/data-refresh/engagements", { params: { query: { ...filters, limit: 50, ...(cursor ? { cursor } : {}) } } })),
    [api, filters],
  );
  const selectable = list.items.filter((row) => row.selectable);
  const everyShown = selectable.length > 0 && selectable.every((row) => selected.has(row.engagement_id));

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(toFilters(form));
    setSelected(new Set());
    setAllMatching(false);
  };
  const toggle = (row: Row) => {
    const next = new Set(selected);
    if (next.has(row.engagement_id)) next.delete(row.engagement_id);
    else next.add(row.engagement_id);
    setSelected(next);
    setAllMatching(false);
  };
  const toggleShown = () => {
    setSelected(everyShown ? new Set() : new Set(selectable.map((row) => row.engagement_id)));
    setAllMatching(false);
  };
  async function refresh() {
    setTrigger({ busy: true, error: null });
    try {
      const body = allMatching ? { all_matching: filters } : { engagement_ids: [...selected] };
      const accepted = await expect(
        api.POST("/data-refresh/jobs", { body, params: { header: { "idempotency-key": idempotencyKey } } }),
      );
      navigate(`/data-refresh/jobs/${accepted.job_id}`);
    } catch (error) {
      setTrigger({ busy: false, error });
    }
  }
  const chosen = allMatching ? null : selected.size;
  return (
    <section aria-labelledby="refresh-title">
      <div className="title-row">
        <h1 id="refresh-title">{t("refresh.title")}</h1>
        <Link to="/data-refresh/jobs">{t("refresh.history")}</Link>
      </div>
      <form className="filters panel" onSubmit={apply} aria-label={t("refresh.filters")}>
        <label>
          {t("refresh.filter.q")}
          <input type="search" value={form.q} onChange={(e) => setForm({ ...form, q: e.target.value })} />
        </label>
        <label>
          {t("refresh.filter.contact")}
          <input value={form.contact} onChange={(e) => setForm({ ...form, contact: e.target.value })} />
        </label>
        <label>
          {t("refresh.filter.package")}
          <select value={form.package} onChange={(e) => setForm({ ...form, package: e.target.value })}>
            <option value="">{t("refresh.filter.any")}</option>
            {packages.state === "ready" &&
              packages.data.items.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.name} ({p.engagements})
                </option>
              ))}
          </select>
        </label>
        <label>
          {t("refresh.filter.status")}
          <select value={form.status} onChange={(e) => setForm({ ...form, status: e.target.value })}>
            <option value="">{t("refresh.filter.any")}</option>
            {STATUSES.map((status) => (
              <option key={status} value={status}>
                {t(`refresh.status.${status}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("refresh.filter.from")}
          <input type="date" value={form.from} onChange={(e) => setForm({ ...form, from: e.target.value })} />
        </label>
        <label>
          {t("refresh.filter.to")}
          <input type="date" value={form.to} onChange={(e) => setForm({ ...form, to: e.target.value })} />
        </label>
        <button type="submit">{t("refresh.filter.apply")}</button>
      </form>

      <div className="toolbar" role="group" aria-label={t("refresh.selection")}>
        <button type="button" onClick={toggleShown} disabled={selectable.length === 0}>
          {t(everyShown ? "refresh.unselectShown" : "refresh.selectShown")}
        </button>
        <button type="button" aria-pressed={allMatching} onClick={() => setAllMatching(!allMatching)} disabled={list.items.length === 0}>
          {t("refresh.selectAllMatching")}
        </button>
        <span role="status" aria-live="polite">
          {chosen === null ? t("refresh.chosenAll") : t("refresh.chosen", { n: chosen })}
        </span>
        <button type="button" className="primary" onClick={() => void refresh()} disabled={trigger.busy || (!allMatching && selected.size === 0)}>
          {t("refresh.button")}
        </button>
      </div>
      {trigger.error !== null && <ErrorNotice error={trigger.error} />}
      {list.loading && <Loading />}
      {list.error !== null && <ErrorNotice error={list.error} onRetry={list.reload} />}
      {!list.loading && list.error === null && list.items.length === 0 && <p className="empty">{t("refresh.none")}</p>}
      {list.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">{t("refresh.col.select")}</span>
              </th>
              <th scope="col">{t("refresh.col.customer")}</th>
              <th scope="col">{t("refresh.col.owner")}</th>
              <th scope="col">{t("refresh.col.packages")}</th>
              <th scope="col">{t("refresh.col.lastUpload")}</th>
              <th scope="col">{t("refresh.col.status")}</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((row) => (
              <tr key={row.engagement_id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={t("refresh.selectNamed", { name: row.customer_name })}
                    checked={allMatching ? row.selectable : selected.has(row.engagement_id)}
                    disabled={!row.selectable || allMatching}
                    onChange={() => toggle(row)}
                  />
                </td>
                <td>
                  {row.customer_name}
                  <div className="hint">{row.contact_person.email}</div>
                </td>
                <td>{row.owner_name ?? "—"}</td>
                <td>{row.connectors.map((c) => c.institution_name ?? c.provider).join(", ") || "—"}</td>
                <td>{format.instant(row.last_upload_at)}</td>
                <td>
                  {t(`refresh.status.${row.status}` as MessageKey)}
                  {row.last_error && (
                    <div className="hint">{hasMessage(`problem.${row.last_error}`) ? t(`problem.${row.last_error}` as MessageKey) : row.last_error_message}</div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MoreButton list={list} />
    </section>
  );
}

export function RefreshJobPage() {
  return <StaffOnly>{() => <Job />}</StaffOnly>;
}

function Job() {
  const t = useT();
  const format = useFormat();
  const { api } = useSession();
  const { jobId = "" } = useParams();
  const job = useJob(api, jobId);
  if (job.data === null && job.error === null) return <Loading />;
  if (job.data === null) return <ErrorNotice error={job.error} />;
  const { counts, done, outcomes } = job.data;
  const finished = counts.succeeded + counts.failed + counts.excluded;
  return (
    <section aria-labelledby="job-title">
      <p>
        <Link to="/data-refresh">{t("refresh.back")}</Link> · <Link to="/data-refresh/jobs">{t("refresh.history")}</Link>
      </p>
      <h1 id="job-title">{t("refresh.job.title", { when: format.instant(job.data.requested_at) })}</h1>
      <p role="status" aria-live="polite">
        {done ? t("refresh.job.done") : t("refresh.job.running")}
      </p>
      <label htmlFor="job-progress">{t("refresh.job.progress", { finished, total: counts.total })}</label>
      <progress id="job-progress" max={Math.max(counts.total, 1)} value={finished} />
      <CountsTable counts={counts} />
      {outcomes.length > 0 && (
        <table className="list">
          <caption>{t("refresh.job.outcomes")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("refresh.col.engagement")}</th>
              <th scope="col">{t("refresh.col.status")}</th>
            </tr>
          </thead>
          <tbody>
            {outcomes.map((outcome) => (
              <tr key={outcome.engagement_id}>
                <td>
                  <code>{outcome.engagement_id}</code>
                </td>
                <td>
                  {t(`refresh.state.${outcome.state}` as MessageKey)}
                  {outcome.reason && <> — {t(`refresh.reason.${outcome.reason}` as MessageKey)}</>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {job.error !== null && <ErrorNotice error={job.error} />}
    </section>
  );
}

/** The job, read again every POLL_MS until it is done (a failed read keeps the last one shown). */
function useJob(api: Api, jobId: string) {
  const [data, setData] = useState<Schemas["JobOut"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    let live = true;
    const read = async () => {
      try {
        const job = await expect(api.GET("/data-refresh/jobs/{job_id}", { params: { path: { job_id: jobId }, query: { limit: 100 } } }));
        if (!live) return;
        setData(job);
        setError(null);
        if (!job.done) timer.current = window.setTimeout(read, POLL_MS);
      } catch (failure) {
        if (!live) return;
        setError(failure);
        const final = failure instanceof ApiError && [401, 403, 404].includes(failure.status);
        if (!final) timer.current = window.setTimeout(read, POLL_MS * 2); // a passing failure: try again
      }
    };
    void read();
    return () => {
      live = false;
      window.clearTimeout(timer.current);
    };
  }, [api, jobId]);
  return { data, error };
}

function CountsTable({ counts }: { counts: Counts }) {
  const t = useT();
  const reasons = Object.entries(counts.excluded_by_reason ?? {}) as [string, number][];
  return (
    <dl className="counts">
      {(["total", "pending", "queued", "running", "succeeded", "failed", "excluded"] as const).map((key) => (
        <div key={key}>
          <dt>{t(`refresh.count.${key}` as MessageKey)}</dt>
          <dd>{counts[key]}</dd>
        </div>
      ))}
      {reasons.map(([reason, n]) => (
        <div key={reason}>
          <dt>{t(`refresh.reason.${reason}` as MessageKey)}</dt>
          <dd>{n}</dd>
        </div>
      ))}
    </dl>
  );
}

export function RefreshJobsPage() {
  return <StaffOnly>{() => <Jobs />}</StaffOnly>;
}

function Jobs() {
  const t = useT();
  const format = useFormat();
  const { api } = useSession();
  const list = usePaged((cursor) => expect(api.GET("/data-refresh/jobs", { params: { query: { limit: 25, ...(cursor ? { cursor } : {}) } } })), [api]);
  return (
    <section aria-labelledby="jobs-title">
      <p>
        <Link to="/data-refresh">{t("refresh.back")}</Link>
      </p>
      <h1 id="jobs-title">{t("refresh.history")}</h1>
      {list.loading && <Loading />}
      {list.error !== null && <ErrorNotice error={list.error} onRetry={list.reload} />}
      {!list.loading && list.error === null && list.items.length === 0 && <p className="empty">{t("refresh.noJobs")}</p>}
      {list.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{t("refresh.col.requested")}</th>
              <th scope="col">{t("refresh.col.status")}</th>
              <th scope="col">{t("refresh.col.counts")}</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((job) => (
              <tr key={job.job_id}>
                <td>
                  <Link to={`/data-refresh/jobs/${job.job_id}`}>{format.instant(job.requested_at)}</Link>
                </td>
                <td>{job.done ? t("refresh.job.done") : t("refresh.job.running")}</td>
                <td>{t("refresh.job.summary", { succeeded: job.counts.succeeded, failed: job.counts.failed, excluded: job.counts.excluded, total: job.counts.total })}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MoreButton list={list} />
    </section>
  );
}
