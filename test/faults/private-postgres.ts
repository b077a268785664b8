import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = "/usr/lib/postgresql/15/bin";

/** Whether a private PostgreSQL 15 cluster can be run here: its binaries exist and we are root (to run them as postgres). */
export function canRunPrivatePostgres(): boolean {
  return existsSync(`${BIN}/initdb`) && existsSync(`${BIN}/pg_ctl`) && process.getuid?.() === 0;
}

/** A PostgreSQL cluster owned by one test file, never the shared one on 5432. */
export interface PrivatePostgres {
  readonly port: number;
  /** A superuser URL for database `postgres`. */
  readonly adminUrl: string;
  start(): void;
  /** `pg_ctl -m fast stop`: disconnects every client at once. */
  stop(): void;
  /** Stops the cluster and removes its directory. */
  destroy(): void;
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = net.createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => done(port));
    });
  });
}

function asPostgres(args: string[]): void {
  execFileSync("runuser", ["-u", "postgres", "--", ...args], { stdio: "pipe" });
}

/** initdb's a cluster in a fresh directory owned by postgres and starts it on a free port. */
export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-pg-"));
  const pwd = execFileSync("id", ["-u", "postgres"]).toString().trim();
  const gid = execFileSync("id", ["-g", "postgres"]).toString().trim();
  chownSync(dir, Number(pwd), Number(gid));
  const data = join(dir, "data");
  asPostgres([`${BIN}/initdb`, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  let running = false;
  const cluster: PrivatePostgres = {
    port,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start() {
      asPostgres([`${BIN}/pg_ctl`, "-D", data, "-o", options, "-l", join(dir, "log"), "-w", "start"]);
      running = true;
    },
    stop() {
      asPostgres([`${BIN}/pg_ctl`, "-D", data, "-m", "fast", "-w", "stop"]);
      running = false;
    },
    destroy() {
      try {
        if (running) cluster.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  cluster.start();
  return cluster;
}
