/**
 * `npm run bench`: Tessera over HTTP/2 (gRPC, h2c) against the floor of the same
 * work done in-process. Needs DATABASE_URL (a role with CREATEDB); makes and drops
 * its own database. Options: --seconds=N per run (8), --concurrency=N (64),
 * --sessions=N (1000), --scale (also with 1,000,000 sessions), --soak=SECONDS,
 * --cpu-prof (writes the server's profile to bench/profiles/).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { resolve } from "node:path";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createLocalJWKSet, type JWK, jwtVerify } from "jose";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { SessionService } from "../gen/tessera/sessions/v1/session_service_pb.js";
import { systemClock } from "../src/clock.js";
import type { DatabaseSchema } from "../src/db/schema.js";
import { createKeyStore } from "../src/keys/key-store.js";
import { createSessionService } from "../src/sessions/session.service.js";
import { createSessionJwts } from "../src/tokens/session-jwt.js";
import { measure, type RunStats, row } from "./stats.js";

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k as string, v ?? "true"];
  }),
);
const SECONDS = Number(args.get("seconds") ?? 8);
const CONCURRENCY = Number(args.get("concurrency") ?? 64);
const SESSIONS = Number(args.get("sessions") ?? 1000);
const API_KEY = "bench-api-key-0123456789abcdef";
const ROOT = resolve(import.meta.dirname, "..");

const adminUrl = process.env.DATABASE_URL;
if (adminUrl === undefined) {
  process.stderr.write("bench needs DATABASE_URL (a PostgreSQL role with CREATEDB)\n");
  process.exit(2);
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => done(port));
    });
  });
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Math.round(Number(match?.[1]) / 1024);
}

async function main(): Promise<void> {
  const dbName = `tessera_bench_${randomBytes(4).toString("hex")}`;
  await adminQuery(`create database ${dbName}`);
  const url = new URL(adminUrl as string);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  let server: ChildProcess | undefined;
  try {
    const port = await freePort();
    const nodeArgs = ["--import", "tsx"];
    if (args.has("cpu-prof")) nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${resolve(ROOT, "bench/profiles")}`);
    server = spawn(process.execPath, [...nodeArgs, "src/main.ts"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: databaseUrl,
        API_KEYS: API_KEY,
        PORT: String(port),
        HOST: "127.0.0.1",
        SWEEP_INTERVAL_SECONDS: "0",
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const auth: Interceptor = (next) => (req) => {
      req.header.set("authorization", `Bearer ${API_KEY}`);
      return next(req);
    };
    const client = createClient(
      SessionService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors: [auth] }),
    );
    for (let i = 0; ; i++) {
      try {
        await client.getJwks({});
        break;
      } catch (err) {
        if (i > 300) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const pid = server.pid as number;

    // The floor: the same service code, statements and signing, in-process, no RPC.
    let statements = 0;
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    pool.on("connect", (c) => {
      const query = c.query.bind(c) as (...a: unknown[]) => unknown;
      (c as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
        statements++;
        return query(...a);
      };
    });
    const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool }) });
    const keys = createKeyStore(db, { algorithm: "ES256", retiredKeyLifetimeMs: 3_900_000, clock: systemClock });
    await keys.init();
    const jwts = createSessionJwts({
      issuer: "tessera",
      audience: "tessera",
      ttlSeconds: 300,
      namespace: "https://tessera.dev/",
      keys,
      clock: systemClock,
    });
    const floor = createSessionService({
      db,
      jwts,
      clock: systemClock,
      claimsPolicy: { namespace: "https://tessera.dev/", maxBytes: 4096, maxDepth: 32 },
    });

    const created = await Promise.all(
      Array.from({ length: SESSIONS }, (_, i) =>
        client.createSession({
          userId: `user-${i}`,
          sessionDurationMinutes: 600,
          sessionCustomClaims: { plan: "pro" },
        }),
      ),
    );
    const tokens = created.map((c) => c.sessionToken);
    const jwtsIssued = created.map((c) => c.sessionJwt);
    const pick = (i: number) => tokens[i % tokens.length] as string;
    const patch = (i: number) => ({ a: i, b: `v${i % 7}`, c: { n: i % 3 } });
    const published = (await client.getJwks({})).keys.map(
      (k) => Object.fromEntries(Object.entries(k).filter(([name, v]) => name !== "$typeName" && v !== "")) as JWK,
    );
    const jwks = createLocalJWKSet({ keys: published });

    const perCall = async (fn: () => Promise<unknown>) => {
      const before = statements;
      await fn();
      return statements - before;
    };
    const stmtCreate = await perCall(() =>
      floor.create({
        userId: "u",
        durationMinutes: 600,
        customClaims: { plan: "pro" },
        attributes: { ipAddress: "", userAgent: "" },
        roles: [],
      }),
    );
    const stmtToken = await perCall(() =>
      floor.authenticate({
        credential: { kind: "token", token: pick(1) },
        durationMinutes: undefined,
        patch: undefined,
        expectedClaimsVersion: undefined,
      }),
    );
    const stmtPatch = await perCall(() =>
      floor.authenticate({
        credential: { kind: "token", token: pick(2) },
        durationMinutes: undefined,
        patch: patch(2),
        expectedClaimsVersion: undefined,
      }),
    );
    const stmtJwt = await perCall(() =>
      floor.authenticate({
        credential: { kind: "jwt", jwt: jwtsIssued[3] as string },
        durationMinutes: undefined,
        patch: undefined,
        expectedClaimsVersion: undefined,
      }),
    );

    const results: Array<{ rpc: RunStats; floor?: RunStats; statements?: number; rss: number }> = [];
    const pair = async (
      name: string,
      rpc: (i: number) => Promise<unknown>,
      floorCall: ((i: number) => Promise<unknown>) | undefined,
      stmts?: number,
    ) => {
      const f = floorCall === undefined ? undefined : await measure(`${name} (floor)`, CONCURRENCY, SECONDS, floorCall);
      const r = await measure(name, CONCURRENCY, SECONDS, rpc);
      results.push({ rpc: r, floor: f, statements: stmts, rss: rssMiB(pid) });
      process.stderr.write(`done: ${name}\n`);
    };
    await pair(
      "CreateSession",
      (i) => client.createSession({ userId: `c-${i}`, sessionCustomClaims: { plan: "pro" } }),
      (i) =>
        floor.create({
          userId: `f-${i}`,
          durationMinutes: 60,
          customClaims: { plan: "pro" },
          attributes: { ipAddress: "", userAgent: "" },
          roles: [],
        }),
      stmtCreate,
    );
    await pair(
      "Authenticate by token",
      (i) => client.authenticateSession({ credential: { case: "sessionToken", value: pick(i) } }),
      (i) =>
        floor.authenticate({
          credential: { kind: "token", token: pick(i) },
          durationMinutes: undefined,
          patch: undefined,
          expectedClaimsVersion: undefined,
        }),
      stmtToken,
    );
    await pair(
      "Authenticate + 3-key patch",
      (i) =>
        client.authenticateSession({
          credential: { case: "sessionToken", value: pick(i) },
          sessionCustomClaims: patch(i),
        }),
      (i) =>
        floor.authenticate({
          credential: { kind: "token", token: pick(i) },
          durationMinutes: undefined,
          patch: patch(i),
          expectedClaimsVersion: undefined,
        }),
      stmtPatch,
    );
    await pair(
      "Authenticate by JWT",
      (i) =>
        client.authenticateSession({
          credential: { case: "sessionJwt", value: jwtsIssued[i % jwtsIssued.length] as string },
        }),
      (i) =>
        floor.authenticate({
          credential: { kind: "jwt", jwt: jwtsIssued[i % jwtsIssued.length] as string },
          durationMinutes: undefined,
          patch: undefined,
          expectedClaimsVersion: undefined,
        }),
      stmtJwt,
    );
    await pair(
      "Local JWT verify (jose, JWKS)",
      (i) => jwtVerify(jwtsIssued[i % jwtsIssued.length] as string, jwks, { issuer: "tessera", audience: "tessera" }),
      undefined,
    );

    const w = [30, 10, 9, 9, 12, 8, 6, 8];
    const lines = [
      `Tessera bench: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; ${CONCURRENCY} concurrent streams on one h2c connection, ${SECONDS} s per run, ${SESSIONS} sessions`,
      row(["operation", "calls/s", "p50 ms", "p99 ms", "floor/s", "ratio", "stmts", "RSS MiB"], w),
      ...results.map(({ rpc, floor: f, statements: s, rss }) =>
        row(
          [
            rpc.name,
            rpc.perSecond.toFixed(0),
            rpc.p50Ms.toFixed(2),
            rpc.p99Ms.toFixed(2),
            f ? f.perSecond.toFixed(0) : "-",
            f ? `${((rpc.perSecond / f.perSecond) * 100).toFixed(0)}%` : "-",
            s ?? "-",
            rss,
          ],
          w,
        ),
      ),
      `errors: ${results.map((r) => `${r.rpc.name}=${r.rpc.errors}${r.floor ? `/${r.floor.errors}` : ""}`).join(", ")}`,
      "stmts = statements sent to PostgreSQL per call (the floor runs the same service code; BEGIN and COMMIT count)",
    ];

    if (args.has("scale")) {
      const small = await measure("auth by token, small table", CONCURRENCY, SECONDS, (i) =>
        client.authenticateSession({ credential: { case: "sessionToken", value: pick(i) } }),
      );
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`insert into sessions (session_id, user_id, token_hash, started_at, last_accessed_at, expires_at, attributes, roles, custom_claims)
        select 'bulk-' || g, 'bulk-user-' || (g % 100000), encode(sha256(('bulk' || g)::bytea), 'hex'), now(), now(), now() + interval '1 day',
               '{"ip_address":"","user_agent":""}', '[]', '{"plan":"pro"}'
        from generate_series(1, 1000000 - ${SESSIONS}) g`);
      await c.query("vacuum analyze sessions");
      const total = (await c.query("select count(*)::int as n from sessions")).rows[0].n as number;
      await c.end();
      const big = await measure("auth by token, big table", CONCURRENCY, SECONDS, (i) =>
        client.authenticateSession({ credential: { case: "sessionToken", value: pick(i) } }),
      );
      lines.push(
        `scale: authenticate by token p50/p99 ${small.p50Ms.toFixed(2)}/${small.p99Ms.toFixed(2)} ms at ${tokens.length + 1} sessions vs ${big.p50Ms.toFixed(2)}/${big.p99Ms.toFixed(2)} ms at ${total} sessions (p50 ratio ${(big.p50Ms / small.p50Ms).toFixed(2)}x; ${small.perSecond.toFixed(0)} vs ${big.perSecond.toFixed(0)} calls/s)`,
      );
    }

    if (args.has("soak")) {
      const soakSeconds = Number(args.get("soak") === "true" ? 300 : args.get("soak"));
      const samples: number[] = [rssMiB(pid)];
      const sampler = setInterval(() => samples.push(rssMiB(pid)), 15_000);
      const soak = await measure("soak", CONCURRENCY, soakSeconds, (i) =>
        i % 2 === 0
          ? client.authenticateSession({
              credential: { case: "sessionToken", value: pick(i) },
              sessionCustomClaims: patch(i),
            })
          : client.authenticateSession({
              credential: { case: "sessionJwt", value: jwtsIssued[i % jwtsIssued.length] as string },
            }),
      );
      clearInterval(sampler);
      samples.push(rssMiB(pid));
      lines.push(
        `soak ${soakSeconds} s of mixed authenticate (${soak.perSecond.toFixed(0)} calls/s, ${soak.errors} errors): server RSS MiB every 15 s: ${samples.join(" ")}`,
      );
    }

    process.stdout.write(`${lines.join("\n")}\n`);
    await db.destroy();
  } finally {
    if (server !== undefined && server.exitCode === null) {
      const exited = new Promise((r) => server?.once("exit", r));
      server.kill("SIGTERM");
      await exited;
    }
    await adminQuery(`drop database if exists ${dbName} with (force)`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
