import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import type { KyselyPlugin } from "kysely";
import { PostgresQueryCompiler } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventService, EventType } from "../../gen/tessera/events/v1/event_service_pb.js";
import { expectFailure } from "../rpc/helpers.js";
import { backends } from "../support/backends.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

/** Records the SQL text of every statement the app runs (each run, as its result comes back). */
function statementLog() {
  const compiler = new PostgresQueryCompiler();
  const texts = new Map<unknown, string>();
  const log: string[] = [];
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      texts.set(queryId, compiler.compileQuery(node, queryId).sql);
      return node;
    },
    async transformResult({ queryId, result }) {
      const text = texts.get(queryId);
      texts.delete(queryId);
      if (text !== undefined) log.push(text);
      return result;
    },
  };
  return { plugin, log };
}

describe.each(backends())("the statements of CreateSession on %s", (backend) => {
  const statements = statementLog();
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend, { SWEEP_INTERVAL_SECONDS: "0", MAX_SESSIONS_PER_USER: "1" }, {}, (database) => ({
      ...database,
      db: database.db.withPlugin(statements.plugin),
    }));
  });
  afterAll(() => t?.close());

  it("runs the user's lock, one read and one insert that also writes the session_created event", async () => {
    const events = createClient(EventService, t.transport());
    // The first create also reads the claim template once (compiled per version, per process).
    await t.client().createSession({ userId: "create-warm-up" });
    const { cursor } = await events.listEvents({ afterCursor: "", limit: 100 });
    const mark = statements.log.length;
    const created = await t.client().createSession({ userId: "create-statements" });
    const sent = statements.log.slice(mark);
    expect(sent).toHaveLength(3);
    expect(sent[0]).toMatch(/^select pg_advisory_xact_lock\(/);
    expect(sent[1]).toMatch(/"claim_template".* for key share/s);
    expect(sent[1]).toMatch(/"sessions"/);
    expect(sent[2]).toMatch(/^with inserted as \(insert into "sessions".*\) insert into session_events/s);
    const after = await events.listEvents({ afterCursor: cursor, limit: 100 });
    expect(after.events.map((e) => [EventType[e.type], e.sessionId, e.userId, e.claimsVersion])).toEqual([
      ["SESSION_CREATED", created.session?.sessionId, "create-statements", 0n],
    ]);
    expect(timestampDate(after.events[0]?.time as never)).toEqual(timestampDate(created.session?.startedAt as never));
  });

  it("refuses a create past the cap after the lock and the read, writing nothing", async () => {
    await t.client().createSession({ userId: "create-capped" });
    const mark = statements.log.length;
    await expectFailure(
      t.client().createSession({ userId: "create-capped" }),
      Code.ResourceExhausted,
      "SESSION_LIMIT_REACHED",
    );
    expect(statements.log.slice(mark)).toHaveLength(2);
    const listed = await t.client().listSessions({ userId: "create-capped" });
    expect(listed.sessions).toHaveLength(1);
  });
});
