/** The database side of a webhook's state changes; the lifecycle workflow calls it in order. */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";
import type { WebhookChange, WebhookState } from "../../workflows/types.ts";

/** Payload statuses that still wait for an attempt. */
export const WAITING_STATUSES = ["pending", "delivering"] as const;

/**
 * Applies one change. Deactivation is idempotent (the first reason stays) and cancels the
 * webhook's waiting payloads; reactivation is refused while the organization is off business.
 */
export async function applyWebhookChange(
  db: Kysely<Database>,
  webhookId: string,
  change: WebhookChange,
): Promise<Omit<WebhookState, "changesApplied">> {
  const now = Date.now();
  await db.transaction().execute(async (tx) => {
    if (change.kind === "deactivate") {
      await tx.updateTable("webhooks")
        .set({
          status: "deactivated",
          deactivation_reason: change.reason,
          deactivated_at: now,
          updated_at: now,
        })
        .where("id", "=", webhookId).where("status", "=", "active").execute();
    } else if (change.kind === "reactivate") {
      const org = await tx.selectFrom("webhooks")
        .innerJoin("organizations", "organizations.id", "webhooks.organization_id")
        .select("organizations.plan").where("webhooks.id", "=", webhookId).executeTakeFirst();
      if (org?.plan === "business") {
        await tx.updateTable("webhooks")
          .set({
            status: "active",
            deactivation_reason: null,
            deactivated_at: null,
            updated_at: now,
          })
          .where("id", "=", webhookId).where("deleted_at", "is", null).execute();
      }
    } else {
      await tx.updateTable("webhooks").set({ deleted_at: now, updated_at: now })
        .where("id", "=", webhookId).where("deleted_at", "is", null).execute();
    }
    if (change.kind !== "reactivate") {
      await tx.updateTable("payloads")
        .set({ status: "cancelled", finished_at: now, updated_at: now })
        .where("webhook_id", "=", webhookId).where("status", "in", WAITING_STATUSES).execute();
    }
  });
  const row = await db.selectFrom("webhooks")
    .select(["status", "deactivation_reason", "deleted_at"])
    .where("id", "=", webhookId).executeTakeFirst();
  if (!row || row.deleted_at !== null) return { status: "deleted", deactivationReason: null };
  return { status: row.status, deactivationReason: row.deactivation_reason };
}
