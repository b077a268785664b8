import { createClient } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/tessera/admin/v1/admin_service_pb.js";
import { UserService } from "../../gen/tessera/users/v1/user_service_pb.js";
import { createScratchDatabase, type ScratchDatabase } from "../support/backends.js";
import { type ServerProcess, spawnServer } from "./server-process.js";

const DATABASE_URL = process.env.DATABASE_URL;

describe.runIf(!!DATABASE_URL)(
  "user and admin claim changes racing authenticate patches, two processes on PostgreSQL",
  () => {
    let db: ScratchDatabase;
    let servers: ServerProcess[] = [];
    const server = (i: number) => servers[i % servers.length] as ServerProcess;

    beforeAll(async () => {
      db = await createScratchDatabase(DATABASE_URL as string);
      servers = await Promise.all([0, 1].map(() => spawnServer(db.url)));
    });
    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await db?.drop();
    });

    it("loses nothing: every patch key lands, every user change shows, claims_version counts every change", async () => {
      const admin = createClient(AdminService, server(0).transport);
      await admin.setClaimTemplate({ template: '{"plan": {{ user.trusted_metadata.plan }}}' });
      const userId = "race-user";
      await createClient(UserService, server(0).transport).updateUser({ userId, trustedMetadata: { plan: "p-1" } });
      const created = await server(0).client().createSession({ userId });
      const credential = { case: "sessionToken", value: created.sessionToken } as const;
      const PATCHES = 40;
      const USER_UPDATES = 10;
      const FANOUTS = 10;
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < Math.max(PATCHES, USER_UPDATES, FANOUTS); i++) {
        if (i < PATCHES) {
          calls.push(
            server(i)
              .client()
              .authenticateSession({ credential, sessionCustomClaims: { [`k${i}`]: i } }),
          );
        }
        if (i < USER_UPDATES) {
          const users = createClient(UserService, server(i + 1).transport);
          calls.push(users.updateUser({ userId, trustedMetadata: { plan: `plan-${i}`, [`m${i}`]: i } }));
        }
        if (i < FANOUTS) {
          calls.push(
            server(i)
              .client()
              .updateUserSessionsClaims({ userId, sessionCustomClaims: { [`a${i}`]: i } }),
          );
        }
      }
      const results = await Promise.allSettled(calls);
      expect(
        results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason)),
      ).toEqual([]);
      const final = await server(1).client().authenticateSession({ credential });
      const claims = decodeJwt(final.sessionJwt);
      for (let i = 0; i < PATCHES; i++) expect(claims[`k${i}`]).toBe(i);
      for (let i = 0; i < FANOUTS; i++) expect(claims[`a${i}`]).toBe(i);
      const user = await createClient(UserService, server(1).transport).getUser({ userId });
      for (let i = 0; i < USER_UPDATES; i++) expect(user.user?.trustedMetadata?.[`m${i}`]).toBe(i);
      expect(claims.plan).toBe(user.user?.trustedMetadata?.plan);
      expect(final.session?.claimsVersion).toBe(BigInt(PATCHES + FANOUTS + USER_UPDATES));
    });
  },
);
