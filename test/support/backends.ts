import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** A database engine the suite runs against. */
export type Backend = "pglite" | "postgres";

/** PGlite always; PostgreSQL too whenever DATABASE_URL is set. */
export function backends(): Backend[] {
  return process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
}

/** A fresh, empty database for one test file, and how to throw it away. */
export interface TestDatabase {
  readonly env: Record<string, string>;
  drop(): Promise<void>;
}

/** Creates an isolated database: a new PGlite directory, or a new PostgreSQL database on DATABASE_URL's server. */
export async function createTestDatabase(backend: Backend): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), "tessera-test-"));
  if (backend === "pglite") {
    return { env: { DATA_DIR: dataDir }, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const adminUrl = process.env.DATABASE_URL;
  if (adminUrl === undefined) throw new Error("DATABASE_URL is not set");
  const scratch = await createScratchDatabase(adminUrl);
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: scratch.url },
    drop: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await scratch.drop();
    },
  };
}

/** A throwaway PostgreSQL database on an existing server. */
export interface ScratchDatabase {
  readonly url: string;
  /** Runs SQL on the scratch database with a short-lived connection. */
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** Creates a database named tessera_test_<random> next to `adminUrl`'s. */
export async function createScratchDatabase(adminUrl: string): Promise<ScratchDatabase> {
  const name = `tessera_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query<R>(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
