/**
 * Statements built with Kysely and compiled once per process: each run sends the SQL text Kysely compiled,
 * with this run's parameters in the positions Kysely gave them. Parameters are named, so they cannot be
 * passed in the wrong order.
 */
import {
  type CompiledQuery,
  createQueryId,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryExecutorProvider,
  type QueryResult,
} from "kysely";
import type { DatabaseSchema } from "./schema.js";

/** What a statement is built into: a query builder or a raw `sql` template. */
interface Buildable<R> {
  compile(provider: QueryExecutorProvider): CompiledQuery<R>;
}

/** A statement compiled once; `execute` runs it with new parameters. */
export interface PreparedStatement<P, R> {
  /** The SQL text, as Kysely compiled it. */
  readonly sql: string;
  execute(db: Kysely<DatabaseSchema>, params: P): Promise<QueryResult<R>>;
}

const NAME = Symbol("prepared statement parameter");

/** Where one compiled parameter comes from: a named parameter of each run, or a value fixed at build. */
type Slot = { readonly name: string } | { readonly fixed: unknown };

/** Builds without a database: PostgreSQL and PGlite both compile with Kysely's PostgresQueryCompiler. */
let builder: Kysely<DatabaseSchema> | undefined;
function coldBuilder(): Kysely<DatabaseSchema> {
  builder ??= new Kysely<DatabaseSchema>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  return builder;
}

/**
 * Builds a statement once: `build` gets a builder and stand-ins for the parameters (read them only as values
 * handed to Kysely, never computed on). Throws when a parameter read does not reach the compiled parameters
 * on its own (it was computed on, or nested in a value).
 */
export function prepare<P extends object, R>(
  build: (db: Kysely<DatabaseSchema>, params: P) => Buildable<R>,
): PreparedStatement<P, R> {
  const read = new Set<string>();
  const standIns = new Proxy(
    {},
    {
      get(_target, name) {
        if (typeof name !== "string") return undefined;
        read.add(name);
        return { [NAME]: name };
      },
    },
  ) as P;
  const compiled = build(coldBuilder(), standIns).compile(coldBuilder());
  const slots: Slot[] = compiled.parameters.map((value) =>
    typeof value === "object" && value !== null && NAME in value ? { name: value[NAME] as string } : { fixed: value },
  );
  for (const name of read) {
    if (!slots.some((slot) => "name" in slot && slot.name === name)) {
      throw new Error(`prepared statement: parameter "${name}" is not sent as a parameter of its own`);
    }
  }
  const { sql, query } = compiled;
  return {
    sql,
    execute(db, params) {
      const values = params as Record<string, unknown>;
      const parameters = slots.map((slot) => ("name" in slot ? values[slot.name] : slot.fixed));
      const run: CompiledQuery<R> = { sql, parameters, query, queryId: createQueryId() };
      const executor = db.getExecutor();
      // Plugins see each run as Kysely shows them a query (the node it was compiled from, then the result),
      // so observers count it; one that would change the statement cannot, its SQL is fixed.
      if (executor.plugins.length > 0 && executor.transformQuery(query, run.queryId) !== query) {
        throw new Error("prepared statement: a plugin changed the statement, whose SQL is compiled once");
      }
      return executor.executeQuery(run);
    },
  };
}

/** One prepared statement per variant, each prepared on its first use. */
export function preparedVariants<K, S>(make: (variant: K) => S): (variant: K) => S {
  const made = new Map<K, S>();
  return (variant) => {
    let statement = made.get(variant);
    if (statement === undefined) {
      statement = make(variant);
      made.set(variant, statement);
    }
    return statement;
  };
}
