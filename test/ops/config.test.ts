import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";
import { TEST_API_KEY } from "../support/test-app.js";
import { spawnTessera } from "./child.js";

/** Parses `env`, expecting ConfigError; returns its problems. */
function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("the configuration was accepted");
}

describe("parseConfig", () => {
  it("gives documented defaults for an empty environment, frozen", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      databaseUrl: undefined,
      jwtAlgorithm: "ES256",
      jwtTtlSeconds: 300,
      logLevel: "info",
      keyReloadSeconds: 30,
      shutdownTimeoutSeconds: 10,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.apiKeys)).toBe(true);
  });

  it("reads the operations settings", () => {
    const config = parseConfig({ LOG_LEVEL: "warn", KEY_RELOAD_SECONDS: "5", SHUTDOWN_TIMEOUT_SECONDS: "0" });
    expect(config).toMatchObject({ logLevel: "warn", keyReloadSeconds: 5, shutdownTimeoutSeconds: 0 });
  });

  it("gives the documented defaults of the limits", () => {
    expect(parseConfig({})).toMatchObject({
      maxSessionsPerUser: 100,
      listSessionsDefaultPageSize: 100,
      listSessionsMaxPageSize: 100,
      listSessionsMaxResponseBytes: 1_048_576,
      keyRotationMinIntervalSeconds: 60,
      maxPublishedSigningKeys: 10,
    });
  });

  it("reads the limits within their bounds and refuses values outside them, naming each variable", () => {
    const config = parseConfig({
      MAX_SESSIONS_PER_USER: "1000",
      LIST_SESSIONS_DEFAULT_PAGE_SIZE: "1",
      LIST_SESSIONS_MAX_PAGE_SIZE: "1000",
      LIST_SESSIONS_MAX_RESPONSE_BYTES: "16384",
      KEY_ROTATION_MIN_INTERVAL_SECONDS: "0",
      MAX_PUBLISHED_SIGNING_KEYS: "2",
    });
    expect(config).toMatchObject({
      maxSessionsPerUser: 1000,
      listSessionsDefaultPageSize: 1,
      listSessionsMaxPageSize: 1000,
      listSessionsMaxResponseBytes: 16_384,
      keyRotationMinIntervalSeconds: 0,
      maxPublishedSigningKeys: 2,
    });
    const outside = {
      MAX_SESSIONS_PER_USER: "0",
      LIST_SESSIONS_MAX_PAGE_SIZE: "1001",
      LIST_SESSIONS_MAX_RESPONSE_BYTES: "16383",
      KEY_ROTATION_MIN_INTERVAL_SECONDS: "86401",
      MAX_PUBLISHED_SIGNING_KEYS: "1",
    };
    const problems = problemsOf(outside);
    for (const variable of Object.keys(outside)) {
      expect(problems.filter((p) => p.startsWith(`${variable} must be`))).toHaveLength(1);
    }
  });

  it("RBAC: no default role and a 32 KiB policy by default; stytch_user in the Stytch profile; empty turns it off", () => {
    expect(parseConfig({})).toMatchObject({ rbacDefaultRole: undefined, rbacPolicyMaxBytes: 32_768 });
    const stytch = { JWT_PROFILE: "stytch", STYTCH_PROJECT_ID: "project-test-1" };
    expect(parseConfig(stytch).rbacDefaultRole).toBe("stytch_user");
    expect(parseConfig({ ...stytch, RBAC_DEFAULT_ROLE: "" }).rbacDefaultRole).toBeUndefined();
    expect(parseConfig({ RBAC_DEFAULT_ROLE: "member", RBAC_POLICY_MAX_BYTES: "64" })).toMatchObject({
      rbacDefaultRole: "member",
      rbacPolicyMaxBytes: 64,
    });
    expect(problemsOf({ RBAC_DEFAULT_ROLE: "a member", RBAC_POLICY_MAX_BYTES: "63" })).toEqual([
      "RBAC_DEFAULT_ROLE must be 1 to 128 letters, digits, '_', '-', '.' or ':' (or empty for none)",
      'RBAC_POLICY_MAX_BYTES must be an integer from 64 to 1048576, got "63"',
    ]);
  });

  it("refuses a default page size larger than the maximum", () => {
    expect(problemsOf({ LIST_SESSIONS_DEFAULT_PAGE_SIZE: "50", LIST_SESSIONS_MAX_PAGE_SIZE: "20" })).toEqual([
      "LIST_SESSIONS_DEFAULT_PAGE_SIZE must not be larger than LIST_SESSIONS_MAX_PAGE_SIZE",
    ]);
  });

  it("lists every problem at once, each naming its variable", () => {
    const problems = problemsOf({
      PORT: "http",
      DATABASE_URL: "mysql://db",
      API_KEYS: "short",
      JWT_ALGORITHM: "HS256",
      LOG_LEVEL: "loud",
      KEY_RELOAD_SECONDS: "0",
      SHUTDOWN_TIMEOUT_SECONDS: "-1",
    });
    const variables = [
      "PORT",
      "DATABASE_URL",
      "API_KEYS",
      "JWT_ALGORITHM",
      "LOG_LEVEL",
      "KEY_RELOAD_SECONDS",
      "SHUTDOWN_TIMEOUT_SECONDS",
    ];
    expect(problems).toHaveLength(variables.length);
    for (const variable of variables)
      expect(
        problems.some((p) => p.startsWith(variable)),
        variable,
      ).toBe(true);
  });

  it("bounds every connection by default, and reads each network limit", () => {
    expect(parseConfig({})).toMatchObject({
      maxConnections: 10_000,
      headersTimeoutMs: 10_000,
      requestBodyTimeoutMs: 30_000,
      idleTimeoutMs: 60_000,
      http2MaxConcurrentStreams: 100,
      http2PingTimeoutMs: 10_000,
      healthWatchesPerConnection: 10,
      healthMaxWatches: 1_000,
      healthCacheMs: 1_000,
    });
    const limits = {
      MAX_CONNECTIONS: "5",
      HEADERS_TIMEOUT_MS: "100",
      REQUEST_BODY_TIMEOUT_MS: "200",
      IDLE_TIMEOUT_MS: "300",
      HTTP2_MAX_CONCURRENT_STREAMS: "7",
      HTTP2_PING_TIMEOUT_MS: "400",
      HEALTH_WATCHES_PER_CONNECTION: "2",
      HEALTH_MAX_WATCHES: "3",
      HEALTH_CACHE_MS: "0",
    };
    expect(parseConfig(limits)).toMatchObject({
      maxConnections: 5,
      headersTimeoutMs: 100,
      requestBodyTimeoutMs: 200,
      idleTimeoutMs: 300,
      http2MaxConcurrentStreams: 7,
      http2PingTimeoutMs: 400,
      healthWatchesPerConnection: 2,
      healthMaxWatches: 3,
      healthCacheMs: 0,
    });
    // Zero would mean "no limit" to Node for most of these: refused, like anything out of range.
    const zeros = Object.fromEntries(Object.keys(limits).map((name) => [name, "0"]));
    const problems = problemsOf({ ...zeros, HEALTH_CACHE_MS: "-1" });
    expect(problems).toHaveLength(Object.keys(limits).length);
  });

  it("never repeats a rejected API key in its message", () => {
    const err = (() => {
      try {
        parseConfig({ API_KEYS: "tiny-secret" });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).not.toContain("tiny-secret");
  });
});

describe("the real process", () => {
  it("refuses to start on bad configuration, listing every problem on stderr, with a non-zero exit", async () => {
    const child = spawnTessera("src/main.ts", { PORT: "99999", LOG_LEVEL: "loud", JWT_TTL_SECONDS: "soon" });
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toContain("invalid configuration");
    for (const variable of ["PORT", "LOG_LEVEL", "JWT_TTL_SECONDS"]) expect(child.stderr()).toContain(variable);
    expect(child.stdout()).not.toContain("listening");
  });

  it("honours LOG_LEVEL: at warn, no per-RPC info lines are written", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const dataDir = mkdtempSync(join(tmpdir(), "tessera-log-level-"));
    const child = spawnTessera("src/main.ts", {
      DATA_DIR: dataDir,
      HOST: "127.0.0.1",
      PORT: String(port),
      API_KEYS: TEST_API_KEY,
      LOG_LEVEL: "warn",
    });
    try {
      const url = `http://127.0.0.1:${port}/tessera.sessions.v1.SessionService/CreateSession`;
      const call = () =>
        fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ user_id: "quiet" }),
        });
      const res = await vi.waitFor(call, { timeout: 25_000, interval: 200 });
      expect(res.status).toBe(200);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(child.lines.filter((l) => l.msg === "rpc")).toEqual([]);
      expect(child.lines.filter((l) => Number(l.level) < 40)).toEqual([]);
    } finally {
      if (child.process.exitCode === null) child.process.kill("SIGKILL");
      await child.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
