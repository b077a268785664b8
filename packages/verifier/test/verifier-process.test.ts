import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { backends } from "../../../test/support/backends.js";
import { TEST_API_KEY, useTestApp } from "../../../test/support/test-app.js";
import { FAST_FEED_ENV } from "./helpers.js";

const SESSIONS = 200;
const CHILD = fileURLToPath(new URL("./verifier-process.ts", import.meta.url));

describe.each(backends())("a verifier in its own process on %s", (backend) => {
  const t = useTestApp(backend, FAST_FEED_ENV);

  it(`rejects every one of ${SESSIONS} sessions revoked through the API while it verifies their JWTs`, async () => {
    const client = t.client();
    const created = [];
    for (let i = 0; i < SESSIONS; i += 20) {
      created.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(20, SESSIONS - i) }, (_, j) =>
            client.createSession({ userId: `proc-${i + j}`, sessionDurationMinutes: 60 }),
          ),
        )),
      );
    }
    const child = spawn(process.execPath, ["--import", "tsx", CHILD], { stdio: ["pipe", "pipe", "inherit"] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const messages = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const next = async () => JSON.parse(String((await messages.next()).value)) as Record<string, unknown>;
      child.stdin.write(
        `${JSON.stringify({ url: t.baseUrl, apiKey: TEST_API_KEY, jwts: created.map((c) => c.sessionJwt), deadlineMs: 20_000 })}\n`,
      );
      expect(await next()).toEqual({ phase: "ready", accepted: SESSIONS });

      for (let i = 0; i < SESSIONS; i += 20) {
        await Promise.all(
          created
            .slice(i, i + 20)
            .map((c) => client.revokeSession({ target: { case: "sessionId", value: c.session?.sessionId ?? "" } })),
        );
      }
      const done = await next();
      expect(done.phase).toBe("done");
      expect(done.reasons).toEqual(Array.from({ length: SESSIONS }, () => "revoked"));
      expect(await exited).toBe(0);
    } finally {
      child.kill();
    }
  }, 60_000);
});
