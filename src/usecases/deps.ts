/** What the use cases work with: the database, Temporal and the delivery settings. */
import type { Client } from "@temporalio/client";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";
import type { DeliverySettings, DeliveryStart } from "../temporal/deliveries.ts";

/** The use cases' dependencies, built once by the composition root. */
export interface UseCaseDeps {
  db: Kysely<Database>;
  temporal: Client;
  /** Herald's delivery task queue (TEMPORAL_TASK_QUEUE). */
  taskQueue: string;
  delivery: DeliverySettings;
  /** Fault injection handed in by tests: runs between an event's commit and its starts. */
  beforeStart?: () => Promise<void>;
  /** Starts committed payloads' workflows behind the answer (the API's); without it, callers wait. */
  starter?: { enqueue(payloads: DeliveryStart[]): Promise<void> };
}
