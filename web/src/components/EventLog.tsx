// A paged list of audit events (a customer's audit trail, a client file's access log): when, what, who.
import { useFormat } from "../format";
import { useT } from "../i18n";
import { ErrorNotice } from "./ErrorNotice";
import { Loading, MoreButton } from "./Layout";

export interface EventRow {
  occurred_at: string;
  action: string;
  actor_id: string;
}

interface EventList {
  items: EventRow[];
  loading: boolean;
  busy: boolean;
  error: unknown;
  hasMore: boolean;
  more(): Promise<void>;
  reload(): void;
}

export function EventLog({ title, titleId, list, who = (id) => id }: { title: string; titleId: string; list: EventList; who?(actorId: string): string }) {
  const t = useT();
  const format = useFormat();
  return (
    <section aria-labelledby={titleId} className="panel">
      <h2 id={titleId}>{title}</h2>
      {list.loading && <Loading />}
      {list.error !== null && <ErrorNotice error={list.error} onRetry={list.reload} />}
      {!list.loading && list.items.length === 0 && list.error === null && <p className="empty">{t("customer.audit.none")}</p>}
      {list.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{t("customer.audit.col.when")}</th>
              <th scope="col">{t("customer.audit.col.what")}</th>
              <th scope="col">{t("customer.audit.col.who")}</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((event, index) => (
              <tr key={`${event.occurred_at}-${index}`}>
                <td>{format.instant(event.occurred_at)}</td>
                <td>
                  <code>{event.action}</code>
                </td>
                <td>{who(event.actor_id)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MoreButton list={list} />
    </section>
  );
}
