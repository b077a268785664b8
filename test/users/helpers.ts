import { type Client, createClient } from "@connectrpc/connect";
import { sql } from "kysely";
import { AdminService } from "../../gen/tessera/admin/v1/admin_service_pb.js";
import { UserService } from "../../gen/tessera/users/v1/user_service_pb.js";
import type { Protocol, TestApp } from "../support/test-app.js";

/** UserService and AdminService clients of a test app over `protocol`. */
export function adminClients(
  t: TestApp,
  protocol: Protocol = "connect",
): { users: Client<typeof UserService>; admin: Client<typeof AdminService> } {
  const transport = t.transport(protocol);
  return { users: createClient(UserService, transport), admin: createClient(AdminService, transport) };
}

/** The stored row of a user, as PostgreSQL prints it, for byte-for-byte comparison ("" when absent). */
export async function storedUserText(t: TestApp, userId: string): Promise<string> {
  const result = await sql<{ row: string }>`select u::text as row from users u where user_id = ${userId}`.execute(
    t.app.database.db,
  );
  return result.rows[0]?.row ?? "";
}

/** Every session row of a user, as PostgreSQL prints them, in session_id order. */
export async function storedSessionsText(t: TestApp, userId: string): Promise<string[]> {
  const result = await sql<{
    row: string;
  }>`select s::text as row from sessions s where user_id = ${userId} order by session_id`.execute(t.app.database.db);
  return result.rows.map((r) => r.row);
}

/** The claim template row as PostgreSQL prints it. */
export async function storedTemplateText(t: TestApp): Promise<string> {
  const result = await sql<{ row: string }>`select c::text as row from claim_template c`.execute(t.app.database.db);
  return result.rows[0]?.row ?? "";
}
