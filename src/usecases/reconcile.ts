/**
 * The reconciler's sweeps. Each pages through its rows with a cursor kept in the database, so a
 * sweep cut short by its time budget goes on next time from where it stopped, and never spends
 * itself on the same rows again.
 */
import { sql } from "kysely";
import { log } from "../log.ts";
import { OPEN_STATUSES, WEBHOOK_PLAN } from "../domain/types.ts";
import { WorkflowType } from "../temporal/names.ts";
import { deliveryStartOf } from "../temporal/deliveries.ts";
import type { UseCaseDeps } from "./deps.ts";
import { startDeliveries } from "./events.ts";
import { recordWebhookRequests, sendWebhookRequests } from "./webhook_changes.ts";

const PAGE = 500;
/** How long one sweep may run before it saves its cursor and returns. */
const BUDGET_MS = 60_000;

async function readCursor(deps: UseCaseDeps, name: string): Promise<string | undefined> {
  const row = await deps.db.selectFrom("reconciler_cursors").select("position")
    .where("name", "=", `${deps.taskQueue}:${name}`).executeTakeFirst();
  return row?.position;
}

async function saveCursor(deps: UseCaseDeps, name: string, position: string | undefined) {
  const key = `${deps.taskQueue}:${name}`;
  if (position === undefined) {
    await deps.db.deleteFrom("reconciler_cursors").where("name", "=", key).execute();
    return;
  }
  await deps.db.insertInto("reconciler_cursors")
    .values({ name: key, position, updated_at: Date.now() })
    .onConflict((oc) => oc.column("name").doUpdateSet({ position, updated_at: Date.now() }))
    .execute();
}

/**
 * Starts payloads still `pending` after the grace period (their process stopped between commit
 * and start, or the previous run's workflow had not ended yet), oldest first, from the cursor.
 */
export async function startPendingDeliveries(
  deps: UseCaseDeps,
  graceMs: number,
  heartbeat: () => void = () => {},
  limits: { page: number; budgetMs: number } = { page: PAGE, budgetMs: BUDGET_MS },
): Promise<number> {
  const deadline = Date.now() + limits.budgetMs;
  const saved = await readCursor(deps, "pending");
  let after = saved ? JSON.parse(saved) as [number, string] : undefined;
  let count = 0;
  // At least one page per run, then more while the budget lasts.
  do {
    let query = deps.db.selectFrom("payloads")
      .innerJoin("webhooks", "webhooks.id", "payloads.webhook_id")
      .innerJoin("events", "events.id", "payloads.event_id")
      .select([
        "payloads.id",
        "payloads.run",
        "payloads.webhook_id",
        "payloads.organization_id",
        "payloads.created_at",
        "payloads.order_key",
        "events.type",
        "webhooks.url",
      ])
      .where("payloads.status", "=", "pending")
      .where("payloads.updated_at", "<", Date.now() - graceMs);
    if (after) {
      const [createdAt, id] = after;
      query = query.where(
        sql<boolean>`(payloads.created_at, payloads.id) > (${createdAt}, ${id})`,
      );
    }
    const rows = await query.orderBy("payloads.created_at").orderBy("payloads.id")
      .limit(limits.page).execute();
    if (rows.length === 0) {
      after = undefined;
      break;
    }
    await startDeliveries(deps, rows.map(deliveryStartOf));
    count += rows.length;
    const last = rows[rows.length - 1]!;
    after = [last.created_at, last.id];
    heartbeat();
  } while (Date.now() < deadline);
  await saveCursor(deps, "pending", after && JSON.stringify(after));
  if (count > 0) log.info("reconciler started pending payloads", { count });
  return count;
}

/** How far behind its cursor the search for closed deliveries looks again. */
const VISIBILITY_LOOKBACK_MS = 10 * 60_000;

/**
 * Ends `cancelled` the payloads whose delivery an operator terminated (or that timed out), which
 * no workflow code saw; Canceled runs record it themselves, and are swept too in case a
 * cancellation arrived where the workflow could not record it.
 */
export async function settleClosedDeliveries(
  deps: UseCaseDeps,
  heartbeat: () => void = () => {},
): Promise<number> {
  const since = (await readCursor(deps, "closed")) ??
    new Date(Date.now() - 24 * 3_600_000).toISOString();
  // Visibility is eventually consistent: a workflow that closed before the cursor may show up
  // after it moved on. Looking back a while finds it; one seen twice updates nothing.
  const from = new Date(Date.parse(since) - VISIBILITY_LOOKBACK_MS).toISOString();
  const query =
    `WorkflowType = '${WorkflowType.deliverPayload}' AND TaskQueue = '${deps.taskQueue}'` +
    ` AND ExecutionStatus IN ('Terminated', 'TimedOut', 'Canceled') AND CloseTime >= '${from}'`;
  let latest = since;
  let count = 0;
  for await (const execution of deps.temporal.workflow.list({ query })) {
    const payloadId = execution.workflowId.replace(/^payload:/, "");
    const run = Number((execution.memo as { run?: number } | undefined)?.run ?? 0);
    const now = Date.now();
    const updated = await deps.db.updateTable("payloads")
      .set({
        status: "cancelled",
        cancel_reason: execution.status.name === "CANCELLED"
          ? "cancelled_by_operator"
          : "terminated_by_operator",
        finished_at: now,
        updated_at: now,
      })
      .where("id", "=", payloadId).where("run", "=", run).where("status", "in", OPEN_STATUSES)
      .executeTakeFirst();
    count += Number(updated.numUpdatedRows);
    const closed = execution.closeTime?.toISOString();
    if (closed && closed > latest) latest = closed;
    heartbeat();
  }
  await saveCursor(deps, "closed", latest);
  if (count > 0) log.info("reconciler settled terminated deliveries", { count });
  return count;
}

/** Sends again the webhook change requests not applied after the grace period. */
export async function resendWebhookRequests(
  deps: UseCaseDeps,
  graceMs: number,
  heartbeat: () => void = () => {},
): Promise<number> {
  const { db } = deps;
  const stale = await db.selectFrom("webhook_requests")
    .select(["id", "webhook_id", "kind", "reason"])
    .where("applied_at", "is", null).where("created_at", "<", Date.now() - graceMs)
    .orderBy("created_at").orderBy("id").limit(PAGE).execute();
  await sendWebhookRequests(
    deps,
    stale.map((r) => ({
      requestId: r.id,
      webhookId: r.webhook_id,
      change: r.kind === "deactivate"
        ? { kind: "deactivate", reason: r.reason ?? "manual" }
        : { kind: r.kind },
    })),
  );
  heartbeat();
  if (stale.length > 0) log.info("reconciler sent webhook requests again", { count: stale.length });
  return stale.length;
}

/**
 * The plan rule, enforced: an active webhook of an organization off the business plan, with no
 * deactivation under way (its downgrade's requests were lost), gets one. Answers how many.
 */
export async function deactivateOffPlanWebhooks(deps: UseCaseDeps): Promise<number> {
  const { db } = deps;
  const strays = await db.selectFrom("webhooks")
    .innerJoin("organizations", "organizations.id", "webhooks.organization_id")
    .select("webhooks.id")
    .where("organizations.plan", "!=", WEBHOOK_PLAN)
    .where("webhooks.status", "=", "active").where("webhooks.deleted_at", "is", null)
    .where(({ not, exists, selectFrom }) =>
      not(exists(
        selectFrom("webhook_requests").select("webhook_requests.id")
          .whereRef("webhook_requests.webhook_id", "=", "webhooks.id")
          .where("webhook_requests.applied_at", "is", null)
          .where("webhook_requests.kind", "=", "deactivate"),
      ))
    )
    .limit(PAGE).execute();
  const requests = await recordWebhookRequests(
    db,
    strays.map((w) => w.id),
    { kind: "deactivate", reason: "plan_downgraded" },
  );
  await sendWebhookRequests(deps, requests);
  if (requests.length > 0) {
    log.info("reconciler deactivated webhooks off the business plan", { count: requests.length });
  }
  return requests.length;
}
