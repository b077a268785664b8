import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** A Tessera script running as a child process (`node --import tsx <script>`). */
export interface Child {
  readonly process: ChildProcess;
  /** Parsed JSON lines from stdout so far. */
  readonly lines: Record<string, unknown>[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching, waiting for it if needed. */
  line(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal name) once the process ends. */
  readonly exited: Promise<number | string>;
}

/** Variables the parent's test setup may have set that would leak into the child's configuration. */
const CONFIG_VARIABLES = ["DATABASE_URL", "DATA_DIR", "API_KEYS", "PORT", "HOST", "LOG_LEVEL"];

/** Starts `script` (relative to the repository) with `args` and only `env` as Tessera configuration. */
export function spawnTessera(script: string, env: Record<string, string>, args: readonly string[] = []): Child {
  const base = { ...process.env };
  for (const name of CONFIG_VARIABLES) delete base[name];
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: root,
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  let out = "";
  let err = "";
  let pending = "";
  const waiters: {
    match: (line: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
    pending += chunk.toString("utf8");
    const parts = pending.split("\n");
    pending = parts.pop() ?? "";
    for (const text of parts) {
      if (text.trim() === "") continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  return {
    process: child,
    lines,
    stdout: () => out,
    stderr: () => err,
    exited,
    line(match) {
      const found = lines.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then((code) => reject(new Error(`exited (${code}) first; stderr: ${err}`)));
      });
    },
  };
}
