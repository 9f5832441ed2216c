/** The worker's activities, built from their dependencies so tests can hand in their own. */
import { ApplicationFailure, Context } from "@temporalio/activity";
import type { Client } from "@temporalio/client";
import type { Kysely } from "kysely";
import type { Database } from "../src/db/schema.ts";
import { withinMs } from "../src/deadline.ts";
import { buildPayloadBody } from "../src/domain/payload_body.ts";
import { signWebhook } from "../src/domain/signature.ts";
import { applyWebhookChange, WAITING_STATUSES } from "../src/domain/webhook_state.ts";
import { type DeliverySettings, signalLifecycle } from "../src/temporal/deliveries.ts";
import { startDeliveries } from "../src/domain/events.ts";
import { log } from "../src/log.ts";
import { metrics } from "../src/metrics.ts";
import {
  type DeactivationReason,
  type DeliveryOutcome,
  ErrorType,
  type WebhookChange,
} from "../workflows/types.ts";
import { sendPayload, type SendResult } from "./send.ts";
import { checkUrlAddresses, checkUrlForm, type UrlPolicy } from "../src/domain/url_policy.ts";

/** What the activities need from the outside world. */
export interface ActivityDeps {
  db: Kysely<Database>;
  temporal: Client;
  taskQueue: string;
  /** The HTTP client for deliveries (trusts TLS_CA_FILE); undefined for the default one. */
  httpClient?: Deno.HttpClient;
  /** Which URLs attempts may reach, checked again at every attempt after DNS resolution. */
  urlPolicy: UrlPolicy;
  /** Delivery settings for the workflows the reconciler starts. */
  delivery: DeliverySettings;
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

/** Our own infrastructure failed: retried, and never counted against the receiver. */
function heraldUnavailable(step: string, err: unknown): ApplicationFailure {
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.retryable(`${step}: ${message}`, ErrorType.HeraldUnavailable);
}

/** Builds the activities over their dependencies. */
export function createActivities(deps: ActivityDeps) {
  const { db } = deps;

  /** Loads what one attempt needs; none of it leaves the worker except in the POST. */
  async function loadAttempt(payloadId: string) {
    return await db.selectFrom("payloads")
      .innerJoin("webhooks", "webhooks.id", "payloads.webhook_id")
      .innerJoin("events", "events.id", "payloads.event_id")
      .select([
        "payloads.status",
        "payloads.run",
        "payloads.attempt_count",
        "payloads.first_sent_at",
        "payloads.created_at",
        "webhooks.id as webhook_id",
        "webhooks.url",
        "webhooks.status as webhook_status",
        "webhooks.deleted_at",
        "webhooks.verify_token",
        "webhooks.signing_secret",
        "webhooks.previous_signing_secret",
        "webhooks.previous_secret_expires_at",
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

  return {
    /** Marks the payload as being delivered; returns the attempts this run already made. */
    async beginDelivery(input: { payloadId: string; run: number }): Promise<number> {
      const row = await db.updateTable("payloads")
        .set({ status: "delivering", updated_at: Date.now() })
        .where("id", "=", input.payloadId).where("run", "=", input.run)
        .where("status", "=", "pending")
        .returning("attempt_count").executeTakeFirst();
      if (row) return row.attempt_count;
      const current = await db.selectFrom("payloads").select("attempt_count")
        .where("id", "=", input.payloadId).executeTakeFirst();
      return current?.attempt_count ?? 0;
    },

    /** One HTTP POST of the payload: the activity the seed's retry policy repeats. */
    async attemptDelivery(
      input: { payloadId: string; run: number; timeoutMs: number },
    ): Promise<{ status: number }> {
      const { payloadId, run } = input;
      const row = await dbStep("Could not load the payload", () => loadAttempt(payloadId));
      if (!row) {
        throw ApplicationFailure.nonRetryable("Payload not found", ErrorType.WebhookInactive);
      }
      if (
        row.deleted_at !== null || row.webhook_status !== "active" || row.run !== run ||
        !(WAITING_STATUSES as readonly string[]).includes(row.status)
      ) {
        throw ApplicationFailure.nonRetryable(
          `Not sent: the webhook is ${row.deleted_at !== null ? "deleted" : row.webhook_status}` +
            ` and the payload ${row.status}`,
          ErrorType.WebhookInactive,
        );
      }

      const now = Date.now();
      const number = row.attempt_count + 1;
      const firstSentAt = row.first_sent_at ?? now;
      if (row.first_sent_at === null) {
        await dbStep(
          "Could not record the first send",
          () =>
            db.updateTable("payloads").set({ first_sent_at: firstSentAt, updated_at: now })
              .where("id", "=", payloadId).where("first_sent_at", "is", null).execute(),
        );
      }

      const body = JSON.stringify(buildPayloadBody({
        payloadId,
        event: row.type,
        payloadCreatedAt: row.created_at,
        attempt: number,
        firstSentAt,
        object: row.object,
        objectId: row.object_id ?? row.event_id,
        objectCreatedAt: row.object_created_at,
        data: row.data,
        verifyToken: row.verify_token,
      }));
      const secrets = [row.signing_secret];
      if (row.previous_signing_secret && (row.previous_secret_expires_at ?? 0) > now) {
        secrets.push(row.previous_signing_secret);
      }
      const timestampSeconds = Math.floor(now / 1000);
      const signature = await signWebhook(secrets, payloadId, timestampSeconds, body);
      // The URL was checked when saved; its name may resolve elsewhere by now.
      const refusal = checkUrlForm(row.url, deps.urlPolicy) ??
        await checkUrlAddresses(row.url, deps.urlPolicy);
      const result: SendResult = refusal
        ? { status: null, error: `Refused: the URL ${refusal}`, body: null, durationMs: 0 }
        : await sendPayload(
          {
            url: row.url,
            body,
            payloadId,
            timestampSeconds,
            signature,
            timeoutMs: input.timeoutMs,
          },
          deps.httpClient,
        );

      const delivered = result.status === 200;
      metrics.attempts.inc({ outcome: delivered ? "success" : refusal ? "refused" : "failure" });
      if (delivered) metrics.deliveries.inc({ outcome: "delivered" });
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
      await dbStep("Could not record the attempt", () =>
        db.transaction().execute(async (tx) => {
          await tx.insertInto("attempts").values({
            id: crypto.randomUUID(),
            payload_id: payloadId,
            run,
            number,
            started_at: now,
            duration_ms: result.durationMs,
            response_status: result.status,
            error: result.error,
            response_body: result.body,
          }).execute();
          const done = Date.now();
          await tx.updateTable("payloads")
            .set({ attempt_count: number, last_body: body, updated_at: done })
            .where("id", "=", payloadId).execute();
          if (delivered) {
            await tx.updateTable("payloads").set({ status: "delivered", finished_at: done })
              .where("id", "=", payloadId).where("run", "=", run)
              .where("status", "in", WAITING_STATUSES).execute();
          }
        }));
      if (!delivered) {
        throw ApplicationFailure.retryable(
          result.error ?? `Receiver answered ${result.status}, not 200`,
          ErrorType.DeliveryFailed,
        );
      }
      return { status: 200 };
    },

    /** How many attempts of this run reached the point of sending. */
    async countAttempts(input: { payloadId: string; run: number }): Promise<number> {
      const row = await db.selectFrom("payloads").select("attempt_count")
        .where("id", "=", input.payloadId).executeTakeFirst();
      return row?.attempt_count ?? 0;
    },

    /** Records how the run ended; a payload cancelled meanwhile stays cancelled. */
    async finishDelivery(
      input: { payloadId: string; run: number; outcome: DeliveryOutcome },
    ): Promise<DeliveryOutcome> {
      const now = Date.now();
      const updated = await db.updateTable("payloads")
        .set({ status: input.outcome, finished_at: now, updated_at: now })
        .where("id", "=", input.payloadId).where("run", "=", input.run)
        .where("status", "in", WAITING_STATUSES)
        .returning("status").executeTakeFirst();
      if (updated) {
        metrics.deliveries.inc({ outcome: input.outcome });
        return input.outcome;
      }
      const row = await db.selectFrom("payloads").select("status")
        .where("id", "=", input.payloadId).executeTakeFirst();
      return row?.status === "delivered" || row?.status === "failed" ? row.status : "cancelled";
    },

    /** Compensation: asks the webhook's lifecycle workflow to deactivate it. */
    async requestDeactivation(
      input: { webhookId: string; reason: DeactivationReason },
    ): Promise<void> {
      await signalLifecycle(deps.temporal, deps.taskQueue, input.webhookId, {
        kind: "deactivate",
        reason: input.reason,
      });
    },

    /**
     * Starts the deliveries of payloads left `pending` longer than the grace period: their
     * process stopped between commit and start. A start of a running delivery is a no-op.
     */
    async startStalledDeliveries(input: { graceMs: number; limit: number }): Promise<number> {
      const rows = await db.selectFrom("payloads")
        .innerJoin("webhooks", "webhooks.id", "payloads.webhook_id")
        .innerJoin("events", "events.id", "payloads.event_id")
        .select([
          "payloads.id",
          "payloads.run",
          "payloads.webhook_id",
          "payloads.organization_id",
          "events.type",
          "webhooks.url",
        ])
        .where("payloads.status", "=", "pending")
        .where("payloads.updated_at", "<", Date.now() - input.graceMs)
        .orderBy("payloads.created_at").limit(input.limit).execute();
      await startDeliveries(
        deps.temporal,
        deps.taskQueue,
        deps.delivery,
        rows.map((r) => ({
          payloadId: r.id,
          webhookId: r.webhook_id,
          organizationId: r.organization_id,
          event: r.type,
          url: r.url,
          run: r.run,
        })),
      );
      if (rows.length > 0) log.info("reconciled stalled payloads", { count: rows.length });
      return rows.length;
    },

    /** Applies one lifecycle change to the database. */
    async applyWebhookChange(input: { webhookId: string; change: WebhookChange }) {
      return await applyWebhookChange(db, input.webhookId, input.change);
    },
  };
}

/** The activities' type, imported by workflows as a type only. */
export type Activities = ReturnType<typeof createActivities>;
