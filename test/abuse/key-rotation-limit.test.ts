import { Code, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AdminService } from "../../gen/tessera/admin/v1/admin_service_pb.js";
import { retiredKeyLifetimeMs } from "../../src/keys/key-store.js";
import { expectFailure, testClock } from "../rpc/helpers.js";
import { backends } from "../support/backends.js";
import { startSiblingApp } from "../support/sibling-app.js";
import { sessionTransport, TEST_API_KEY, type TestApp, useTestApp } from "../support/test-app.js";

const SECOND = 1_000;

/** Key ids in the JWKS the app serves. */
async function publishedKids(t: TestApp): Promise<string[]> {
  const res = await fetch(`${t.baseUrl}/.well-known/jwks.json`);
  return ((await res.json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
}

/** Every stored signing key, oldest first. */
async function storedKeys(t: TestApp) {
  return t.app.database.db
    .selectFrom("signing_keys")
    .select(["kid", "created_at", "retired_at"])
    .orderBy("created_at")
    .execute();
}

describe.each(backends())("KEY_ROTATION_MIN_INTERVAL_SECONDS on %s", (backend) => {
  const start = new Date("2032-03-04T05:06:07.000Z");
  const clock = testClock(start);
  // The default interval, 60 seconds.
  const t = useTestApp(backend, {}, { clock });
  const admin = () => createClient(AdminService, t.transport("grpc"));

  it("refuses a rotation while the newest key is younger than the interval, saying when the next is allowed", async () => {
    const [first] = await storedKeys(t);
    const madeAt = new Date(first?.created_at ?? 0);
    expect(madeAt).toEqual(start);
    const kids = await publishedKids(t);
    const refused = await expectFailure(admin().rotateSigningKey({}), Code.ResourceExhausted, "KEY_ROTATION_TOO_SOON");
    const nextAllowed = new Date(madeAt.getTime() + 60 * SECOND).toISOString();
    expect(refused.metadata).toEqual({
      limit: "KEY_ROTATION_MIN_INTERVAL_SECONDS",
      next_allowed_at: nextAllowed,
      retry_after_seconds: "60",
    });
    expect(refused.message).toContain(`the next rotation is allowed at ${nextAllowed}`);

    clock.set(new Date(madeAt.getTime() + 60 * SECOND - 1));
    const stillRefused = await expectFailure(
      admin().rotateSigningKey({}),
      Code.ResourceExhausted,
      "KEY_ROTATION_TOO_SOON",
    );
    expect(stillRefused.metadata.retry_after_seconds).toBe("1");
    expect(await publishedKids(t)).toEqual(kids);
    expect(await storedKeys(t)).toHaveLength(1);

    clock.set(new Date(madeAt.getTime() + 60 * SECOND));
    const rotated = await admin().rotateSigningKey({});
    expect(rotated.publishedKids).toEqual([rotated.kid, ...kids]);
  });

  it("a tight loop of 50 rotations changes nothing: the JWKS does not grow", async () => {
    clock.advance(60 * SECOND);
    const first = await admin().rotateSigningKey({});
    let rotated = 0;
    for (let i = 0; i < 50; i++) {
      clock.advance(SECOND);
      await admin()
        .rotateSigningKey({})
        .then(
          () => rotated++,
          () => undefined,
        );
    }
    expect(rotated).toBe(0);
    expect(await publishedKids(t)).toEqual(first.publishedKids);
  });

  it("replicas agree: two instances rotating at once make one new key, and the other is refused", async () => {
    // Its own pool on PostgreSQL; the limit is checked in the database under the table lock.
    const sibling = await startSiblingApp(t);
    const siblingAdmin = () => createClient(AdminService, sessionTransport(sibling.baseUrl, "grpc", TEST_API_KEY));
    try {
      clock.advance(60 * SECOND);
      const before = (await storedKeys(t)).length;
      const results = await Promise.allSettled([
        admin().rotateSigningKey({}),
        siblingAdmin().rotateSigningKey({}),
        admin().rotateSigningKey({}),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect(await storedKeys(t)).toHaveLength(before + 1);
      // And the instance that did not rotate refuses too, though its own keys are not reloaded yet.
      await expectFailure(siblingAdmin().rotateSigningKey({}), Code.ResourceExhausted, "KEY_ROTATION_TOO_SOON");
    } finally {
      await sibling.close();
    }
  });
});

describe.each(backends())("MAX_PUBLISHED_SIGNING_KEYS on %s", (backend) => {
  const clock = testClock(new Date("2032-05-06T07:08:09.000Z"));
  const t = useTestApp(backend, { KEY_ROTATION_MIN_INTERVAL_SECONDS: "0", MAX_PUBLISHED_SIGNING_KEYS: "3" }, { clock });
  const admin = () => createClient(AdminService, t.transport("grpc"));
  const lifetime = () => retiredKeyLifetimeMs(t.app.config.jwtTtlSeconds);

  it("refuses the rotation that would publish a fourth key until the oldest retired one leaves the JWKS", async () => {
    await admin().rotateSigningKey({});
    clock.advance(10 * SECOND);
    const second = await admin().rotateSigningKey({});
    expect(second.publishedKids).toHaveLength(3);
    const [oldest] = (await storedKeys(t)).filter((key) => key.retired_at !== null);
    const leavesAt = new Date(new Date(oldest?.retired_at ?? 0).getTime() + lifetime());

    clock.advance(10 * SECOND);
    const refused = await expectFailure(admin().rotateSigningKey({}), Code.ResourceExhausted, "KEY_ROTATION_TOO_SOON");
    expect(refused.metadata.limit).toBe("MAX_PUBLISHED_SIGNING_KEYS");
    expect(refused.metadata.next_allowed_at).toBe(leavesAt.toISOString());
    expect(await publishedKids(t)).toEqual(second.publishedKids);

    clock.set(new Date(leavesAt.getTime() - 1));
    await expectFailure(admin().rotateSigningKey({}), Code.ResourceExhausted, "KEY_ROTATION_TOO_SOON");
    clock.set(leavesAt);
    const third = await admin().rotateSigningKey({});
    expect(third.deletedKeys).toBe(1);
    expect(third.publishedKids).toEqual([third.kid, ...second.publishedKids.slice(0, 2)]);
  });

  it("however many rotations are tried, the JWKS never holds more than 3 keys", async () => {
    let rotated = 0;
    for (let i = 0; i < 40; i++) {
      clock.advance(5 * 60 * SECOND);
      const ok = await admin()
        .rotateSigningKey({})
        .then(
          () => true,
          () => false,
        );
      if (ok) rotated++;
      expect((await publishedKids(t)).length).toBeLessThanOrEqual(3);
    }
    // 40 tries over 200 minutes: keys leave the JWKS 65 minutes after retiring, so some rotations get through.
    expect(rotated).toBeGreaterThan(2);
    expect(rotated).toBeLessThan(40);
    expect((await storedKeys(t)).length).toBeLessThanOrEqual(4);
  });

  it("a reload imports only keys it has not seen", async () => {
    const before = t.app.keys.published();
    const active = t.app.keys.active();
    await t.app.keys.reload();
    expect(t.app.keys.active()).toBe(active);
    const reloaded = t.app.keys.published();
    expect(reloaded).toHaveLength(before.length);
    for (const [i, key] of reloaded.entries()) expect(key).toBe(before[i]);

    clock.advance(lifetime());
    await admin().rotateSigningKey({});
    const after = t.app.keys.published();
    expect(t.app.keys.active()).not.toBe(active);
    // The previous active key is kept, as the very object imported before.
    expect(after.find((key) => key.kid === active.kid)).toBe(before.find((key) => key.kid === active.kid));
  });
});
