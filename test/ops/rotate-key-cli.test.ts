import { decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { type App, createApp } from "../../src/app.js";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { backends, createTestDatabase, type TestDatabase } from "../support/backends.js";
import { TEST_API_KEY } from "../support/test-app.js";
import { spawnTessera } from "./child.js";

describe.each(backends())("src/cli/rotate-key.ts (npm run rotate-key) on %s", (backend) => {
  let database: TestDatabase | undefined;
  let app: App | undefined;
  afterEach(async () => {
    await app?.close();
    await database?.drop();
    app = undefined;
    database = undefined;
  });

  const open = (env: Record<string, string>) =>
    createApp(parseConfig({ ...env, API_KEYS: TEST_API_KEY, HOST: "127.0.0.1", PORT: "0" }), {
      logger: createLogger("silent"),
    });

  it("rotates the configured database's signing key; JWTs of the previous key keep verifying", async () => {
    database = await createTestDatabase(backend);
    app = await open(database.env);
    const issued = await app.sessions.create({
      userId: "cli-user",
      durationMinutes: 60,
      customClaims: { plan: "pro" },
      attributes: { ipAddress: "", userAgent: "" },
      roles: [],
    });
    const oldKid = app.keys.active().kid;
    // The embedded database takes one process at a time, so the server stops for the script.
    await app.close();
    app = undefined;

    // The key was made a moment ago; the interval limit is tested on its own below.
    const child = spawnTessera("src/cli/rotate-key.ts", {
      ...database.env,
      API_KEYS: TEST_API_KEY,
      KEY_ROTATION_MIN_INTERVAL_SECONDS: "0",
    });
    expect(await child.exited).toBe(0);
    const output = child.lines[0] as { kid: string; published_kids: string[]; deleted_keys: number };
    expect(output.kid).not.toBe(oldKid);
    expect(output.published_kids).toEqual([output.kid, oldKid]);
    expect(output.deleted_keys).toBe(0);

    app = await open(database.env);
    expect(app.keys.active().kid).toBe(output.kid);
    const refreshed = await app.sessions.authenticate({
      credential: { kind: "jwt", jwt: issued.sessionJwt },
      durationMinutes: undefined,
      patch: undefined,
      expectedClaimsVersion: undefined,
    });
    expect(refreshed.session.customClaims).toEqual({ plan: "pro" });
    expect(decodeProtectedHeader(refreshed.sessionJwt).kid).toBe(output.kid);
  });

  it("refuses a rotation within KEY_ROTATION_MIN_INTERVAL_SECONDS of the newest key: says when, exits 75, changes nothing", async () => {
    database = await createTestDatabase(backend);
    app = await open(database.env);
    const kid = app.keys.active().kid;
    const keysBefore = await app.database.db.selectFrom("signing_keys").selectAll().execute();
    await app.close();
    app = undefined;

    // The default interval (60 s): the key was made a moment ago.
    const child = spawnTessera("src/cli/rotate-key.ts", { ...database.env, API_KEYS: TEST_API_KEY });
    expect(await child.exited).toBe(75);
    expect(child.stdout()).toBe("");
    expect(child.stderr()).toMatch(
      /^key rotation refused: the newest signing key is younger than KEY_ROTATION_MIN_INTERVAL_SECONDS; the next rotation is allowed at \d{4}-\d\d-\d\dT[\d:.]+Z \(retry in \d+ s\); nothing was changed\n$/,
    );

    app = await open(database.env);
    expect(app.keys.active().kid).toBe(kid);
    expect(await app.database.db.selectFrom("signing_keys").selectAll().execute()).toEqual(keysBefore);
  });
});
