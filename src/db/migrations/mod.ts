/** Every migration, listed statically so bundling and `deno compile` keep them. */
import type { Migration, MigrationProvider } from "kysely/migration";
import * as m0001 from "./0001_initial.ts";
import * as m0002 from "./0002_delivery_core.ts";
import * as m0003 from "./0003_retired_secrets.ts";
import * as m0004 from "./0004_dashboard_sessions.ts";
import * as m0005 from "./0005_idempotency_keys.ts";
import * as m0006 from "./0006_retention.ts";
import * as m0007 from "./0007_subscriptions.ts";
import * as m0008 from "./0008_flow_control.ts";
import * as m0010 from "./0010_platform.ts";
import * as m0011 from "./0011_ordering.ts";
import * as m0012 from "./0012_portal.ts";

const MIGRATIONS: Record<string, Migration> = {
  "0001_initial": m0001,
  "0002_delivery_core": m0002,
  "0003_retired_secrets": m0003,
  "0004_dashboard_sessions": m0004,
  "0005_idempotency_keys": m0005,
  "0006_retention": m0006,
  "0007_subscriptions": m0007,
  "0008_flow_control": m0008,
  "0010_platform": m0010,
  "0011_ordering": m0011,
  "0012_portal": m0012,
};

/** Hands Kysely's Migrator the static list above. */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
};
