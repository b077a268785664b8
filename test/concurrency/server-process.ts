import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SessionService } from "../../gen/tessera/sessions/v1/session_service_pb.js";

/** The API key every spawned server accepts. */
export const PROCESS_API_KEY = "process-api-key-0123456789abcdef";

const ROOT = resolve(import.meta.dirname, "../..");

/** A Tessera server running as its own OS process (`node --import tsx src/main.ts`). */
export interface ServerProcess {
  readonly port: number;
  readonly baseUrl: string;
  readonly child: ChildProcess;
  /** Parsed JSON log lines written so far. */
  readonly logs: Record<string, unknown>[];
  /** What the process wrote to stderr so far (a crash's stack lands here). */
  stderr(): string;
  /** A gRPC client over h2c sending the API key. */
  client(): Client<typeof SessionService>;
  /** The gRPC transport (h2c, API key) behind client(), for clients of other services. */
  readonly transport: Transport;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it does not exit within 5 s. */
  stop(): Promise<void>;
}

/** Spawns a server on DATABASE_URL `databaseUrl` and waits for its "listening" line. */
export async function spawnServer(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: databaseUrl,
      API_KEYS: PROCESS_API_KEY,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      SWEEP_INTERVAL_SECONDS: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const port = await new Promise<number>((done, fail) => {
    let buffered = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (line.trim() === "") continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "listening") done(Number(entry.port));
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      // Keep the tail: enough for a crash's stack, bounded for a chatty process.
      stderr = (stderr + chunk.toString("utf8")).slice(-64 * 1024);
    });
    void exited.then((code) => fail(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${PROCESS_API_KEY}`);
    return next(req);
  };
  const transport = createGrpcTransport({ baseUrl, interceptors: [auth] });
  return {
    port,
    baseUrl,
    child,
    logs,
    stderr: () => stderr,
    exited,
    transport,
    client: () => createClient(SessionService, transport),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A fresh PostgreSQL database on the server of `adminUrl`, and how to drop it. */
