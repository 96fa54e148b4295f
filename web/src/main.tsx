import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { AuthProvider, makeManager } from "./auth";
import { ConfigContext, loadConfig } from "./config";
import { en } from "./i18n/en";
import { fr } from "./i18n/fr";
import { browserLocale, LocaleProvider } from "./i18n";
import { MeProvider } from "./me";
import { SessionProvider } from "./session";
import "./styles.css";

const root = createRoot(document.getElementById("root") as HTMLElement);

loadConfig().then(
  (config) =>
    root.render(
      <StrictMode>
        <ConfigContext.Provider value={config}>
        <LocaleProvider>
          <AuthProvider manager={makeManager(config)}>
            <SessionProvider apiBaseUrl={config.apiBaseUrl}>
              <MeProvider>
                <App />
              </MeProvider>
            </SessionProvider>
          </AuthProvider>
        </LocaleProvider>
        </ConfigContext.Provider>
      </StrictMode>,
    ),
  () => {
    // No configuration, so no React tree: one sentence in the person's language.
    const main = document.createElement("main");
    const message = document.createElement("p");
    message.setAttribute("role", "alert");
    message.textContent = (browserLocale() === "fr" ? fr : en)["app.configError"];
    main.append(message);
    document.getElementById("root")?.replaceChildren(main);
  },
);
