import { ApiError } from "../api/client";
import { hasMessage, useT } from "../i18n";

/** Words a person understands for an error: the catalogue's sentence for the API's code, or for
 *  its class of status; never the raw answer. */
export function useErrorText() {
  const t = useT();
  return (error: unknown): string => {
    if (error instanceof ApiError) {
      const key = `error.${error.code}`;
      if (hasMessage(key)) return t(key);
      if (error.status === 0) return t("error.network");
      if (error.status === 401) return t("error.unauthorized");
      if (error.status === 403) return t("error.forbidden");
      if (error.status === 404) return t("error.not_found");
      if (error.status === 429) return t("error.rate_limited");
      if (error.status === 422 || error.status === 400) return t("error.invalid_request");
      return error.status >= 500 ? t("error.http_5xx") : t("error.http_4xx");
    }
    return t("error.http_5xx");
  };
}

export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const t = useT();
  const text = useErrorText();
  return (
    <div className="notice notice-error" role="alert">
      <p>{text(error)}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t("error.retry")}
        </button>
      )}
    </div>
  );
}
