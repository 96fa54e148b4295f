// Plaid Link on the web is Plaid's own script (never bundled): loaded on first use from where the runtime
// configuration says (`plaidLinkScript`: Plaid's CDN on AWS, the local Plaid sandbox's stand-in locally,
// which offers the same interface), then `Plaid.create({token, onSuccess, onExit}).open()`.
import { ApiError } from "./api/client";

interface PlaidLinkError {
  error_code: string;
  error_type: string;
}

interface PlaidHandler {
  open(): void;
  destroy(): void;
}

interface PlaidFactory {
  create(options: {
    token: string;
    onSuccess: (publicToken: string, metadata: unknown) => void;
    onExit: (error: PlaidLinkError | null, metadata: unknown) => void;
  }): PlaidHandler;
}

declare global {
  interface Window {
    Plaid?: PlaidFactory;
  }
}

/** How Link ended: a public token to exchange, or the person left (with Link's error, if any). */
export type LinkOutcome = { kind: "success"; publicToken: string } | { kind: "exit"; errorCode: string | null };

let loading: Promise<PlaidFactory> | null = null;

function loadPlaid(src: string): Promise<PlaidFactory> {
  if (window.Plaid) return Promise.resolve(window.Plaid);
  loading ??= new Promise<PlaidFactory>((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.async = true;
    // Shown in words by ErrorNotice (`error.plaid_link_unavailable`), like an answer of the API.
    const unavailable = () => new ApiError(0, "plaid_link_unavailable", "Plaid Link could not be loaded.");
    script.onload = () => (window.Plaid ? resolve(window.Plaid) : reject(unavailable()));
    script.onerror = () => {
      script.remove();
      loading = null; // a later attempt tries again
      reject(unavailable());
    };
    document.head.appendChild(script);
  });
  return loading;
}

/** Opens Link with the API's link token; resolves once the person finished or left it. */
export async function runPlaidLink(scriptUrl: string, token: string): Promise<LinkOutcome> {
  const Plaid = await loadPlaid(scriptUrl);
  return new Promise<LinkOutcome>((resolve) => {
    let handler: PlaidHandler | null = null;
    const done = (outcome: LinkOutcome) => {
      resolve(outcome);
      window.setTimeout(() => handler?.destroy(), 0); // Link's own frame, once its callback returned
    };
    handler = Plaid.create({
      token,
      onSuccess: (publicToken) => done({ kind: "success", publicToken }),
      onExit: (error) => done({ kind: "exit", errorCode: error?.error_code ?? null }),
    });
    handler.open();
  });
}
