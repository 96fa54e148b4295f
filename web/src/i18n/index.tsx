// The message catalogues and the language: the browser's, unless the person chose one (kept in
// this browser). Dates, amounts and currencies are formatted by react-intl for the locale.
import { createContext, useContext, useMemo, useState, type ReactNode } from "react";
import { IntlProvider, useIntl } from "react-intl";
import { en, type MessageKey } from "./en";
import { fr } from "./fr";

export const LOCALES = { en: "English", fr: "Français" } as const;
export type Locale = keyof typeof LOCALES;
const CATALOGUES: Record<Locale, Record<MessageKey, string>> = { en, fr };
const CHOSEN = "console.locale";

export function browserLocale(): Locale {
  const saved = window.localStorage.getItem(CHOSEN);
  if (saved && saved in LOCALES) return saved as Locale;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split("-")[0];
    if (base && base in LOCALES) return base as Locale;
  }
  return "en";
}

const LocaleContext = createContext<{ locale: Locale; choose(locale: Locale): void }>({
  locale: "en",
  choose: () => undefined,
});

export function LocaleProvider({ children }: { children: ReactNode }) {
  const [locale, setLocale] = useState<Locale>(browserLocale);
  const value = useMemo(
    () => ({
      locale,
      choose(next: Locale) {
        window.localStorage.setItem(CHOSEN, next);
        document.documentElement.lang = next;
        setLocale(next);
      },
    }),
    [locale],
  );
  document.documentElement.lang = locale;
  return (
    <LocaleContext.Provider value={value}>
      <IntlProvider locale={locale} defaultLocale="en" messages={CATALOGUES[locale]}>
        {children}
      </IntlProvider>
    </LocaleContext.Provider>
  );
}

export function useLocale() {
  return useContext(LocaleContext);
}

/** A catalogue string: `t("key", { name })`; an unknown key is a type error. */
export function useT() {
  const intl = useIntl();
  return (key: MessageKey, values?: Record<string, string | number>) => intl.formatMessage({ id: key }, values);
}

export function hasMessage(key: string): key is MessageKey {
  return key in en;
}
