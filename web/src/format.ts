// Amounts, dates and times in the person's locale (react-intl's formatters underneath).
import { useIntl } from "react-intl";

/** Digits after the point in `amount` as the API gives it (the currency's, or more from the bank). */
function decimals(amount: string): number {
  const point = amount.indexOf(".");
  return point < 0 ? 0 : amount.length - point - 1;
}

export function useFormat() {
  const intl = useIntl();
  return {
    /** A decimal string in its currency, exactly (never through a binary float's rounding). */
    money(amount: string | null | undefined, currency: string): string {
      if (amount === null || amount === undefined) return "—";
      const digits = decimals(amount);
      try {
        const format = new Intl.NumberFormat(intl.locale, {
          style: "currency",
          currency,
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
        });
        // Intl formats a decimal string exactly (ECMA-402 2023); the type says number only.
        return format.format(amount as unknown as number);
      } catch {
        return `${amount} ${currency}`.trim(); // no or an unknown currency code: the figures as given
      }
    },
    /** A calendar day (YYYY-MM-DD) as the person writes dates; never shifted by a time zone. */
    day(isoDay: string | null | undefined): string {
      if (!isoDay) return "—";
      return intl.formatDate(`${isoDay.slice(0, 10)}T12:00:00Z`, { dateStyle: "medium", timeZone: "UTC" });
    },
    /** An instant in the person's own time zone. */
    instant(iso: string | null | undefined): string {
      if (!iso) return "—";
      return intl.formatDate(iso, { dateStyle: "medium", timeStyle: "short" });
    },
    count(value: number): string {
      return intl.formatNumber(value);
    },
  };
}
