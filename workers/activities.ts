/** The worker's activities, built from their dependencies so tests can hand in their own. */
import { ApplicationFailure, Context } from "@temporalio/activity";
import { sql } from "kysely";
import { withinMs } from "../src/deadline.ts";
import { newId } from "../src/domain/ids.ts";
import { buildPayloadBody } from "../src/domain/payload_body.ts";
import { signWebhook } from "../src/domain/signature.ts";
import { type CancelReason, type DeliveryOutcome, OPEN_STATUSES } from "../src/domain/types.ts";
import { checkUrlForm, type UrlPolicy } from "../src/domain/url_policy.ts";
import { type EgressProxy, refusalKey } from "./egress.ts";
import { log } from "../src/log.ts";
import { metrics } from "../src/metrics.ts";
import { sendWebhookRequest } from "../src/temporal/deliveries.ts";
import type { UseCaseDeps } from "../src/usecases/deps.ts";
import {
  resendWebhookRequests,
  settleClosedDeliveries,
  startPendingDeliveries,
} from "../src/usecases/reconcile.ts";
import {
  deleteExpiredRows,
  type RetentionPosition,
  type RetentionProgress,
  type RetentionRequest,
} from "../src/usecases/retention.ts";
import { applyWebhookRequest, recordWebhookRequests } from "../src/usecases/webhook_changes.ts";
import {
  type AttemptInput,
  type AttemptRecord,
  type AttemptResult,
  type DeactivationReason,
  ErrorType,
  type WebhookRequest,
} from "../workflows/types.ts";
import { sendPayload } from "./send.ts";

/** What the activities need from the outside world. */
export interface ActivityDeps extends UseCaseDeps {
  /** The HTTP client for deliveries (trusts TLS_CA_FILE); undefined for the default one. */
  httpClient?: Deno.HttpClient;
  /** Which URLs attempts may reach: the form here, the addresses in the egress proxy. */
  urlPolicy: UrlPolicy;
  /** The proxy every delivery connection goes through (see workers/egress.ts). */
  egress?: EgressProxy;
}

/** How long one database step of an attempt may take before the attempt gives up on it. */
export const DB_STEP_TIMEOUT_MS = 3_000;

/** Runs a database step of an attempt with a deadline: a hung connection is our fault too. */
async function dbStep<T>(step: string, run: () => Promise<T>): Promise<T> {
  try {
    return await withinMs(run(), DB_STEP_TIMEOUT_MS, "the database");
  } catch (err) {
    throw heraldUnavailable(step, err);
  }
}

/** Herald's own infrastructure failed before sending: retried, never counted. */
function heraldUnavailable(step: string, err: unknown): ApplicationFailure {
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.retryable(`${step}: ${message}`, ErrorType.HeraldUnavailable);
}

/** Builds the activities over their dependencies. */
export function createActivities(deps: ActivityDeps) {
  const { db } = deps;
  const heartbeat = () => Context.current().heartbeat();

  /** Loads what one attempt needs; none of it leaves the worker except in the POST. */
  async function loadAttempt(payloadId: string) {
    return await db.selectFrom("payloads")
      .innerJoin("webhooks", "webhooks.id", "payloads.webhook_id")
      .innerJoin("events", "events.id", "payloads.event_id")
      .select([
        "payloads.status",
        "payloads.run",
        "payloads.cancel_reason",
        "payloads.created_at",
        "webhooks.id as webhook_id",
        "webhooks.url",
        "webhooks.status as webhook_status",
        "webhooks.deleted_at",
        "webhooks.verify_token",
        "webhooks.signing_secret",
        "webhooks.retired_signing_secrets",
        "webhooks.headers",
        "events.type",
        "events.object",
        "events.object_id",
        "events.object_created_at",
        "events.id as event_id",
        "events.data",
      ])
      .where("payloads.id", "=", payloadId)
      .executeTakeFirst();
  }

  /**
   * Claims attempt `number` of the run before sending, in one statement: the payload becomes
   * `delivering` (its first send time set once) and the attempt's row is inserted, unique per
   * (payload, run, number), so a retried attempt finds its claim instead of POSTing again.
   */
  async function claimAttempt(input: AttemptInput, now: number) {
    const { rows: [row] } = await sql<
      { first_sent_at: number | null; open: boolean; claimed: boolean }
    >`with payload as (
        update payloads set status = 'delivering', attempt_count = ${input.number}::integer,
          first_sent_at = coalesce(first_sent_at, ${now}::bigint), updated_at = ${now}::bigint
        where id = ${input.payloadId} and run = ${input.run}::integer
          and status in ('pending', 'delivering')
        returning first_sent_at
      ), claim as (
        insert into attempts (id, payload_id, run, number, started_at, duration_ms)
        select ${newId("att")}::text, ${input.payloadId}::text, ${input.run}::integer,
          ${input.number}::integer, ${now}::bigint, 0 from payload
        on conflict (payload_id, run, number) do nothing
        returning id
      )
      select (select first_sent_at from payload) as first_sent_at,
        exists (select 1 from payload) as open, exists (select 1 from claim) as claimed`
      .execute(db);
    if (!row?.open) return undefined;
    if (row.claimed) return { claimed: true as const, firstSentAt: row.first_sent_at ?? now };
    const earlier = await db.selectFrom("attempts").selectAll()
      .where("payload_id", "=", input.payloadId).where("run", "=", input.run)
      .where("number", "=", input.number).executeTakeFirstOrThrow();
    return { claimed: false as const, earlier };
  }

  /** Writes an attempt's outcome in one statement; a 200 also ends the payload `delivered`. */
  async function recordAttempt(record: AttemptRecord): Promise<void> {
    const done = Date.now();
    const delivered = record.responseStatus === 200;
    await sql`with attempt as (
        update attempts set duration_ms = ${record.durationMs}::integer,
          response_status = ${record.responseStatus}::integer, error = ${record.error}::text,
          response_body = ${record.responseBody}::text, finished_at = ${done}::bigint
        where payload_id = ${record.payloadId} and run = ${record.run}::integer
          and number = ${record.number}::integer
      )
      update payloads set updated_at = ${done}::bigint,
        last_body = coalesce(${record.body}::text, last_body),
        status = case when ${delivered}::boolean and status in ('pending', 'delivering')
          then 'delivered' else status end,
        finished_at = case when ${delivered}::boolean and status in ('pending', 'delivering')
          then ${done}::bigint else finished_at end
      where id = ${record.payloadId} and run = ${record.run}::integer`.execute(db);
    if (delivered) metrics.deliveries.inc({ outcome: "delivered" });
  }

  /** Ends a run whose payload can no longer be sent, when nobody else recorded why. */
  async function stop(
    input: AttemptInput,
    reason: CancelReason | "run_superseded",
  ): Promise<AttemptResult> {
    if (reason !== "run_superseded") {
      const now = Date.now();
      await dbStep("Could not record the cancellation", () =>
        db.updateTable("payloads")
          .set({ status: "cancelled", cancel_reason: reason, finished_at: now, updated_at: now })
          .where("id", "=", input.payloadId).where("run", "=", input.run)
          .where("status", "in", OPEN_STATUSES).execute());
    }
    return { kind: "stopped", reason };
  }

  return untilCancelled({
    /**
     * One POST of a payload, at most once per (payload, run, number). Throws only for Herald's
     * faults before sending; every outcome after the POST is returned, and counts.
     */
    async attemptDelivery(input: AttemptInput): Promise<AttemptResult> {
      const { payloadId, run, number } = input;
      const row = await dbStep("Could not load the payload", () => loadAttempt(payloadId));
      if (!row || row.run !== run) return { kind: "stopped", reason: "run_superseded" };
      if (!(OPEN_STATUSES as readonly string[]).includes(row.status)) {
        return { kind: "stopped", reason: row.cancel_reason ?? "run_superseded" };
      }
      if (row.deleted_at !== null) return await stop(input, "webhook_deleted");
      if (row.webhook_status !== "active") return await stop(input, "webhook_deactivated");

      const now = Date.now();
      const claim = await dbStep("Could not claim the attempt", () => claimAttempt(input, now));
      if (!claim) return { kind: "stopped", reason: "run_superseded" };
      if (!claim.claimed) return settleEarlierClaim(input, claim.earlier);

      const body = JSON.stringify(buildPayloadBody({
        payloadId,
        event: row.type,
        payloadCreatedAt: row.created_at,
        attempt: number,
        firstSentAt: claim.firstSentAt,
        object: row.object,
        objectId: row.object_id ?? row.event_id,
        objectCreatedAt: row.object_created_at,
        data: row.data,
        verifyToken: row.verify_token,
      }));
      const secrets = [
        row.signing_secret,
        ...row.retired_signing_secrets.filter((r) => r.expiresAt > now).map((r) => r.secret),
      ];
      const timestampSeconds = Math.floor(now / 1000);
      const signature = await signWebhook(secrets, payloadId, timestampSeconds, body);
      // The URL's form is checked again (the policy may have changed since it was saved); its
      // addresses are checked by the egress proxy, on the connection itself.
      const formRefusal = checkUrlForm(row.url, deps.urlPolicy);
      const result = formRefusal
        ? { status: null, error: `Refused: the URL ${formRefusal}`, body: null, durationMs: 0 }
        : await sendPayload(
          {
            url: row.url,
            body,
            payloadId,
            timestampSeconds,
            signature,
            timeoutMs: input.timeoutMs,
            headers: row.headers,
          },
          deps.httpClient,
        );
      const proxyError = result.status === null
        ? deps.egress?.takeRefusal(hostPort(row.url))
        : undefined;
      if (proxyError) result.error = proxyError;
      const refusal = result.error?.startsWith("Refused:") ?? false;

      const delivered = result.status === 200;
      metrics.attempts.inc({ outcome: delivered ? "success" : refusal ? "refused" : "failure" });
      if (!refusal) metrics.attemptDuration.observe(result.durationMs / 1000);
      log.info("attempt", {
        payloadId,
        webhookId: row.webhook_id,
        workflowId: Context.current().info.workflowExecution?.workflowId,
        run,
        attempt: number,
        status: result.status,
        error: result.error,
        durationMs: result.durationMs,
      });
      const record: AttemptRecord = {
        payloadId,
        run,
        number,
        durationMs: result.durationMs,
        responseStatus: result.status,
        error: result.error,
        responseBody: result.body,
        body,
      };
      const summary = result.error ?? `answered ${result.status}`;
      try {
        await withinMs(recordAttempt(record), DB_STEP_TIMEOUT_MS, "the database");
        return { kind: "sent", delivered, summary, recorded: true };
      } catch (err) {
        // The receiver got it: the attempt counts, and the workflow records it once we can.
        log.warn("could not record an attempt; the workflow records it", {
          payloadId,
          error: String(err),
        });
        return { kind: "sent", delivered, summary, recorded: false, record };
      }
    },

    /** Records an attempt whose outcome the attempt itself could not write. */
    async recordAttempt(record: AttemptRecord): Promise<void> {
      await recordAttempt(record);
    },

    /** Records how the run ended; a payload that ended otherwise meanwhile keeps its status. */
    async finishDelivery(
      input: {
        payloadId: string;
        run: number;
        outcome: DeliveryOutcome;
        cancelReason?: CancelReason;
      },
    ): Promise<DeliveryOutcome> {
      const now = Date.now();
      const updated = await db.updateTable("payloads")
        .set({
          status: input.outcome,
          cancel_reason: input.cancelReason ?? null,
          finished_at: now,
          updated_at: now,
        })
        .where("id", "=", input.payloadId).where("run", "=", input.run)
        .where("status", "in", OPEN_STATUSES)
        .returning("status").executeTakeFirst();
      if (updated) {
        metrics.deliveries.inc({ outcome: input.outcome });
        return input.outcome;
      }
      const row = await db.selectFrom("payloads").select(["status", "run"])
        .where("id", "=", input.payloadId).executeTakeFirst();
      if (row?.run !== input.run) return "cancelled";
      return row.status === "delivered" || row.status === "failed" ? row.status : "cancelled";
    },

    /** Compensation: records and signals the webhook's deactivation, once per run. */
    async requestDeactivation(
      input: { webhookId: string; reason: DeactivationReason; payloadId: string; run: number },
    ): Promise<void> {
      const [request] = await recordWebhookRequests(
        db,
        [input.webhookId],
        { kind: "deactivate", reason: input.reason },
        `req_${input.payloadId}_${input.run}`,
      );
      await sendWebhookRequest(deps.temporal, deps.taskQueue, input.webhookId, request!);
    },

    /** Applies one lifecycle request to the database, once. */
    async applyWebhookRequest(input: { webhookId: string; request: WebhookRequest }) {
      return await applyWebhookRequest(db, input.webhookId, input.request);
    },

    /** Reconciler: starts payloads left pending. */
    async startPendingDeliveries(input: { graceMs: number }): Promise<number> {
      return await startPendingDeliveries(deps, input.graceMs, heartbeat);
    },

    /** Reconciler: ends `cancelled` the payloads of terminated deliveries. */
    async settleClosedDeliveries(): Promise<number> {
      return await settleClosedDeliveries(deps, heartbeat);
    },

    /** Reconciler: sends lost webhook change requests again, and enforces the plan rule. */
    async resendWebhookRequests(input: { graceMs: number }): Promise<number> {
      return await resendWebhookRequests(deps, input.graceMs, heartbeat);
    },

    /** Retention: deletes old final payloads, their attempts and old events, in batches. */
    async deleteExpiredRows(request: RetentionRequest): Promise<RetentionProgress> {
      const context = Context.current();
      // A retry goes on from the last batch its previous try heartbeated.
      const resumed = context.info.heartbeatDetails as RetentionPosition | null | undefined;
      return await deleteExpiredRows(
        db,
        resumed ? { ...request, position: resumed } : request,
        (position) => context.heartbeat(position),
      );
    },
  });

  /**
   * An earlier try of this attempt claimed it: it counts, whether or not it sent. Its outcome
   * is returned when recorded; otherwise the attempt is recorded as lost.
   */
  function settleEarlierClaim(
    input: AttemptInput,
    earlier: { response_status: number | null; error: string | null; finished_at: number | null },
  ): AttemptResult {
    if (earlier.finished_at !== null) {
      return {
        kind: "sent",
        delivered: earlier.response_status === 200,
        summary: earlier.error ?? `answered ${earlier.response_status}`,
        recorded: true,
      };
    }
    const record: AttemptRecord = {
      payloadId: input.payloadId,
      run: input.run,
      number: input.number,
      durationMs: 0,
      responseStatus: null,
      error: "Herald stopped during this attempt; the receiver may have received it",
      responseBody: null,
      body: null,
    };
    return { kind: "sent", delivered: false, summary: record.error!, recorded: false, record };
  }
}

/**
 * Each activity ends when it is cancelled (a worker's stop, past its grace time), even while it
 * waits on a database connection that died: a hung query must not hold the worker's stop.
 */
// deno-lint-ignore no-explicit-any
function untilCancelled<T extends Record<string, (...args: any[]) => Promise<unknown>>>(
  activities: T,
): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, run]) => [
      name,
      // deno-lint-ignore no-explicit-any
      (...args: any[]) => Promise.race([run(...args), Context.current().cancelled]),
    ]),
  ) as T;
}

/** `host:port` of a URL, as the egress proxy keys its refusals. */
function hostPort(text: string): string {
  const url = new URL(text);
  return refusalKey(url.hostname, Number(url.port || (url.protocol === "https:" ? 443 : 80)));
}

/** The activities' type, imported by workflows as a type only. */
export type Activities = ReturnType<typeof createActivities>;
