// The API client, typed from the OpenAPI document the backend serves (src/api/schema.d.ts is
// generated from functions/platform_api/openapi.json at every build: a route or schema change
// that breaks a screen fails `npm run build`).
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** An answer of the API other than 2xx, with its stable `code` (never shown raw to a person). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly resetAt?: string,
  ) {
    super(message);
  }
}

export interface Session {
  bearer(): Promise<string | null>;
  firmId(): string | null;
}

export function makeApi(baseUrl: string, session: Session) {
  const client = createClient<paths>({ baseUrl: baseUrl.replace(/\/$/, "") });
  const authenticate: Middleware = {
    async onRequest({ request }) {
      const token = await session.bearer();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      const firm = session.firmId();
      if (firm) request.headers.set("X-Firm-Id", firm);
      return request;
    },
  };
  client.use(authenticate);
  return client;
}

export type Api = ReturnType<typeof makeApi>;

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's data, or an ApiError carrying the API's code (a network failure is `network`). */
export async function expect<T>(call: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch {
    throw new ApiError(0, "network", "The service could not be reached.");
  }
  const { data, error, response } = answer;
  if (response.ok) return data as T;
  const body = (error ?? {}) as { code?: unknown; message?: unknown; reset_at?: unknown };
  const code = typeof body.code === "string" ? body.code : response.status === 401 ? "unauthorized" : `http_${response.status}`;
  const message = typeof body.message === "string" ? body.message : response.statusText;
  throw new ApiError(response.status, code, message, typeof body.reset_at === "string" ? body.reset_at : undefined);
}
