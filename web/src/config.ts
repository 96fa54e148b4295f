import { createContext, useContext } from "react";

// The runtime configuration, read once from /app/config.json: written by the local system
// (`make run`) or by the CDK at deploy, so one build serves every stage.
export interface AppConfig {
  apiBaseUrl: string;
  authority: string;
  clientId: string;
  userPoolId: string;
  region: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  endSessionEndpoint: string;
  userInfoEndpoint: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  jwksUri: string;
  identityEndpoint: string;
  /** Plaid Link's web script: Plaid's CDN on AWS, the local Plaid sandbox's stand-in locally. */
  plaidLinkScript: string;
}

const KEYS: (keyof AppConfig)[] = [
  "apiBaseUrl",
  "authority",
  "clientId",
  "userPoolId",
  "region",
  "authorizationEndpoint",
  "tokenEndpoint",
  "endSessionEndpoint",
  "userInfoEndpoint",
  "redirectUri",
  "postLogoutRedirectUri",
  "jwksUri",
  "identityEndpoint",
  "plaidLinkScript",
];

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: ${response.status}`);
  const found = (await response.json()) as Record<string, unknown>;
  const missing = KEYS.filter((key) => typeof found[key] !== "string" || found[key] === "");
  if (missing.length) throw new Error(`config.json lacks ${missing.join(", ")}`);
  return found as unknown as AppConfig;
}

export const ConfigContext = createContext<AppConfig | null>(null);

export function useConfig(): AppConfig {
  const config = useContext(ConfigContext);
  if (!config) throw new Error("useConfig outside ConfigContext");
  return config;
}
