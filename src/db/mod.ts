/** Opens Herald's database: PostgreSQL through postgres.js, or PGlite in-process. */
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, sql } from "kysely";
import { Migrator } from "kysely/migration";
import { PostgresJSDialect } from "kysely-postgres-js";
import postgres from "postgres";
import type { PGlite } from "@electric-sql/pglite";
import type { Database } from "./schema.ts";
import { migrationProvider } from "./migrations/mod.ts";
import { log } from "../log.ts";

/** An open database and how to close it. */
export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: "postgres" | "pglite";
  close(): Promise<void>;
}

const INT8_OID = 20;

let guardInstalled = false;

/**
 * postgres.js, on Deno, can run a write it had scheduled after its socket closed, which throws
 * from a timer and would end the process. The query itself has already failed and the pool
 * reconnects, so that one error is logged and the process goes on.
 */
function guardClosedSocketWrites(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  globalThis.addEventListener("error", (event) => {
    const err = event.error;
    if (
      err instanceof TypeError && err.message.includes("reading 'write'") &&
      (err.stack ?? "").includes("postgres/src/connection.js")
    ) {
      event.preventDefault();
      log.warn("a PostgreSQL connection closed during a write; the pool reconnects");
    }
  });
}

/** Connects to PostgreSQL at `url` with postgres.js; bigint columns come back as numbers. */
export function openPostgres(url: string, options: { max?: number } = {}): DatabaseHandle {
  guardClosedSocketWrites();
  const client = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connect_timeout: 10,
    types: {
      bigint: {
        to: INT8_OID,
        from: [INT8_OID],
        serialize: (value: unknown) => String(value),
        parse: (value: string) => Number(value),
      },
    },
  });
  const db = new Kysely<Database>({ dialect: new PostgresJSDialect({ postgres: client }) });
  // A bounded end: a query lost with a dropped connection must not hold the process open.
  return { db, kind: "postgres", close: () => client.end({ timeout: 5 }) };
}

/** Opens (or creates) a PGlite database in `dir`; one connection, so access is serialised. */
export async function openPglite(dir: string): Promise<DatabaseHandle> {
  const { PGlite } = await import("@electric-sql/pglite");
  await Deno.mkdir(dir, { recursive: true });
  const pg = await PGlite.create(dir, {
    parsers: { [INT8_OID]: (value: string) => Number(value) },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: pglitePool(pg) }) });
  return {
    db,
    kind: "pglite",
    close: async () => {
      await db.destroy();
      await pg.close();
    },
  };
}

/** PGlite is one session: hand it out to one Kysely connection at a time. */
function pglitePool(pg: PGlite): PostgresPool {
  let queue = Promise.resolve();
  const client: PostgresPoolClient = {
    query: (async (text: string, params?: readonly unknown[]) => {
      const result = await pg.query(text, params as unknown[] | undefined);
      const command = text.trimStart().slice(0, 6).toUpperCase();
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length, command };
      // deno-lint-ignore no-explicit-any
    }) as any,
    release: () => {},
  };
  return {
    options: {},
    connect: () => {
      let release!: () => void;
      const turn = queue;
      queue = new Promise<void>((resolve) => (release = resolve));
      return turn.then(() => ({ ...client, release: () => release() }));
    },
    end: () => Promise.resolve(),
  };
}

/** Opens the database the configuration names: PostgreSQL at `databaseUrl`, else PGlite. */
export function openDatabase(
  config: { databaseUrl: string | undefined; dataDir: string },
): Promise<DatabaseHandle> {
  return config.databaseUrl
    ? Promise.resolve(openPostgres(config.databaseUrl))
    : openPglite(`${config.dataDir}/pglite`);
}

/** Brings the schema up to date; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error) {
    throw new Error(`Migration ${failed?.migrationName ?? "(unknown)"} failed: ${String(error)}`, {
      cause: error,
    });
  }
  return (results ?? []).map((r) => r.migrationName);
}

/** Answers whether the database takes a query. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

/** A JSON value for a jsonb column; the text cast keeps postgres.js from encoding it twice. */
export function jsonb<T>(value: T) {
  return sql<T>`cast(cast(${JSON.stringify(value)} as text) as jsonb)`;
}
