import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { backends } from "../support/backends.js";
import { TEST_API_KEY, useTestApp } from "../support/test-app.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

/** Runs `buf curl` from the repository root and returns its stdout. */
async function bufCurl(args: string[]): Promise<string> {
  const { stdout } = await run(`${root}node_modules/.bin/buf`, ["curl", ...args], { cwd: root, timeout: 20_000 });
  return stdout;
}

const PROTOCOLS = ["grpc", "grpcweb", "connect"] as const;
const SCHEMAS = [
  ["with --schema proto", ["--schema", "proto"]],
  ["through reflection", []],
] as const;

describe.each(backends())("buf curl on %s", (backend) => {
  const t = useTestApp(backend);

  it("--list-services lists every service through reflection", async () => {
    const services = (await bufCurl(["--list-services", t.baseUrl])).trim().split("\n").sort();
    expect(services).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "tessera.admin.v1.AdminService",
      "tessera.events.v1.EventService",
      "tessera.sessions.v1.SessionService",
      "tessera.users.v1.UserService",
      "tessera.webhooks.v1.WebhookService",
    ]);
  });

  describe.each(PROTOCOLS)("--protocol %s", (protocol) => {
    it.each(SCHEMAS)("creates and patches a session %s", async (_name, schema) => {
      const common = [
        "--protocol",
        protocol,
        ...(protocol === "grpc" ? ["--http2-prior-knowledge"] : []),
        ...schema,
        "-H",
        `authorization: Bearer ${TEST_API_KEY}`,
      ];
      const created = JSON.parse(
        await bufCurl([
          ...common,
          "-d",
          JSON.stringify({ user_id: `buf-${protocol}`, session_custom_claims: { key_1: 1, key_2: 2 } }),
          `${t.baseUrl}/tessera.sessions.v1.SessionService/CreateSession`,
        ]),
      ) as { session: { userId: string; customClaims: unknown }; sessionToken: string };
      expect(created.session.userId).toBe(`buf-${protocol}`);
      expect(created.session.customClaims).toEqual({ key_1: 1, key_2: 2 });
      const patched = JSON.parse(
        await bufCurl([
          ...common,
          "-d",
          JSON.stringify({
            session_token: created.sessionToken,
            session_custom_claims: { key_1: null, e: { n: "v" } },
          }),
          `${t.baseUrl}/tessera.sessions.v1.SessionService/AuthenticateSession`,
        ]),
      ) as { session: { customClaims: unknown } };
      expect(patched.session.customClaims).toEqual({ key_2: 2, e: { n: "v" } });
    });
  });

  it("calls grpc.health.v1.Health/Check without an API key", async () => {
    const out = await bufCurl([
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      `${t.baseUrl}/grpc.health.v1.Health/Check`,
    ]);
    expect(JSON.parse(out)).toEqual({ status: "SERVING" });
  });
});
