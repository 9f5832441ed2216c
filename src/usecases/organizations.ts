/** An organization's changes: its name, and its plan, which decides whether it has webhooks. */
import { hasWebhooks, type Plan } from "../domain/types.ts";
import type { UseCaseDeps } from "./deps.ts";
import { recordWebhookRequests, sendWebhookRequests } from "./webhook_changes.ts";

/**
 * Changes an organization's plan. Off the business plan, every still-active webhook gets a
 * deactivation request in the same transaction, however often this runs: the downgrade is
 * idempotent, and the reconciler enforces it if the signals are lost.
 */
export async function changeOrganization(
  deps: UseCaseDeps,
  organizationId: string,
  change: { plan?: Plan; name?: string },
) {
  const { organization, requests } = await deps.db.transaction().execute(async (tx) => {
    const organization = await tx.updateTable("organizations")
      .set({ ...change, updated_at: Date.now() })
      .where("id", "=", organizationId).returningAll().executeTakeFirst();
    if (!organization || hasWebhooks(organization.plan)) return { organization, requests: [] };
    const active = await tx.selectFrom("webhooks").select("id")
      .where("organization_id", "=", organizationId).where("deleted_at", "is", null)
      .where("status", "=", "active").execute();
    const requests = await recordWebhookRequests(
      tx,
      active.map((w) => w.id),
      { kind: "deactivate", reason: "plan_downgraded" },
    );
    return { organization, requests };
  });
  await sendWebhookRequests(deps, requests);
  return organization;
}
