import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { spawnTessera } from "../ops/child.js";
import { backends, createTestDatabase, type TestDatabase } from "../support/backends.js";
import { TEST_API_KEY } from "../support/test-app.js";

const POLICY = {
  resources: [{ resource_id: "documents", description: "Docs", actions: ["read", "write"] }],
  roles: [{ role_id: "editor", description: "", permissions: [{ resource_id: "documents", actions: ["*"] }] }],
  scopes: [],
};

describe.each(backends())("src/cli/rbac-policy.ts (npm run rbac-policy) on %s", (backend) => {
  let database: TestDatabase | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await database?.drop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    database = undefined;
    dir = undefined;
  });

  /** Runs the script to the end; its exit code, stdout and stderr. */
  async function run(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
    const child = spawnTessera("src/cli/rbac-policy.ts", { ...database?.env, API_KEYS: TEST_API_KEY }, args);
    const code = await child.exited;
    return { code, stdout: child.stdout(), stderr: child.stderr() };
  }

  it("sets a policy from a file, prints it back, and refuses an invalid one naming the entry, changing nothing", async () => {
    database = await createTestDatabase(backend);
    dir = mkdtempSync(join(tmpdir(), "tessera-rbac-cli-"));
    const file = join(dir, "policy.json");
    writeFileSync(file, JSON.stringify(POLICY));
    const set = await run(["set", file]);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toStrictEqual({ version: "1" });
    const got = await run(["get"]);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toStrictEqual(POLICY);

    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({ ...POLICY, roles: [{ role_id: "x", permissions: [{ resource_id: "nope", actions: ["*"] }] }] }),
    );
    const refused = await run(["set", bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("INVALID_RBAC_POLICY");
    expect(refused.stderr).toContain("roles[0].permissions[0].resource_id");
    expect(JSON.parse((await run(["get"])).stdout)).toStrictEqual(POLICY);
  });
});
