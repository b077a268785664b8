import { Code, createClient } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { UserService } from "../../gen/tessera/users/v1/user_service_pb.js";
import { expectFailure } from "../rpc/helpers.js";
import { backends } from "../support/backends.js";
import { PROTOCOLS, TEST_API_KEY, useTestApp } from "../support/test-app.js";
import { adminClients, storedSessionsText, storedUserText } from "./helpers.js";

describe.each(backends())("UserService on %s", (backend) => {
  const t = useTestApp(backend, { USER_METADATA_MAX_BYTES: "256" });

  describe.each(PROTOCOLS)("over %s", (protocol) => {
    const id = (name: string) => `${name}-${protocol}`;

    it("GetUser of a user id without a record is NOT_FOUND / USER_NOT_FOUND", async () => {
      const { users } = adminClients(t, protocol);
      await expectFailure(users.getUser({ userId: id("nobody") }), Code.NotFound, "USER_NOT_FOUND");
    });

    it("UpdateUser creates the user at version 1 and GetUser reads it back", async () => {
      const { users } = adminClients(t, protocol);
      const res = await users.updateUser({
        userId: id("create"),
        trustedMetadata: { plan: "pro", org: { id: 1 } },
        untrustedMetadata: { theme: "dark" },
        roles: { roles: ["admin", "billing"] },
      });
      expect(res.user).toMatchObject({
        userId: id("create"),
        trustedMetadata: { plan: "pro", org: { id: 1 } },
        untrustedMetadata: { theme: "dark" },
        roles: ["admin", "billing"],
        version: 1n,
      });
      expect(res.user?.createdAt).toEqual(res.user?.updatedAt);
      const got = await users.getUser({ userId: id("create") });
      expect(got.user).toEqual(res.user);
    });

    it("metadata fields are RFC 7396 merge patches; roles are kept unless given, replaced when given", async () => {
      const { users } = adminClients(t, protocol);
      const userId = id("merge");
      await users.updateUser({
        userId,
        trustedMetadata: { a: 1, org: { id: 1, tier: "gold" } },
        roles: { roles: ["r1"] },
      });
      const res = await users.updateUser({ userId, trustedMetadata: { a: null, org: { tier: null, name: "x" } } });
      expect(res.user?.trustedMetadata).toEqual({ org: { id: 1, name: "x" } });
      expect(res.user?.roles).toEqual(["r1"]);
      expect(res.user?.version).toBe(2n);
      const cleared = await users.updateUser({ userId, roles: { roles: [] } });
      expect(cleared.user?.roles).toEqual([]);
      expect(cleared.user?.version).toBe(3n);
    });

    it("an update that changes nothing keeps the version", async () => {
      const { users } = adminClients(t, protocol);
      const userId = id("noop");
      await users.updateUser({ userId, trustedMetadata: { a: 1 } });
      const res = await users.updateUser({ userId, trustedMetadata: { a: 1 } });
      expect(res.user?.version).toBe(1n);
    });

    it("expected_version is a compare-and-set: 0 for a new user, ABORTED / USER_VERSION_MISMATCH otherwise, nothing written", async () => {
      const { users } = adminClients(t, protocol);
      const userId = id("cas");
      await expectFailure(
        users.updateUser({ userId, trustedMetadata: { a: 1 }, expectedVersion: 1n }),
        Code.Aborted,
        "USER_VERSION_MISMATCH",
      );
      expect(await storedUserText(t, userId)).toBe("");
      await users.updateUser({ userId, trustedMetadata: { a: 1 }, expectedVersion: 0n });
      const before = await storedUserText(t, userId);
      const miss = await expectFailure(
        users.updateUser({ userId, trustedMetadata: { a: 2 }, expectedVersion: 0n }),
        Code.Aborted,
        "USER_VERSION_MISMATCH",
      );
      expect(miss.metadata).toEqual({ expected: "0", actual: "1" });
      expect(await storedUserText(t, userId)).toBe(before);
      const ok = await users.updateUser({ userId, trustedMetadata: { a: 2 }, expectedVersion: 1n });
      expect(ok.user?.trustedMetadata).toEqual({ a: 2 });
    });

    it("refuses metadata over USER_METADATA_MAX_BYTES or too deep, leaving the record byte-identical", async () => {
      const { users } = adminClients(t, protocol);
      const userId = id("limits");
      await users.updateUser({ userId, untrustedMetadata: { keep: true } });
      const before = await storedUserText(t, userId);
      const big = await expectFailure(
        users.updateUser({ userId, trustedMetadata: { blob: "x".repeat(300) } }),
        Code.InvalidArgument,
        "METADATA_TOO_LARGE",
      );
      expect(big.metadata).toMatchObject({ field: "trusted_metadata", limit: "256" });
      expect(big.message).not.toContain("xxxx");
      let deep: Record<string, unknown> = {};
      for (let i = 0; i < 40; i++) deep = { d: deep };
      await expectFailure(
        users.updateUser({ userId, untrustedMetadata: deep as never }),
        Code.InvalidArgument,
        "INVALID_METADATA",
      );
      await expectFailure(users.updateUser({ userId, roles: { roles: [""] } }), Code.InvalidArgument, "INVALID_ROLES");
      await expectFailure(users.updateUser({ userId: "" }), Code.InvalidArgument, "INVALID_USER_ID");
      expect(await storedUserText(t, userId)).toBe(before);
    });

    it("DeleteUser revokes every session of the user and deletes the record, in one transaction", async () => {
      const { users } = adminClients(t, protocol);
      const client = t.client(protocol);
      const userId = id("delete");
      await users.updateUser({ userId, trustedMetadata: { a: 1 } });
      const sessions = await Promise.all([1, 2, 3].map(() => client.createSession({ userId })));
      const res = await users.deleteUser({ userId });
      expect(res.sessionsRevoked).toBe(3);
      await expectFailure(users.getUser({ userId }), Code.NotFound, "USER_NOT_FOUND");
      for (const s of sessions) {
        await expectFailure(
          client.authenticateSession({ credential: { case: "sessionToken", value: s.sessionToken } }),
          Code.NotFound,
          "SESSION_NOT_FOUND",
        );
      }
      await expectFailure(users.deleteUser({ userId }), Code.NotFound, "USER_NOT_FOUND");
    });

    it("DeleteUser of a user id with sessions but no record revokes them", async () => {
      const { users } = adminClients(t, protocol);
      const userId = id("delete-no-record");
      const created = await t.client(protocol).createSession({ userId });
      expect((await users.deleteUser({ userId })).sessionsRevoked).toBe(1);
      expect((await storedSessionsText(t, userId))[0]).toContain(created.session?.sessionId ?? "?");
      await expectFailure(
        t.client(protocol).authenticateSession({ credential: { case: "sessionToken", value: created.sessionToken } }),
        Code.NotFound,
        "SESSION_NOT_FOUND",
      );
    });
  });

  describe("ListUsers", () => {
    const prefix = "list-";
    beforeAll(async () => {
      const { users } = adminClients(t);
      for (let i = 0; i < 25; i++) await users.updateUser({ userId: `${prefix}${String(i).padStart(2, "0")}` });
    });

    it("pages through every user exactly once in user_id order", async () => {
      const { users } = adminClients(t);
      const seen: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await users.listUsers({ pageSize: 10, pageToken });
        expect(page.users.length).toBeLessThanOrEqual(10);
        seen.push(...page.users.map((u) => u.userId));
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken !== "" && pages < 100);
      const listed = seen.filter((userId) => userId.startsWith(prefix));
      expect(listed).toEqual(Array.from({ length: 25 }, (_, i) => `${prefix}${String(i).padStart(2, "0")}`));
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort()).toEqual(seen);
    });

    it("refuses a malformed page token and a negative page size", async () => {
      const { users } = adminClients(t);
      await expectFailure(users.listUsers({ pageToken: "not a token" }), Code.InvalidArgument, "INVALID_PAGE_TOKEN");
      await expectFailure(users.listUsers({ pageToken: "eyJ4IjoxfQ" }), Code.InvalidArgument, "INVALID_PAGE_TOKEN");
      await expectFailure(users.listUsers({ pageSize: -1 }), Code.InvalidArgument, "INVALID_PAGE_SIZE");
    });

    it("refuses an expected_version not written as a decimal integer in Connect JSON", async () => {
      const res = await fetch(`${t.baseUrl}/tessera.users.v1.UserService/UpdateUser`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
        body: JSON.stringify({ userId: "hex-version", expectedVersion: "0x0" }),
      });
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toContain("INVALID_REQUEST_FIELD");
      expect(await storedUserText(t, "hex-version")).toBe("");
    });

    it("needs an API key", async () => {
      const anonymous = createClient(UserService, t.transport("connect", null));
      await expectFailure(anonymous.listUsers({}), Code.Unauthenticated, "INVALID_API_KEY");
      await expectFailure(anonymous.updateUser({ userId: "x" }), Code.Unauthenticated, "INVALID_API_KEY");
    });
  });
});
