/**
 * `npm run bench`: Tessera over HTTP/2 (gRPC, h2c) against the floor of the same
 * work done in-process. Needs DATABASE_URL (a role with CREATEDB); makes and drops
 * its own database. Three processes: the server (`npm start`'s `node
 * dist/src/main.js`, built first with `npm run build`; logs to a file), the load
 * generator (bench/load-generator.ts) and this one,
 * which runs the floor. Each phase runs alone: the floor while the server and
 * load generator are idle, then the RPCs while this process only waits.
 * Options: --seconds=N per run (8), --concurrency=N (64), --sessions=N (1000),
 * --client=raw|connect (raw), --pool=N (server and floor pool, 10), --only=op,op
 * (create,token,patch,hot-patch,jwt; hot-patch: every call patches one key of the
 * same session), --server=dist|tsx (dist; tsx runs src/main.ts through the tsx
 * loader, as `npm run dev`), --log-level=L (server, info), --server-node-options="…",
 * --pg-socket=DIR (server and floor connect through PostgreSQL's Unix socket in DIR),
 * --scale (also with 1,000,000 sessions), --soak=SECONDS, --cpu-prof (server
 * profile into bench/profiles/), --workers=N (WORKERS for the server; its CPU and RSS
 * then sum the primary and its workers), --connections=N (h2c connections of the raw
 * client; the cluster hands whole connections to workers), --touch-interval=N (SESSION_TOUCH_INTERVAL_SECONDS
 * of the server and the floor; unset: the server's default).
 */
import { type ChildProcess, fork, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { join, resolve } from "node:path";
import { createLocalJWKSet, type JWK, jwtVerify } from "jose";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { systemClock } from "../src/clock.js";
import { parseConfig } from "../src/config.js";
import type { DatabaseSchema } from "../src/db/schema.js";
import { createKeyStore } from "../src/keys/key-store.js";
import { createSessions } from "../src/sessions/session.service.js";
import { MAX_CREDENTIAL_LENGTH } from "../src/sessions/session-input.js";
import { createClaimTemplates } from "../src/templates/claim-templates.js";
import { jwtLengthCheck } from "../src/tokens/jwt-length.js";
import { createSessionJwts } from "../src/tokens/session-jwt.js";
import { type CpuSample, coresBetween, processTree, sampleCpu } from "./cpu.js";
import type { LoadCommand } from "./load-generator.js";
import { HOT_PATCH_KEYS, type Operation, patchOf } from "./operations.js";
import { measure, type RunStats, row } from "./stats.js";

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k as string, v.length > 0 ? v.join("=") : "true"];
  }),
);
const SECONDS = Number(args.get("seconds") ?? 8);
const CONCURRENCY = Number(args.get("concurrency") ?? 64);
const SESSIONS = Number(args.get("sessions") ?? 1000);
const POOL = Number(args.get("pool") ?? 10);
const CLIENT = args.get("client") === "connect" ? "connect" : "raw";
const ONLY = args.get("only")?.split(",");
const LOG_LEVEL = args.get("log-level") ?? "info";
const PG_SOCKET = args.get("pg-socket");
const TOUCH_INTERVAL = args.get("touch-interval");
const WORKERS = Number(args.get("workers") ?? 1);
const CONNECTIONS = Number(args.get("connections") ?? 1);
/** The floor's touch interval: the one given, or the server's default. */
const FLOOR_TOUCH_INTERVAL = parseConfig(
  TOUCH_INTERVAL === undefined ? {} : { SESSION_TOUCH_INTERVAL_SECONDS: TOUCH_INTERVAL },
).sessionTouchIntervalSeconds;
const SERVER = args.get("server") === "tsx" ? "tsx" : "dist";
const SERVER_NODE_OPTIONS =
  args
    .get("server-node-options")
    ?.split(" ")
    .filter((o) => o !== "") ?? [];
const API_KEY = "bench-api-key-0123456789abcdef";
const ROOT = resolve(import.meta.dirname, "..");
const CORES = os.cpus().length;

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

/** RSS of `pid` and its children (the workers, with WORKERS > 1), in MiB. */
function treeRssMiB(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + rssMiB(p), 0);
}

function rssMiB(pid: number): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return 0;
  }
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}

/** The load generator process, driven one phase at a time. */
function loadGenerator(): {
  child: ChildProcess;
  send(command: LoadCommand, onMeasuring?: () => void): Promise<RunStats | undefined>;
} {
  const child = fork(resolve(ROOT, "bench/load-generator.ts"), [], {
    cwd: ROOT,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return {
    child,
    send(command, onMeasuring) {
      return new Promise((done, fail) => {
        const onMessage = (m: { type: string; stats?: RunStats; message?: string }) => {
          if (m.type === "measuring") {
            onMeasuring?.();
            return;
          }
          child.off("message", onMessage);
          if (m.type === "error") fail(new Error(m.message));
          else done(m.stats);
        };
        child.on("message", onMessage);
        child.send(command);
      });
    },
  };
}

/** One measured phase with the cores each process used during its measured window. */
interface Phase {
  readonly stats: RunStats;
  readonly cores: Record<string, number>;
}

async function main(): Promise<void> {
  const dbName = `tessera_bench_${randomBytes(4).toString("hex")}`;
  await adminQuery(`create database ${dbName}`);
  const url = new URL(adminUrl as string);
  url.pathname = `/${dbName}`;
  // With --pg-socket=DIR, the server and the floor reach PostgreSQL over its Unix socket instead of TCP.
  if (PG_SOCKET !== undefined) url.searchParams.set("host", PG_SOCKET);
  const databaseUrl = url.toString();
  const logPath = join(os.tmpdir(), `${dbName}.log`);
  const logFd = openSync(logPath, "w");
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  let server: ChildProcess | undefined;
  let load: ReturnType<typeof loadGenerator> | undefined;
  let rpcsSent = 0;
  try {
    const port = await freePort();
    const nodeArgs = [...SERVER_NODE_OPTIONS, ...(SERVER === "tsx" ? ["--import", "tsx"] : [])];
    if (args.has("cpu-prof")) nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${resolve(ROOT, "bench/profiles")}`);
    if (SERVER === "dist") {
      // What `npm start` runs: compile first so the build is never stale.
      const build = spawnSync(
        process.execPath,
        [resolve(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
        {
          cwd: ROOT,
          stdio: "inherit",
        },
      );
      if (build.status !== 0) throw new Error("npm run build failed");
    }
    const spawnedAt = performance.now();
    server = spawn(process.execPath, [...nodeArgs, SERVER === "tsx" ? "src/main.ts" : "dist/src/main.js"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: databaseUrl,
        DATABASE_POOL_SIZE: String(POOL),
        API_KEYS: API_KEY,
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: LOG_LEVEL,
        SWEEP_INTERVAL_SECONDS: "0",
        ...(TOUCH_INTERVAL === undefined ? {} : { SESSION_TOUCH_INTERVAL_SECONDS: TOUCH_INTERVAL }),
        WORKERS: String(WORKERS),
      },
      // One JSON line per RPC goes to a real file, as it would to a log collector.
      stdio: ["ignore", logFd, "inherit"],
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/readyz`)).ok) break;
      } catch (err) {
        if (i > 1500 || server.exitCode !== null) throw err;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    // Spawn to first ready /readyz on a fresh database (migrations and the first key included), to ±20 ms.
    const readyMs = performance.now() - spawnedAt;
    const serverPid = server.pid as number;

    // The floor: the same service code, statements and signing, in-process, no RPC.
    let statements = 0;
    const pool = new pg.Pool({ connectionString: databaseUrl, max: POOL });
    pool.on("connect", (c) => {
      const query = c.query.bind(c) as (...a: unknown[]) => unknown;
      (c as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
        statements++;
        return query(...a);
      };
    });
    const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool }) });
    // The server made the signing key; the floor loads the same one from the database.
    const keys = createKeyStore(db, {
      algorithm: "ES256",
      retiredKeyLifetimeMs: 3_900_000,
      clock: systemClock,
      minRotationIntervalMs: 60_000,
      maxPublishedKeys: 10,
    });
    await keys.init();
    const jwts = createSessionJwts({
      issuer: "tessera",
      audience: "tessera",
      ttlSeconds: 300,
      namespace: "https://tessera.dev/",
      keys,
      clock: systemClock,
    });
    const claimsPolicy = { namespace: "https://tessera.dev/", maxBytes: 4096, maxDepth: 32 };
    const templates = createClaimTemplates({
      db,
      clock: systemClock,
      claimsPolicy,
      checkJwt: jwtLengthCheck(jwts, MAX_CREDENTIAL_LENGTH),
    });
    const floor = createSessions({
      db,
      jwts,
      clock: systemClock,
      claimsPolicy,
      templates,
      maxSessionsPerUser: 100,
      maxJwtLength: MAX_CREDENTIAL_LENGTH,
      touchIntervalSeconds: FLOOR_TOUCH_INTERVAL,
    });
    const newSession = (userId: string, minutes: number) =>
      floor.create({
        userId,
        durationMinutes: minutes,
        customClaims: { plan: "pro" },
        attributes: { ipAddress: "", userAgent: "" },
        roles: [],
      });
    const created = await Promise.all(Array.from({ length: SESSIONS }, (_, i) => newSession(`user-${i}`, 600)));
    const tokens = created.map((c) => c.sessionToken as string);
    const jwtsIssued = created.map((c) => c.sessionJwt);
    // One session each for the floor's and the RPC's hot patches, so each count is checked on its own.
    const [hotFloor, hotRpc] = await Promise.all([newSession("hot-floor", 600), newSession("hot-rpc", 600)]);
    const hotPatch = (i: number) => ({ [`k${i % HOT_PATCH_KEYS}`]: i });
    const authInput = (credential: { kind: "token"; token: string } | { kind: "jwt"; jwt: string }, i?: number) => ({
      credential,
      durationMinutes: undefined,
      patch: i === undefined ? undefined : patchOf(i),
      expectedClaimsVersion: undefined,
    });
    const floorCalls: Record<Operation, (i: number) => Promise<unknown>> = {
      create: (i) => newSession(`f-${i}`, 60),
      token: (i) => floor.authenticate(authInput({ kind: "token", token: tokens[i % tokens.length] as string })),
      patch: (i) => floor.authenticate(authInput({ kind: "token", token: tokens[i % tokens.length] as string }, i)),
      "hot-patch": (i) =>
        floor.authenticate({
          ...authInput({ kind: "token", token: hotFloor.sessionToken as string }),
          patch: hotPatch(i),
        }),
      jwt: (i) => floor.authenticate(authInput({ kind: "jwt", jwt: jwtsIssued[i % jwtsIssued.length] as string })),
      mixed: (i) => (i % 2 === 0 ? floorCalls.patch(i) : floorCalls.jwt(i)),
    };
    const perCall = async (op: Operation) => {
      const before = statements;
      await floorCalls[op](7);
      return statements - before;
    };
    const stmts: Partial<Record<Operation, number>> = {};
    for (const op of ["create", "token", "patch", "jwt"] as const) stmts[op] = await perCall(op);
    // Uncontended, as the other counts; under contention a hot patch may also take the locking path.
    stmts["hot-patch"] = await perCall("hot-patch");
    const hotSent = { floor: 1, rpc: 0 };
    let hotStatements = Number.NaN;

    load = loadGenerator();
    await load.send({
      type: "init",
      port,
      apiKey: API_KEY,
      client: CLIENT,
      tokens,
      jwts: jwtsIssued,
      hotToken: hotRpc.sessionToken as string,
      connections: CONNECTIONS,
    });
    const loadPid = load.child.pid as number;
    const pgPids = async () =>
      (await admin.query<{ pid: number }>("select pid from pg_stat_activity where datname = $1", [dbName])).rows.map(
        (r) => r.pid,
      );
    const sample = async (): Promise<CpuSample> =>
      sampleCpu({ server: processTree(serverPid), postgres: await pgPids(), client: [loadPid], floor: [process.pid] });
    /** Runs `work`, sampling CPU when its measured window opens and when it ends. */
    const phase = async (work: (onMeasuring: () => void) => Promise<RunStats | undefined>): Promise<Phase> => {
      let start: Promise<CpuSample> | undefined;
      const stats = await work(() => {
        start = sample();
      });
      const end = await sample();
      if (stats === undefined || start === undefined) throw new Error("phase ended without a measurement");
      if (stats.name !== "verify" && !stats.name.endsWith("(floor)")) rpcsSent += stats.attempted;
      return { stats, cores: coresBetween(await start, end, CORES) };
    };
    const rpcPhase = (op: Operation, seconds = SECONDS) =>
      phase((onMeasuring) =>
        (load as ReturnType<typeof loadGenerator>).send(
          { type: "run", op, seconds, concurrency: CONCURRENCY },
          onMeasuring,
        ),
      );
    const floorPhase = (op: Operation) =>
      phase((onMeasuring) => measure(`${op} (floor)`, CONCURRENCY, SECONDS, floorCalls[op], onMeasuring));

    const names: Record<Operation, string> = {
      create: "CreateSession",
      token: "Authenticate by token",
      patch: "Authenticate + 3-key patch",
      "hot-patch": `Hot patch, 1 session, ${HOT_PATCH_KEYS} keys`,
      jwt: "Authenticate by JWT",
      mixed: "Mixed authenticate",
    };
    const results: Array<{ name: string; rpc: Phase; floor?: Phase; statements?: number; rss: number }> = [];
    for (const op of ["create", "token", "patch", "hot-patch", "jwt"] as const) {
      if (ONLY !== undefined && !ONLY.includes(op)) continue;
      const statementsBefore = statements;
      const f = await floorPhase(op);
      const r = await rpcPhase(op);
      if (op === "hot-patch") {
        hotSent.floor += f.stats.attempted;
        hotSent.rpc += r.stats.attempted;
        hotStatements = (statements - statementsBefore) / f.stats.attempted;
      }
      results.push({ name: names[op], rpc: r, floor: f, statements: stmts[op], rss: treeRssMiB(serverPid) });
      process.stderr.write(`done: ${names[op]}\n`);
    }
    const published = ((await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys;
    const jwks = createLocalJWKSet({ keys: published });
    const verify = await phase((onMeasuring) =>
      measure(
        "verify",
        CONCURRENCY,
        SECONDS,
        (i) => jwtVerify(jwtsIssued[i % jwtsIssued.length] as string, jwks, { issuer: "tessera", audience: "tessera" }),
        onMeasuring,
      ),
    );
    results.push({ name: "Local JWT verify (jose, JWKS)", rpc: verify, rss: treeRssMiB(serverPid) });

    // Every hot patch must have landed: all keys present, one claims_version step per patch sent.
    const hotChecks: string[] = [];
    if (ONLY === undefined || ONLY.includes("hot-patch")) {
      for (const [label, issued, sent] of [
        ["floor", hotFloor, hotSent.floor],
        ["RPC", hotRpc, hotSent.rpc],
      ] as const) {
        // Read back through the service: the merged claims and version as a caller sees them.
        const { session } = await floor.authenticate(
          authInput({ kind: "token", token: issued.sessionToken as string }),
        );
        const claims = session.customClaims;
        const missing = Array.from({ length: HOT_PATCH_KEYS }, (_, k) => `k${k}`).filter((k) => !(k in claims));
        const steps = Number(session.claimsVersion - issued.session.claimsVersion);
        const ok = missing.length === 0 && steps === sent;
        if (label === "floor") {
          hotChecks.push(
            `hot patch statements per call under contention (floor): ${hotStatements.toFixed(2)} (uncontended: ${stmts["hot-patch"]})`,
          );
        }
        hotChecks.push(
          `hot patch (${label}): ${ok ? "OK" : "FAILED"}: claims_version +${steps} for ${sent} patches sent, ${HOT_PATCH_KEYS - missing.length}/${HOT_PATCH_KEYS} keys present`,
        );
        if (!ok) process.exitCode = 1;
      }
    }

    const w = [30, 8, 8, 8, 8, 6, 6, 8];
    const pct = (cores: number) => `${(cores * 100).toFixed(0)}%`;
    const lines = [
      `Tessera bench: ${CORES} x ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; ${CONCURRENCY} concurrent streams on ${CONNECTIONS === 1 || CLIENT === "connect" ? "one h2c connection" : `${CONNECTIONS} h2c connections`} (${CLIENT} client in its own process), ${WORKERS === 1 ? "one server process" : `WORKERS=${WORKERS}`}, pool ${POOL}${WORKERS === 1 ? "" : " per worker"}${PG_SOCKET === undefined ? " over TCP" : ` over the Unix socket in ${PG_SOCKET}`}, server log level ${LOG_LEVEL}${SERVER_NODE_OPTIONS.length > 0 ? ` and ${SERVER_NODE_OPTIONS.join(" ")}` : ""}, ${SECONDS} s per run, ${SESSIONS} sessions, touch interval ${FLOOR_TOUCH_INTERVAL} s; load average at start ${os.loadavg()[0]?.toFixed(2)}`,
      "",
      row(["operation", "calls/s", "p50 ms", "p99 ms", "floor/s", "ratio", "stmts", "RSS MiB"], w),
      ...results.map(({ name, rpc, floor: f, statements: s, rss }) =>
        row(
          [
            name,
            rpc.stats.perSecond.toFixed(0),
            rpc.stats.p50Ms.toFixed(2),
            rpc.stats.p99Ms.toFixed(2),
            f ? f.stats.perSecond.toFixed(0) : "-",
            f ? `${((rpc.stats.perSecond / f.stats.perSecond) * 100).toFixed(0)}%` : "-",
            s ?? "-",
            rss,
          ],
          w,
        ),
      ),
      "",
      "CPU per measured phase, in % of one core (server, PostgreSQL backends, load generator, this process = floor, rest of the machine, idle),",
      "and CPU µs per call of the server (or the floor) and of PostgreSQL:",
      row(
        ["phase", "server", "postgres", "client", "floor", "other", "idle", "µs/call", "pg µs/call"],
        [34, 8, 8, 8, 8, 8, 8, 8, 10],
      ),
      ...results.flatMap(({ name, rpc, floor: f }) =>
        [
          ...(f ? [[`${name} (floor)`, f] as const] : []),
          [name === "Local JWT verify (jose, JWKS)" ? name : `${name} (RPC)`, rpc] as const,
        ].map(([label, p]) =>
          row(
            [
              label,
              pct(p.cores.server ?? 0),
              pct(p.cores.postgres ?? 0),
              pct(p.cores.client ?? 0),
              pct(p.cores.floor ?? 0),
              pct(p.cores.other ?? 0),
              pct(p.cores.idle ?? 0),
              (((p.cores.server ?? 0) + (p.cores.floor ?? 0)) * (1e6 / p.stats.perSecond)).toFixed(0),
              ((p.cores.postgres ?? 0) * (1e6 / p.stats.perSecond)).toFixed(0),
            ],
            [34, 8, 8, 8, 8, 8, 8, 8, 10],
          ),
        ),
      ),
      "",
      "CPU per call, server (RPC) against the floor (same service code in-process), and PostgreSQL per call RPC vs floor:",
      ...results.flatMap(({ name, rpc, floor: f }) => {
        if (f === undefined) return [];
        const server = ((rpc.cores.server ?? 0) * 1e6) / rpc.stats.perSecond;
        const floorUs = ((f.cores.floor ?? 0) * 1e6) / f.stats.perSecond;
        const pgRpc = ((rpc.cores.postgres ?? 0) * 1e6) / rpc.stats.perSecond;
        const pgFloor = ((f.cores.postgres ?? 0) * 1e6) / f.stats.perSecond;
        return [
          `  ${name}: server ${server.toFixed(0)} µs vs floor ${floorUs.toFixed(0)} µs = ${(server / floorUs).toFixed(2)}x; PostgreSQL ${pgRpc.toFixed(0)} vs ${pgFloor.toFixed(0)} µs`,
        ];
      }),
      `server (${SERVER === "dist" ? "node dist/src/main.js" : "node --import tsx src/main.ts"}): ready ${readyMs.toFixed(0)} ms after spawn; RSS after load ${treeRssMiB(serverPid)} MiB`,
      ...hotChecks,
      `errors: ${results.map((r) => `${r.name}=${r.rpc.stats.errors}${r.floor ? `/${r.floor.stats.errors}` : ""}${r.rpc.stats.firstError ? ` (${r.rpc.stats.firstError})` : ""}`).join(", ")}`,
      "stmts = statements sent to PostgreSQL per call (the floor runs the same service code; BEGIN and COMMIT count)",
    ];

    if (args.has("scale")) {
      const small = await rpcPhase("token");
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`insert into sessions (session_id, user_id, token_hash, started_at, last_accessed_at, expires_at, attributes, roles, claims_overlay)
        select 'bulk-' || g, 'bulk-user-' || (g % 100000), encode(sha256(('bulk' || g)::bytea), 'hex'), now(), now(), now() + interval '1 day',
               '{"ip_address":"","user_agent":""}', '[]', '{"plan":["pro"]}'
        from generate_series(1, 1000000 - ${SESSIONS}) g`);
      await c.query("vacuum analyze sessions");
      const total = (await c.query("select count(*)::int as n from sessions")).rows[0].n as number;
      await c.end();
      const big = await rpcPhase("token");
      const [s, b] = [small.stats, big.stats];
      lines.push(
        `scale: authenticate by token p50/p99 ${s.p50Ms.toFixed(2)}/${s.p99Ms.toFixed(2)} ms at ${SESSIONS} sessions vs ${b.p50Ms.toFixed(2)}/${b.p99Ms.toFixed(2)} ms at ${total} sessions (p50 ratio ${(b.p50Ms / s.p50Ms).toFixed(2)}x; ${s.perSecond.toFixed(0)} vs ${b.perSecond.toFixed(0)} calls/s)`,
      );
    }

    if (args.has("soak")) {
      const soakSeconds = Number(args.get("soak") === "true" ? 300 : args.get("soak"));
      const samples: number[] = [treeRssMiB(serverPid)];
      const sampler = setInterval(() => samples.push(treeRssMiB(serverPid)), 15_000);
      const soak = await rpcPhase("mixed", soakSeconds);
      clearInterval(sampler);
      samples.push(treeRssMiB(serverPid));
      lines.push(
        `soak ${soakSeconds} s of mixed authenticate (${soak.stats.perSecond.toFixed(0)} calls/s, p99 ${soak.stats.p99Ms.toFixed(2)} ms, ${soak.stats.errors} errors): server RSS MiB every 15 s: ${samples.join(" ")}`,
      );
    }

    process.stdout.write(`${lines.join("\n")}\n`);
    await db.destroy();
  } finally {
    load?.child.disconnect();
    if (server !== undefined && server.exitCode === null) {
      const exited = new Promise((r) => server?.once("exit", r));
      server.kill("SIGTERM");
      await exited;
      // The server logs one line per RPC, warm-ups included; they must all be there after shutdown.
      const logged = readFileSync(logPath, "utf8")
        .split("\n")
        .filter((l) => l.includes('"msg":"rpc"')).length;
      process.stdout.write(`server log: ${logged} rpc lines written for ${rpcsSent} RPCs sent\n`);
    }
    closeSync(logFd);
    rmSync(logPath, { force: true });
    await admin.end();
    await adminQuery(`drop database if exists ${dbName} with (force)`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
