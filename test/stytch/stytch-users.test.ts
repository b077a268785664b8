import { createClient } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/tessera/admin/v1/admin_service_pb.js";
import { backends } from "../support/backends.js";
import { expectStytchError, type StytchTestApp, startStytchApp } from "./helpers.js";

/** RFC 3339 UTC with whole seconds, as Stytch sends timestamps. */
const SECONDS_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** A user as the SDK's `User` type declares it, for a user with this data. */
function stytchUser(userId: string, data: { trusted?: object; untrusted?: object; roles?: string[] } = {}) {
  return {
    user_id: userId,
    emails: [],
    status: "active",
    phone_numbers: [],
    webauthn_registrations: [],
    providers: [],
    totps: [],
    crypto_wallets: [],
    biometric_registrations: [],
    is_locked: false,
    roles: data.roles ?? [],
    name: { first_name: "", middle_name: "", last_name: "" },
    created_at: expect.stringMatching(SECONDS_UTC),
    trusted_metadata: data.trusted ?? {},
    untrusted_metadata: data.untrusted ?? {},
  };
}

/** An object nested `depth` levels deep (the object itself is level 1). */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < depth; level++) value = { d: value };
  return value;
}

/** `count` top-level keys k0, k1, …, each holding its index. */
function keys(count: number, prefix = "k"): Record<string, number> {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => [`${prefix}${index}`, index]));
}

// Stytch's users.get / users.update / users.delete through the official `stytch` SDK, unmodified.
describe.each(backends())("stytch users through the SDK on %s", (backend) => {
  let s: StytchTestApp;
  let userCount = 0;
  const newUser = () => `sdk-users-${++userCount}`;
  beforeAll(async () => {
    s = await startStytchApp(backend);
  });
  afterAll(() => s?.close());

  describe("users.update and users.get", () => {
    it("creates a missing user and answers with the shapes the SDK types declare", async () => {
      const user = newUser();
      const updated = await s.client.users.update({
        user_id: user,
        trusted_metadata: { plan: "pro" },
        untrusted_metadata: { theme: "dark" },
        roles: ["editor"],
      });
      const expected = stytchUser(user, { trusted: { plan: "pro" }, untrusted: { theme: "dark" }, roles: ["editor"] });
      expect(updated).toStrictEqual({
        status_code: 200,
        request_id: expect.stringMatching(/^request-id-/),
        user_id: user,
        emails: [],
        phone_numbers: [],
        crypto_wallets: [],
        user: expected,
      });
      const got = await s.client.users.get({ user_id: user });
      // users.get is flat: the user's fields at the top level, no nested `user`.
      expect(got).toStrictEqual({ status_code: 200, request_id: expect.stringMatching(/^request-id-/), ...expected });
      expect(got.created_at).toBe(updated.user.created_at);
    });

    it("round-trips a user id with a slash, a space and non-ASCII characters in the path", async () => {
      const user = `team/a b-ünï-${newUser()}`;
      await s.client.users.update({ user_id: user, trusted_metadata: { ok: true } });
      const got = await s.client.users.get({ user_id: user });
      expect([got.user_id, got.trusted_metadata]).toStrictEqual([user, { ok: true }]);
    });

    // Stytch's metadata update: merged at the top level only; a top-level null deletes; any other value replaces.
    it.each([
      {
        name: "adds a key",
        current: { key1: "value1" },
        patch: { key2: "value2" },
        result: { key1: "value1", key2: "value2" },
      },
      { name: "replaces a key", current: { key1: "value1" }, patch: { key1: "value2" }, result: { key1: "value2" } },
      {
        name: "replaces a nested object whole (no deep merge)",
        current: { profile: { plan: "free", seats: 3 }, other: 1 },
        patch: { profile: { plan: "pro" } },
        result: { profile: { plan: "pro" }, other: 1 },
      },
      {
        name: "replaces an array whole",
        current: { key1: [{ deep: "value1" }], other_key: "other_value" },
        patch: { key1: [{ deep: "value1" }, { deep: "value2" }] },
        result: { key1: [{ deep: "value1" }, { deep: "value2" }], other_key: "other_value" },
      },
      { name: "deletes with a top-level null", current: { a: 1, b: 2 }, patch: { a: null }, result: { b: 2 } },
      {
        name: "empties with a null for every key",
        current: { a: 1, b: { c: 2 } },
        patch: { a: null, b: null },
        result: {},
      },
      {
        name: "keeps a nested null as a value",
        current: { profile: { plan: "free" } },
        patch: { profile: { plan: null } },
        result: { profile: { plan: null } },
      },
    ])("$name, in trusted_metadata and untrusted_metadata alike", async ({ current, patch, result }) => {
      const user = newUser();
      await s.client.users.update({ user_id: user, trusted_metadata: current, untrusted_metadata: current });
      const updated = await s.client.users.update({
        user_id: user,
        trusted_metadata: patch,
        untrusted_metadata: patch,
      });
      const got = await s.client.users.get({ user_id: user });
      for (const shown of [updated.user, got]) {
        expect(shown.trusted_metadata).toStrictEqual(result);
        expect(shown.untrusted_metadata).toStrictEqual(result);
      }
    });

    it("changes only what the request names: roles stay without roles, metadata stays without metadata", async () => {
      const user = newUser();
      const first = await s.client.users.update({
        user_id: user,
        trusted_metadata: { t: 1 },
        untrusted_metadata: { u: 1 },
        roles: ["a", "b"],
      });
      await s.client.users.update({ user_id: user, untrusted_metadata: { u: 2 } });
      await s.client.users.update({ user_id: user, roles: ["c"] });
      const got = await s.client.users.get({ user_id: user });
      expect([got.trusted_metadata, got.untrusted_metadata, got.roles]).toStrictEqual([{ t: 1 }, { u: 2 }, ["c"]]);
      expect(got.created_at).toBe(first.user.created_at);
      await s.client.users.update({ user_id: user, roles: [] });
      expect((await s.client.users.get({ user_id: user })).roles).toStrictEqual([]);
    });

    it("creates a user with empty metadata and no roles from an update that names nothing", async () => {
      const user = newUser();
      const updated = await s.client.users.update({ user_id: user });
      expect(updated.user).toStrictEqual(stytchUser(user));
    });

    it("allows 20 top-level keys, and deletes and adds in one update as long as 20 remain", async () => {
      const user = newUser();
      await s.client.users.update({ user_id: user, trusted_metadata: keys(20) });
      const updated = await s.client.users.update({ user_id: user, trusted_metadata: { k0: null, extra: 1 } });
      const { k0: _deleted, ...rest } = keys(20);
      expect(updated.user.trusted_metadata).toStrictEqual({ ...rest, extra: 1 });
    });
  });

  describe("unknown users", () => {
    it("answers user_not_found for users.get of an unknown user", async () => {
      const err = await expectStytchError(s.client.users.get({ user_id: newUser() }), 404, "user_not_found");
      expect(err.error_message).toBe("User could not be found.");
    });

    it("answers user_not_found for users.get of a user id that has sessions but no record", async () => {
      const user = newUser();
      await s.create({ user_id: user });
      await expectStytchError(s.client.users.get({ user_id: user }), 404, "user_not_found");
    });

    it("answers user_not_found for users.delete of a user with neither a record nor a session", async () => {
      await expectStytchError(s.client.users.delete({ user_id: newUser() }), 404, "user_not_found");
    });

    it.each([
      "get",
      "update",
      "delete",
    ] as const)("answers invalid_user_id for users.%s of a 129-character id", async (call) => {
      const user_id = "u".repeat(129);
      const pending =
        call === "get"
          ? s.client.users.get({ user_id })
          : call === "update"
            ? s.client.users.update({ user_id, trusted_metadata: { a: 1 } })
            : s.client.users.delete({ user_id });
      await expectStytchError(pending, 400, "invalid_user_id");
    });
  });

  describe("refused updates change nothing", () => {
    /** A user with known data, and a check that it is still exactly that. */
    async function existingUser() {
      const user = newUser();
      const before = await s.client.users.update({
        user_id: user,
        trusted_metadata: { t: 1 },
        untrusted_metadata: { u: 1 },
        roles: ["r"],
      });
      return {
        user,
        async unchanged() {
          const { request_id: _r, status_code: _s, ...after } = await s.client.users.get({ user_id: user });
          expect(after).toStrictEqual(before.user);
        },
      };
    }

    it.each([
      ["name", { name: { first_name: "Jane" } }],
      ["attributes", { attributes: { ip_address: "203.0.113.7" } }],
      ["external_id", { external_id: "ext-1" }],
    ])("refuses %s with user_field_not_supported", async (field, extra) => {
      const { user, unchanged } = await existingUser();
      const err = await expectStytchError(
        s.client.users.update({ user_id: user, trusted_metadata: { t: 2 }, ...extra }),
        400,
        "user_field_not_supported",
      );
      expect(err.error_message).toContain(field);
      await unchanged();
      // And a missing user is not created.
      const missing = newUser();
      await expectStytchError(s.client.users.update({ user_id: missing, ...extra }), 400, "user_field_not_supported");
      await expectStytchError(s.client.users.get({ user_id: missing }), 404, "user_not_found");
    });

    it.each([
      ["a string", "not an object"],
      ["an array", [1, 2]],
      ["a number", 7],
      ["nesting deeper than 32 levels", nested(33)],
    ])("refuses metadata that is %s with metadata_invalid_format", async (_what, value) => {
      const { user, unchanged } = await existingUser();
      for (const field of ["trusted_metadata", "untrusted_metadata"]) {
        await expectStytchError(
          s.client.users.update({ user_id: user, [field]: value as Record<string, unknown> }),
          400,
          "metadata_invalid_format",
        );
      }
      await unchanged();
    });

    it("refuses metadata over 4096 bytes with metadata_too_large, without echoing it", async () => {
      const { user, unchanged } = await existingUser();
      const err = await expectStytchError(
        s.client.users.update({ user_id: user, untrusted_metadata: { big: `s3cret-${"x".repeat(4096)}` } }),
        400,
        "metadata_too_large",
      );
      expect(err.message).not.toContain("s3cret");
      await unchanged();
    });

    it("refuses a 21st top-level key with metadata_too_many_keys, counted after the merge", async () => {
      const { user, unchanged } = await existingUser();
      await expectStytchError(
        s.client.users.update({ user_id: user, trusted_metadata: keys(21) }),
        400,
        "metadata_too_many_keys",
      );
      // untrusted_metadata { u } plus 20 more keys is 21.
      await expectStytchError(
        s.client.users.update({ user_id: user, untrusted_metadata: keys(20, "x") }),
        400,
        "metadata_too_many_keys",
      );
      await unchanged();
    });

    it.each([
      ["not a list", "admin", "bad_request"],
      ["a list holding a number", ["admin", 1], "bad_request"],
      ["a list holding an empty name", [""], "invalid_rbac_role_id"],
    ])("refuses roles that are %s with %s", async (_what, roles, errorType) => {
      const { user, unchanged } = await existingUser();
      await expectStytchError(s.client.users.update({ user_id: user, roles: roles as string[] }), 400, errorType);
      await unchanged();
    });
  });

  describe("users.delete", () => {
    it("revokes every session of the user and deletes the record", async () => {
      const user = newUser();
      await s.client.users.update({ user_id: user, trusted_metadata: { plan: "pro" } });
      const first = await s.create({ user_id: user });
      const second = await s.create({ user_id: user });
      const other = await s.create({ user_id: newUser() });
      const res = await s.client.users.delete({ user_id: user });
      expect(res).toStrictEqual({ status_code: 200, request_id: expect.stringMatching(/^request-id-/), user_id: user });
      await expectStytchError(s.client.users.get({ user_id: user }), 404, "user_not_found");
      for (const session of [first, second]) {
        await expectStytchError(
          s.client.sessions.authenticate({ session_token: session.session_token }),
          404,
          "session_not_found",
        );
        await expectStytchError(
          s.client.sessions.authenticate({ session_jwt: session.session_jwt }),
          404,
          "session_not_found",
        );
      }
      expect((await s.client.sessions.get({ user_id: user })).sessions).toStrictEqual([]);
      // Another user's session is untouched.
      await s.client.sessions.authenticate({ session_token: other.session_token });
      await expectStytchError(s.client.users.delete({ user_id: user }), 404, "user_not_found");
    });

    it("revokes the sessions of a user id that has sessions but no record", async () => {
      const user = newUser();
      const session = await s.create({ user_id: user });
      expect(await s.client.users.delete({ user_id: user })).toMatchObject({ status_code: 200, user_id: user });
      await expectStytchError(
        s.client.sessions.authenticate({ session_token: session.session_token }),
        404,
        "session_not_found",
      );
    });
  });

  describe("the user in sessions.authenticate and the create extension", () => {
    it("is the user record, as users.get shows it", async () => {
      const user = newUser();
      await s.client.users.update({
        user_id: user,
        trusted_metadata: { plan: "pro" },
        untrusted_metadata: { theme: "dark" },
        roles: ["editor"],
      });
      const { request_id: _r, status_code: _s, ...record } = await s.client.users.get({ user_id: user });
      const created = await s.create({ user_id: user });
      expect(created.user).toStrictEqual(record);
      const res = await s.client.sessions.authenticate({ session_token: created.session_token });
      expect(res.user).toStrictEqual(record);
    });

    it("follows a users.update made after the session started", async () => {
      const user = newUser();
      const created = await s.create({ user_id: user });
      expect(created.user).not.toHaveProperty("created_at");
      await s.client.users.update({ user_id: user, roles: ["late"] });
      const res = await s.client.sessions.authenticate({ session_token: created.session_token });
      expect(res.user).toStrictEqual(stytchUser(user, { roles: ["late"] }));
    });
  });

  describe("with a custom claim template", () => {
    const admin = () => createClient(AdminService, s.t.transport("connect"));
    beforeAll(async () => {
      await admin().setClaimTemplate({
        template: '{"plan": {{ user.trusted_metadata.plan }}, "blob": {{ user.trusted_metadata.blob }}}',
      });
    });
    afterAll(async () => {
      await admin().setClaimTemplate({ template: "" });
    });

    it("sessions.authenticate returns the claim users.update set, in the session, the JWT and authenticateJwtLocal", async () => {
      const user = newUser();
      const created = await s.create({ user_id: user, session_custom_claims: { own: 1 } });
      expect(created.session.custom_claims).toStrictEqual({ own: 1 });

      await s.client.users.update({ user_id: user, trusted_metadata: { plan: "pro" } });
      const res = await s.client.sessions.authenticate({ session_token: created.session_token });
      expect(res.session.custom_claims).toStrictEqual({ plan: "pro", own: 1 });
      expect(decodeJwt(res.session_jwt)).toMatchObject({ plan: "pro", own: 1 });
      const local = await s.client.sessions.authenticateJwtLocal({ session_jwt: res.session_jwt });
      expect(local.custom_claims).toStrictEqual({ plan: "pro", own: 1 });
      expect(res.user.trusted_metadata).toStrictEqual({ plan: "pro" });

      // A top-level null deletes the key, so the variable is missing and the claim is left out.
      await s.client.users.update({ user_id: user, trusted_metadata: { plan: null } });
      const after = await s.client.sessions.authenticate({ session_token: created.session_token });
      expect(after.session.custom_claims).toStrictEqual({ own: 1 });
      expect(decodeJwt(after.session_jwt)).not.toHaveProperty("plan");
    });

    it("a nested object replaced by users.update reaches the claims whole", async () => {
      const user = newUser();
      const created = await s.create({ user_id: user });
      await s.client.users.update({ user_id: user, trusted_metadata: { plan: { tier: "pro", seats: 5 } } });
      await s.client.users.update({ user_id: user, trusted_metadata: { plan: { tier: "team" } } });
      const res = await s.client.sessions.authenticate({ session_token: created.session_token });
      expect(res.session.custom_claims).toStrictEqual({ plan: { tier: "team" } });
      const local = await s.client.sessions.authenticateJwtLocal({ session_jwt: res.session_jwt });
      expect(local.custom_claims).toStrictEqual({ plan: { tier: "team" } });
    });

    it("refuses a users.update that would push a live session's claims over 4 KB with custom_claims_too_large", async () => {
      const user = newUser();
      await s.client.users.update({ user_id: user, trusted_metadata: { plan: "pro" } });
      const created = await s.create({ user_id: user, session_custom_claims: { pad: "p".repeat(3000) } });
      const err = await expectStytchError(
        s.client.users.update({ user_id: user, trusted_metadata: { blob: `s3cret-${"b".repeat(2000)}` } }),
        400,
        "custom_claims_too_large",
      );
      expect(err.message).not.toContain("s3cret");
      expect((await s.client.users.get({ user_id: user })).trusted_metadata).toStrictEqual({ plan: "pro" });
      const res = await s.client.sessions.authenticate({ session_token: created.session_token });
      expect(Object.keys(res.session.custom_claims ?? {}).sort()).toStrictEqual(["pad", "plan"]);
    });

    it("after users.delete, the user's session answers session_not_found", async () => {
      const user = newUser();
      await s.client.users.update({ user_id: user, trusted_metadata: { plan: "pro" } });
      const created = await s.create({ user_id: user });
      expect(created.session.custom_claims).toStrictEqual({ plan: "pro" });
      await s.client.users.delete({ user_id: user });
      await expectStytchError(
        s.client.sessions.authenticate({ session_token: created.session_token }),
        404,
        "session_not_found",
      );
    });
  });
});
