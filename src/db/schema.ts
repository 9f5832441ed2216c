/** The database's tables as Kysely sees them. Times are UNIX milliseconds (bigint columns). */
import type { ColumnType, Generated, Insertable, RawBuilder, Selectable, Updateable } from "kysely";

import type { Ordering } from "../domain/ordering.ts";
import type {
  CancelReason,
  DeactivationReason,
  PayloadStatus,
  Plan,
  WebhookStatus,
} from "../domain/types.ts";

export type { DeactivationReason, PayloadStatus, Plan, WebhookStatus };

/** A JSON object as stored in jsonb columns. */
export type JsonObject = { [key: string]: unknown };

/** The `organizations` table. */
export interface OrganizationTable {
  id: string;
  name: string;
  plan: Plan;
  created_at: number;
  updated_at: number;
}

/** The `api_keys` table: only a SHA-256 hash of each key is kept. */
export interface ApiKeyTable {
  id: string;
  organization_id: string;
  key_hash: string;
  prefix: string;
  created_at: number;
  revoked_at: number | null;
}

/** A signing secret rotated out, still signing until `expiresAt`. */
export interface RetiredSecret {
  secret: string;
  expiresAt: number;
}

/** The `webhooks` table; rows are soft-deleted so their payloads keep their history. */
export interface WebhookTable {
  id: string;
  organization_id: string;
  name: string;
  url: string;
  verify_token: string | null;
  signing_secret: string;
  /** Secrets rotated out, each signing until its `expiresAt` (24 hours after its rotation). */
  retired_signing_secrets: ColumnType<
    RetiredSecret[],
    RawBuilder<RetiredSecret[]>,
    RawBuilder<RetiredSecret[]>
  >;
  /** Exact event names, `prefix.*` wildcards or `*` (src/domain/event_types.ts). */
  event_types: ColumnType<string[], RawBuilder<string[]>, RawBuilder<string[]>>;
  /** Custom request headers sent with every attempt; names lowercase. */
  headers: ColumnType<
    Record<string, string>,
    RawBuilder<Record<string, string>>,
    RawBuilder<Record<string, string>>
  >;
  /** At most this many POSTs per second across every worker; null for no limit. */
  rate_limit: ColumnType<number | null, number | null | undefined, number | null>;
  /** `object`: the payloads of one object are POSTed in event order (src/domain/ordering.ts). */
  ordering: ColumnType<Ordering, Ordering | undefined, Ordering>;
  status: WebhookStatus;
  deactivation_reason: DeactivationReason | null;
  deactivated_at: number | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

/** The `contacts` table. */
export interface ContactTable {
  id: string;
  organization_id: string;
  fields: JsonObject;
  created_at: number;
  updated_at: number;
}

/** The `events` table: everything that happened, with the answer given to its publisher. */
export interface EventTable {
  id: string;
  organization_id: string;
  type: string;
  object: string;
  object_id: string | null;
  /** When the object itself was created: `items.createdAt` in the payload body. */
  object_created_at: number;
  data: JsonObject;
  created_at: number;
  /** The order events were recorded in, across the whole database. */
  seq: Generated<number>;
}

/** The `event_type_counts` table: how often each event type happened in an organization. */
export interface EventTypeCountTable {
  organization_id: string;
  name: string;
  /** One of COUNT_SHARDS rows per type, so events of one type seldom wait on each other's lock. */
  shard: number;
  count: number;
  last_seen_at: number;
}

/** The `payloads` table: one event for one webhook, the unit of delivery. */
export interface PayloadTable {
  id: string;
  event_id: string;
  webhook_id: string;
  organization_id: string;
  status: PayloadStatus;
  /** Incremented by each resend; attempts are numbered from 1 within a run. */
  run: number;
  attempt_count: number;
  first_sent_at: number | null;
  last_body: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  /** Why the payload ended `cancelled`; null otherwise. */
  cancel_reason: CancelReason | null;
  /** The object it is ordered by (src/domain/ordering.ts); null when the payload is not ordered. */
  order_key: ColumnType<string | null, string | null | undefined, string | null>;
  /** Its event's `seq`, set when `order_key` is: its place in that object's order. */
  seq: ColumnType<number | null, number | null | undefined, number | null>;
}

/** The `attempts` table: one HTTP POST of a payload. */
export interface AttemptTable {
  id: string;
  payload_id: string;
  run: number;
  number: number;
  started_at: number;
  duration_ms: number;
  response_status: number | null;
  error: string | null;
  response_body: string | null;
  /** When the answer or error was recorded; null while the POST may still be in flight. */
  finished_at: number | null;
}

/** The `webhook_requests` table: changes asked of a webhook's lifecycle workflow (an outbox). */
export interface WebhookRequestTable {
  id: string;
  webhook_id: string;
  kind: "deactivate" | "reactivate" | "delete";
  reason: DeactivationReason | null;
  created_at: number;
  /** When the lifecycle workflow applied (or refused) it; null until then. */
  applied_at: number | null;
}

/**
 * The `webhook_flow` table: a webhook's pace, shared by every worker (src/usecases/flow.ts). A
 * webhook has a row once it has a rate limit or once its receiver signalled an overload.
 */
export interface WebhookFlowTable {
  webhook_id: string;
  /** The next free send slot (UNIX ms, with fractions). */
  next_slot_at: Generated<number>;
  /** When the POSTs of about the last second were let through (UNIX ms, with fractions). */
  recent_sends: Generated<number[]>;
  /** No POST before this (a `Retry-After`). */
  paused_until: Generated<number>;
  /** The pace Herald chose after an overload signal (POSTs per second); null when none. */
  pace: number | null;
  pace_changed_at: Generated<number>;
  /** The last overload signal: a status (429, 503), or null for a timeout. */
  signal_status: number | null;
  signal_error: string | null;
  signal_at: number | null;
}

/** The `reconciler_cursors` table: where each of the reconciler's sweeps goes on next time. */
export interface ReconcilerCursorTable {
  name: string;
  position: string;
  updated_at: number;
}

/** The `dashboard_sessions` table: the SHA-256 of each session id, never the id itself. */
export interface DashboardSessionTable {
  id_hash: string;
  /**
   * How it was opened: with an API key (`api_key_id`), by a portal link (`organization_id`), or
   * with the admin token (`admin_token_hash`; `organization_id` is the organization it has open).
   */
  kind: ColumnType<"key" | "portal" | "admin", "key" | "portal" | "admin" | undefined, never>;
  api_key_id: string | null;
  organization_id: ColumnType<string | null, string | null | undefined, string | null>;
  admin_token_hash: ColumnType<string | null, string | null | undefined, never>;
  created_at: number;
  expires_at: number;
}

/** The `portal_links` table: the SHA-256 of each link's token, used once, short-lived. */
export interface PortalLinkTable {
  id_hash: string;
  organization_id: string;
  /** How long the session the link opens lasts. */
  session_ms: number;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** The `idempotency_keys` table: each key of a keyed write, for 24 hours, with its event if any. */
export interface IdempotencyKeyTable {
  organization_id: string;
  key: string;
  request_hash: string;
  event_id: string | null;
  created_at: number;
}

/** Herald's whole database. */
export interface Database {
  organizations: OrganizationTable;
  api_keys: ApiKeyTable;
  webhooks: WebhookTable;
  contacts: ContactTable;
  events: EventTable;
  event_type_counts: EventTypeCountTable;
  payloads: PayloadTable;
  attempts: AttemptTable;
  webhook_requests: WebhookRequestTable;
  webhook_flow: WebhookFlowTable;
  reconciler_cursors: ReconcilerCursorTable;
  dashboard_sessions: DashboardSessionTable;
  portal_links: PortalLinkTable;
  idempotency_keys: IdempotencyKeyTable;
}

/** A row of `organizations`. */
export type Organization = Selectable<OrganizationTable>;
/** A row of `webhooks`. */
export type Webhook = Selectable<WebhookTable>;
/** A new row of `webhooks`. */
export type NewWebhook = Insertable<WebhookTable>;
/** A change to a row of `webhooks`. */
export type WebhookUpdate = Updateable<WebhookTable>;
/** A row of `contacts`. */
export type Contact = Selectable<ContactTable>;
/** A row of `events`. */
export type Event = Selectable<EventTable>;
/** A row of `payloads`. */
export type Payload = Selectable<PayloadTable>;
/** A row of `attempts`. */
export type Attempt = Selectable<AttemptTable>;
