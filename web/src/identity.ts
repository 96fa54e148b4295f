// The user pool's own API, called with the person's access token (no AWS signature): what the console
// needs to enrol a staff member's authenticator app. JSON 1.1 with an X-Amz-Target header, as
// Cognito's SDKs call it.
const TARGET = "AWSCognitoIdentityProviderService.";

export class IdentityError extends Error {
  constructor(readonly type: string) {
    super(type);
  }
}

async function call<T>(endpoint: string, operation: string, body: Record<string, unknown>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + operation },
      body: JSON.stringify(body),
    });
  } catch {
    throw new IdentityError("network");
  }
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) throw new IdentityError(String(answer.__type ?? "error").split("#").pop() ?? "error");
  return answer as T;
}

/** A new authenticator secret for this person (base32), to put in their app. */
export async function associateAuthenticator(endpoint: string, accessToken: string): Promise<string> {
  const answer = await call<{ SecretCode: string }>(endpoint, "AssociateSoftwareToken", { AccessToken: accessToken });
  return answer.SecretCode;
}

/** Proves the app shows the right codes, then makes TOTP this person's enabled and preferred factor. */
export async function verifyAuthenticator(endpoint: string, accessToken: string, code: string): Promise<void> {
  const verified = await call<{ Status: string }>(endpoint, "VerifySoftwareToken", {
    AccessToken: accessToken,
    UserCode: code,
    FriendlyDeviceName: "Authenticator",
  });
  if (verified.Status !== "SUCCESS") throw new IdentityError("CodeMismatchException");
  await call(endpoint, "SetUserMFAPreference", {
    AccessToken: accessToken,
    SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true },
  });
}

/** The otpauth:// address an authenticator app reads (RFC 6238 defaults: SHA-1, 6 digits, 30 s). */
export function otpauthUri(secret: string, account: string, issuer: string): string {
  const label = encodeURIComponent(`${issuer}:${account}`);
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}`;
}
