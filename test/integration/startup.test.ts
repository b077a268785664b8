import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** A `npm start`-like child process and what it wrote. */
interface Started {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node --import tsx src/main.ts` with only `env` (plus PATH and HOME) in its environment. */
function startTessera(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const started: Started = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((done) => child.once("exit", (code, signal) => done({ code, signal }))),
  };
  child.stdout?.on("data", (chunk: Buffer) => {
    started.stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    started.stderr += chunk.toString("utf8");
  });
  return started;
}

/** Resolves with the port of the "listening" log line, or fails when the process exits first. */
async function listeningPort(started: Started): Promise<number> {
  for (;;) {
    // Only complete lines: the last piece may still be arriving.
    for (const line of started.stdout.split("\n").slice(0, -1)) {
      if (!line.startsWith("{")) continue;
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === "listening" && typeof entry.port === "number") return entry.port;
    }
    const exited = await Promise.race([started.exited, new Promise((r) => setTimeout(() => r(undefined), 50))]);
    if (exited !== undefined) throw new Error(`tessera exited before listening: ${started.stderr}`);
  }
}

describe("startup as a process (npm start)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "tessera-startup-"));
  const env = { DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info" };
  let first: Started;
  let port: number;
  beforeAll(async () => {
    first = startTessera(env);
    port = await listeningPort(first);
  }, 60_000);
  afterAll(async () => {
    if (first?.child.exitCode === null) {
      first.child.kill("SIGKILL");
      await first.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("generates the API key file with mode 0600, logs its path but not the key, and requires the key", async () => {
    const keyFile = join(dataDir, "api-key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, "utf8").trim();
    expect(key.length).toBeGreaterThanOrEqual(32);
    const logged = first.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.find((entry) => entry.msg === "generated an API key")?.api_key_file).toBe(resolve(keyFile));

    const transport = (apiKey?: string) =>
      createConnectTransport({
        baseUrl: `http://127.0.0.1:${port}`,
        httpVersion: "1.1",
        interceptors: [
          (next) => (req) => {
            if (apiKey !== undefined) req.header.set("authorization", `Bearer ${apiKey}`);
            return next(req);
          },
        ],
      });
    const created = await createClient(SessionService, transport(key)).createSession({ userId: "u" });
    expect(created.sessionToken).not.toBe("");
    const refused = await createClient(SessionService, transport())
      .createSession({ userId: "u" })
      .catch((err: unknown) => ConnectError.from(err));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.Unauthenticated);

    expect(first.stdout + first.stderr).not.toContain(key);
    // Written through a temporary file linked into place: nothing else is left beside it.
    expect(readdirSync(dataDir).filter((name) => name.startsWith("api-key"))).toEqual(["api-key"]);
  });

  it("refuses a second process on the same DATA_DIR with a clear message and a non-zero exit", async () => {
    const second = startTessera(env);
    const { code } = await second.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(second.stderr).toContain(`in use by process ${first.child.pid}`);
    expect(second.stderr).toContain(dataDir);
    expect(second.stdout).not.toContain('"msg":"listening"');
    // The first one is unharmed.
    expect(first.child.exitCode).toBeNull();
    expect(existsSync(join(dataDir, "tessera.lock"))).toBe(true);
  }, 60_000);

  it("exits 0 on SIGTERM and releases the data directory", async () => {
    first.child.kill("SIGTERM");
    const { code, signal } = await first.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(first.stdout).toContain('"signal":"SIGTERM"');
    expect(existsSync(join(dataDir, "tessera.lock"))).toBe(false);
  }, 30_000);
});

describe("startup with bad configuration", () => {
  it("exits non-zero listing every problem (PORT=abc, JWT_ALGORITHM=HS256)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "tessera-badconfig-"));
    try {
      const started = startTessera({ DATA_DIR: dataDir, PORT: "abc", JWT_ALGORITHM: "HS256" });
      const { code } = await started.exited;
      expect(code).toBe(1);
      expect(started.stderr).toContain("invalid configuration");
      expect(started.stderr).toMatch(/PORT must be .*"abc"/);
      expect(started.stderr).toMatch(/JWT_ALGORITHM must be one of .*"HS256"/);
      expect(started.stdout).not.toContain('"msg":"listening"');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe("startup with an unusable API key file", () => {
  // A truncated file (disk full, a crash between create and write) must never turn into "no key needed".
  const cases = [
    { name: "empty", content: "", says: "is empty" },
    { name: "only whitespace", content: " \n\t\n", says: "is empty" },
    { name: "a key of 15 characters", content: "fifteen-chars-k\n", says: "holds a key shorter than 16 characters" },
  ];
  it.each(cases)("exits 1 on a key file that is $name, naming the file and never its content", async ({
    content,
    says,
  }) => {
    const dataDir = mkdtempSync(join(tmpdir(), "tessera-badkey-"));
    try {
      const keyFile = join(dataDir, "api-key");
      writeFileSync(keyFile, content, { mode: 0o600 });
      const started = startTessera({ DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info" });
      const { code } = await started.exited;
      expect(code).toBe(1);
      expect(started.stderr).toContain(`the API key file ${resolve(keyFile)} ${says}`);
      expect(started.stderr).toContain("delete it to have a new key generated");
      expect(started.stdout).not.toContain('"msg":"listening"');
      if (content.trim() !== "") expect(started.stdout + started.stderr).not.toContain(content.trim());
      // The file is left as it was for the operator to look at.
      expect(readFileSync(keyFile, "utf8")).toBe(content);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});
