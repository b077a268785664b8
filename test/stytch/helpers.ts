import { Client, StytchError } from "stytch";
import { expect } from "vitest";
import type { Backend } from "../support/backends.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "../support/test-app.js";

/** The project id every Stytch test app is configured with. */
export const PROJECT_ID = "project-test-6c4b9d1e-tessera";

/** A running Tessera with the Stytch surface on, and the official SDK pointed at it. */
export interface StytchTestApp {
  readonly t: TestApp;
  /** The unmodified `stytch` SDK client, with the only change a migration makes: `env` is Tessera's URL. */
  readonly client: Client;
  /** Another SDK client with the given credentials. */
  clientWith(projectId: string, secret: string): Client;
  /** A raw request to the app, with HTTP Basic credentials unless `auth` is null. */
  fetch(path: string, init?: RequestInit & { auth?: string | null }): Promise<Response>;
  /** Creates a session through the Tessera extension route; returns the JSON body. */
  create(body: Record<string, unknown>): Promise<CreatedSession>;
  close(): Promise<void>;
}

/** What the create extension returns. */
export interface CreatedSession {
  session: { session_id: string; user_id: string; custom_claims: Record<string, unknown>; [key: string]: unknown };
  session_token: string;
  session_jwt: string;
  user: Record<string, unknown>;
}

/** HTTP Basic credentials as the SDK sends them. */
export function basic(projectId: string, secret: string): string {
  return `Basic ${Buffer.from(`${projectId}:${secret}`).toString("base64")}`;
}

/** Starts the real app with STYTCH_PROJECT_ID set (and `env`), plus an SDK client. */
export async function startStytchApp(backend: Backend, env: Record<string, string> = {}): Promise<StytchTestApp> {
  const t = await startTestApp(backend, { STYTCH_PROJECT_ID: PROJECT_ID, JWT_PROFILE: "stytch", ...env });
  const clientWith = (projectId: string, secret: string) =>
    new Client({ project_id: projectId, secret, env: `${t.baseUrl}/` });
  const fetchApp = (path: string, init: RequestInit & { auth?: string | null } = {}) => {
    const { auth, ...rest } = init;
    const headers = new Headers(rest.headers);
    const credentials = auth === undefined ? basic(PROJECT_ID, TEST_API_KEY) : auth;
    if (credentials !== null) headers.set("authorization", credentials);
    return fetch(`${t.baseUrl}${path}`, { ...rest, headers });
  };
  return {
    t,
    client: clientWith(PROJECT_ID, TEST_API_KEY),
    clientWith,
    fetch: fetchApp,
    async create(body) {
      const res = await fetchApp("/v1/sessions/tessera/create", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 200) throw new Error(`create failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as CreatedSession;
    },
    close: () => t.close(),
  };
}

/** Awaits a call that must fail with the SDK's StytchError, checks its fields and returns it. */
export async function expectStytchError(
  call: Promise<unknown>,
  status: number,
  errorType: string,
): Promise<StytchError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StytchError);
  const stytchErr = err as StytchError;
  expect({ status_code: stytchErr.status_code, error_type: stytchErr.error_type }).toStrictEqual({
    status_code: status,
    error_type: errorType,
  });
  expect(stytchErr.request_id).toMatch(/^request-id-[0-9a-f-]{36}$/);
  expect(stytchErr.error_message).toEqual(expect.any(String));
  expect(stytchErr.error_url).toBe(`https://stytch.com/docs/api/errors/${status}#${errorType}`);
  return stytchErr;
}
