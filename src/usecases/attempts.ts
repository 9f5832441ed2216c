/**
 * One attempt of one payload, the product's core: prepare (load, check, wait for the webhook's
 * pace, claim), send (build, sign, POST through a destination), record (the answer, and what it
 * says about the receiver's load). At most once per (payload, run, number): the claim is written
 * before the POST, so a retried attempt finds it instead of POSTing again.
 */
import { type RawBuilder, type Selectable, sql } from "kysely";
import type { EventTable, PayloadTable, WebhookFlowTable, WebhookTable } from "../db/schema.ts";
import { withinMs } from "../deadline.ts";
import { loadSignal, type WaitReason } from "../domain/flow.ts";
import { newId } from "../domain/ids.ts";
import { buildPayloadBody } from "../domain/payload_body.ts";
import { signWebhook } from "../domain/signature.ts";
import {
  type CancelReason,
  type DeliveryOutcome,
  isDelivered,
  OPEN_STATUSES,
} from "../domain/types.ts";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";
import type {
  AttemptInput,
  AttemptRecord,
  AttemptResult,
  FinishInput,
} from "../../workflows/types.ts";
import type { UseCaseDeps } from "./deps.ts";
import { isPaced, reportLoad, takeSlot, unpacedSql } from "./flow.ts";

/** What one POST sends. */
export interface SendRequest {
  url: string;
  body: string;
  payloadId: string;
  timestampSeconds: number;
  signature: string;
  timeoutMs: number;
  /** The webhook's custom headers; none of them is a name Herald sets. */
  headers: Record<string, string>;
  /** An ordered payload's place in its object's order (`webhook-sequence`): its event's `seq`. */
  sequence?: number;
}

/** What one POST produced; every string is storable text. */
export interface SendResult {
  status: number | null;
  error: string | null;
  body: string | null;
  durationMs: number;
  /** No answer came within the attempt's timeout. */
  timedOut?: boolean;
  /** The answer's `Retry-After` header, if any. */
  retryAfter?: string | null;
  /** Herald itself refused to send (the URL's form or its addresses). */
  refused?: boolean;
}

/** Where payloads go: HTTP today, the seam for another kind of destination. */
export interface Destination {
  /** Why the URL may not be sent to now (checked again at each attempt), or undefined. */
  validate(url: string): string | undefined;
  /** Sends one attempt; never throws for the receiver's faults. */
  send(request: SendRequest): Promise<SendResult>;
}

/** What an attempt needs beside the use cases' dependencies. */
export interface AttemptDeps extends Pick<UseCaseDeps, "db"> {
  destination: Destination;
  /** The Temporal workflow id of the attempt's delivery, for the log. */
  workflowId?: () => string | undefined;
}

/** Herald's own infrastructure failed before sending: the adapter retries it, never counted. */
export class HeraldUnavailable extends Error {
  override name = "HeraldUnavailable";
}

/** How long one database step of an attempt may take before the attempt gives up on it. */
export const DB_STEP_TIMEOUT_MS = 3_000;

/** Runs a database step of an attempt with a deadline: a hung connection is our fault too. */
async function dbStep<T>(step: string, run: () => Promise<T>): Promise<T> {
  try {
    return await withinMs(run(), DB_STEP_TIMEOUT_MS, "the database");
  } catch (err) {
    throw new HeraldUnavailable(`${step}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * One POST of a payload, at most once per (payload, run, number), or a wait for the webhook's
 * pace. Throws HeraldUnavailable only for Herald's faults before sending; every outcome after the
 * POST is returned, and counts.
 */
export async function attemptDelivery(
  deps: AttemptDeps,
  input: AttemptInput,
): Promise<AttemptResult> {
  const prepared = await prepareAttempt(deps, input);
  if (prepared.kind !== "ready") return prepared;
  const { row, firstSentAt, now } = prepared;
  const body = JSON.stringify(buildPayloadBody({
    payloadId: input.payloadId,
    event: row.type,
    payloadCreatedAt: row.created_at,
    attempt: input.number,
    firstSentAt,
    object: row.object,
    objectId: row.object_id ?? row.event_id,
    objectCreatedAt: row.object_created_at,
    data: row.data,
    verifyToken: row.verify_token,
  }));
  const result = await send(deps.destination, input, row, body, now);
  const delivered = isDelivered(result.status);
  metrics.attempts.inc({
    outcome: delivered ? "success" : result.refused ? "refused" : "failure",
  });
  if (!result.refused) metrics.attemptDuration.observe(result.durationMs / 1000);
  log.info("attempt", {
    payloadId: input.payloadId,
    webhookId: row.webhook_id,
    workflowId: deps.workflowId?.(),
    run: input.run,
    attempt: input.number,
    status: result.status,
    error: result.error,
    durationMs: result.durationMs,
  });
  const record: AttemptRecord = {
    payloadId: input.payloadId,
    run: input.run,
    number: input.number,
    durationMs: result.durationMs,
    responseStatus: result.status,
    error: result.error,
    responseBody: result.body,
    body,
  };
  const summary = result.error ?? `answered ${result.status}`;
  try {
    await withinMs(recordAttempt(deps, record), DB_STEP_TIMEOUT_MS, "the database");
  } catch (err) {
    // The receiver got it: the attempt counts, and the workflow records it once we can.
    log.warn("could not record an attempt; the workflow records it", {
      payloadId: input.payloadId,
      error: String(err),
    });
    return { kind: "unrecorded", delivered, summary, record };
  }
  await learnFromAnswer(deps, row.webhook_id, result, prepared.paced);
  return { kind: "sent", delivered, summary };
}

/** What an attempt loads: none of it leaves the worker except in the POST. */
type AttemptRow =
  & Pick<Selectable<PayloadTable>, "status" | "run" | "cancel_reason" | "created_at" | "seq">
  & Pick<
    Selectable<WebhookTable>,
    "url" | "deleted_at" | "verify_token" | "signing_secret" | "retired_signing_secrets"
  >
  & Pick<Selectable<WebhookTable>, "headers" | "rate_limit">
  & Pick<Selectable<EventTable>, "type" | "object" | "object_id" | "object_created_at" | "data">
  & {
    webhook_id: string;
    webhook_status: Selectable<WebhookTable>["status"];
    event_id: string;
    // Absent (null) until the webhook's pace first changes.
    pace: Selectable<WebhookFlowTable>["pace"];
    paused_until: Selectable<WebhookFlowTable>["paused_until"] | null;
  };

/** A claim the statement took (`claimed` false: an earlier try of the attempt had it). */
interface Claim {
  claimed: boolean;
  firstSentAt: number;
}

/** What a statement ending in `CLAIM_OUTCOME` answers about its claim. */
interface ClaimColumns {
  first_sent_at: number | null;
  open: boolean;
  claimed: boolean;
}

/** The columns that tell what `claimSteps` did. */
const CLAIM_OUTCOME = sql`(select first_sent_at from payload) as first_sent_at,
  exists (select 1 from payload) as open, exists (select 1 from claim) as claimed`;

/** The claim those columns tell of, or undefined when the run was no longer open to one. */
function claimOf(row: ClaimColumns, now: number): Claim | undefined {
  return row.open ? { claimed: row.claimed, firstSentAt: row.first_sent_at ?? now } : undefined;
}

/**
 * Loads the payload with its webhook, event and pace, and claims attempt `number` of the run in
 * the same statement when the webhook may be sent to now without a slot (active, not deleted,
 * unpaced): one round trip before the POST. Otherwise (`claim` undefined) the caller decides, takes a
 * slot if it must, and claims with `claimAttempt`.
 */
async function loadAttempt(deps: AttemptDeps, input: AttemptInput, now: number) {
  const { rows: [row] } = await sql<
    AttemptRow & ClaimColumns & { claimable: boolean }
  >`with loaded as (
      select p.status, p.run, p.cancel_reason, p.created_at, p.seq, w.id as webhook_id, w.url,
        w.status as webhook_status, w.deleted_at, w.verify_token, w.signing_secret,
        w.retired_signing_secrets, w.headers, w.rate_limit, f.pace, f.paused_until, e.type,
        e.object, e.object_id, e.object_created_at, e.id as event_id, e.data,
        (w.status = 'active' and w.deleted_at is null and ${unpacedSql(now)}) as claimable
      from payloads p
      join webhooks w on w.id = p.webhook_id
      join events e on e.id = p.event_id
      left join webhook_flow f on f.webhook_id = p.webhook_id
      where p.id = ${input.payloadId}
    ), ${claimSteps(input, now, sql`(select claimable from loaded)`)}
    select loaded.*, ${CLAIM_OUTCOME} from loaded`.execute(deps.db);
  if (!row) return undefined;
  const { claimable: _, first_sent_at, open, claimed, ...loaded } = row;
  return { ...loaded, claim: claimOf({ first_sent_at, open, claimed }, now) };
}

/**
 * Loads the payload, stops when it or its webhook no longer waits for this run, waits for the
 * webhook's pace when it has one, and claims the attempt's number.
 */
async function prepareAttempt(deps: AttemptDeps, input: AttemptInput): Promise<Prepared> {
  let now = Date.now();
  const row = await dbStep("Could not load the payload", () => loadAttempt(deps, input, now));
  if (!row || row.run !== input.run) return { kind: "stopped", reason: "run_superseded" };
  if (!(OPEN_STATUSES as readonly string[]).includes(row.status)) {
    return { kind: "stopped", reason: row.cancel_reason ?? "run_superseded" };
  }
  if (row.claim) return await claimed(deps, input, row, row.claim, now, false);
  if (row.deleted_at !== null) return await cancelRun(deps, input, "webhook_deleted");
  if (row.webhook_status !== "active") return await cancelRun(deps, input, "webhook_deactivated");

  const paced = isPaced(
    { rateLimit: row.rate_limit, pace: row.pace, pausedUntil: Number(row.paused_until ?? 0) },
    now,
  );
  if (paced) {
    const decision = await dbStep(
      "Could not take a send slot",
      () => takeSlot(deps.db, row.webhook_id, input.slot),
    );
    if (!decision.go) return waitFor(decision.reason, decision.waitMs, decision.slot);
    // The attempt starts when the window let it through: at most `rate` such starts in 1.1 s.
    now = decision.at ?? Date.now();
  }
  const claim = await dbStep("Could not claim the attempt", () => claimAttempt(deps, input, now));
  if (!claim) return { kind: "stopped", reason: "run_superseded" };
  return await claimed(deps, input, row, claim, now, paced);
}

/** The attempt is ready when this try claimed it; an earlier try's claim settles it instead. */
async function claimed(
  deps: AttemptDeps,
  input: AttemptInput,
  row: AttemptRow,
  claim: Claim,
  now: number,
  paced: boolean,
): Promise<Prepared> {
  if (claim.claimed) return { kind: "ready", row, firstSentAt: claim.firstSentAt, now, paced };
  const earlier = await dbStep(
    "Could not read the earlier claim",
    () =>
      deps.db.selectFrom("attempts").selectAll()
        .where("payload_id", "=", input.payloadId).where("run", "=", input.run)
        .where("number", "=", input.number).executeTakeFirstOrThrow(),
  );
  return settleEarlierClaim(input, earlier);
}

/** An attempt ready to send, or why it does not send now. */
type Prepared =
  | { kind: "ready"; row: AttemptRow; firstSentAt: number; now: number; paced: boolean }
  | AttemptResult;

/** A wait before the POST: a workflow timer, not an attempt. */
function waitFor(reason: WaitReason, waitMs: number, slot: number): Prepared {
  metrics.deliveryWaits.inc({ reason });
  const at = new Date(Date.now() + waitMs).toISOString();
  const detail = reason === "retry_after"
    ? `the receiver asked Herald to retry after ${at} (Retry-After)`
    : reason === "overload"
    ? `Herald slowed this webhook after its receiver signalled an overload; next slot at ${at}`
    : `the webhook's rateLimit; next slot at ${at}`;
  return { kind: "wait", waitMs, reason, slot, detail };
}

/** Signs and sends the body, unless the URL's form is refused now. */
async function send(
  destination: Destination,
  input: AttemptInput,
  row: AttemptRow,
  body: string,
  now: number,
): Promise<SendResult> {
  // The URL's form is checked again (the policy may have changed since it was saved); its
  // addresses are checked by the destination, on the connection itself.
  const refusal = destination.validate(row.url);
  if (refusal) {
    return { status: null, error: `Refused: the URL ${refusal}`, body: null, durationMs: 0 };
  }
  const secrets = [
    row.signing_secret,
    ...row.retired_signing_secrets.filter((r) => r.expiresAt > now).map((r) => r.secret),
  ];
  const timestampSeconds = Math.floor(now / 1000);
  return await destination.send({
    url: row.url,
    body,
    payloadId: input.payloadId,
    timestampSeconds,
    signature: await signWebhook(secrets, input.payloadId, timestampSeconds, body),
    timeoutMs: input.timeoutMs,
    headers: row.headers,
    ...(row.seq !== null && { sequence: row.seq }),
  });
}

/** Tells the webhook's pace what the answer said; pacing never fails an attempt. */
async function learnFromAnswer(
  deps: AttemptDeps,
  webhookId: string,
  result: SendResult,
  paced: boolean,
): Promise<void> {
  const now = Date.now();
  const signal = loadSignal(
    result.status,
    result.timedOut ?? false,
    result.retryAfter ?? null,
    now,
  );
  if (!signal.overloaded && !(paced && isDelivered(result.status))) return;
  try {
    await withinMs(
      reportLoad(deps.db, {
        webhookId,
        signal,
        delivered: isDelivered(result.status),
        paced,
        status: result.status,
        error: result.error,
        now,
      }),
      DB_STEP_TIMEOUT_MS,
      "the database",
    );
  } catch (err) {
    log.warn("could not update the webhook's pace", { webhookId, error: String(err) });
  }
}

/**
 * The claim's two steps, as parts of a statement (`payload` and `claim`), taken when `when`
 * holds: the payload becomes `delivering` (its first send time set once) and the attempt's row is
 * inserted, unique per (payload, run, number), so a retried attempt finds its claim instead of
 * POSTing again.
 */
function claimSteps(input: AttemptInput, now: number, when: RawBuilder<boolean>) {
  return sql`payload as (
      update payloads set status = 'delivering', attempt_count = ${input.number}::integer,
        first_sent_at = coalesce(first_sent_at, ${now}::bigint), updated_at = ${now}::bigint
      where id = ${input.payloadId} and run = ${input.run}::integer
        and status in ('pending', 'delivering') and ${when}
      returning first_sent_at
    ), claim as (
      insert into attempts (id, payload_id, run, number, started_at, duration_ms)
      select ${newId("att")}::text, ${input.payloadId}::text, ${input.run}::integer,
        ${input.number}::integer, ${now}::bigint, 0 from payload
      on conflict (payload_id, run, number) do nothing
      returning id
    )`;
}

/** Claims attempt `number` of the run after a slot let it through (the paced path). */
async function claimAttempt(deps: AttemptDeps, input: AttemptInput, now: number) {
  const { rows: [row] } = await sql<ClaimColumns>`with ${
    claimSteps(input, now, sql<boolean>`true`)
  } select ${CLAIM_OUTCOME}`.execute(deps.db);
  return row && claimOf(row, now);
}

/**
 * An earlier try of this attempt claimed it: it counts, whether or not it sent. Its outcome is
 * returned when recorded; otherwise the attempt is recorded as lost.
 */
function settleEarlierClaim(
  input: AttemptInput,
  earlier: { response_status: number | null; error: string | null; finished_at: number | null },
): AttemptResult {
  if (earlier.finished_at !== null) {
    return {
      kind: "sent",
      delivered: isDelivered(earlier.response_status),
      summary: earlier.error ?? `answered ${earlier.response_status}`,
    };
  }
  const error = "Herald stopped during this attempt; the receiver may have received it";
  return {
    kind: "unrecorded",
    delivered: false,
    summary: error,
    record: {
      payloadId: input.payloadId,
      run: input.run,
      number: input.number,
      durationMs: 0,
      responseStatus: null,
      error,
      responseBody: null,
      body: null,
    },
  };
}

/** Writes an attempt's outcome in one statement; a 200 also ends the payload `delivered`. */
export async function recordAttempt(
  deps: Pick<AttemptDeps, "db">,
  record: AttemptRecord,
): Promise<void> {
  const done = Date.now();
  const delivered = isDelivered(record.responseStatus);
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
    where id = ${record.payloadId} and run = ${record.run}::integer`.execute(deps.db);
  if (delivered) metrics.deliveries.inc({ outcome: "delivered" });
}

/** Ends a run whose payload can no longer be sent (its webhook was deleted or deactivated). */
async function cancelRun(
  deps: AttemptDeps,
  input: AttemptInput,
  reason: CancelReason,
): Promise<Prepared> {
  const now = Date.now();
  await dbStep("Could not record the cancellation", () =>
    deps.db.updateTable("payloads")
      .set({ status: "cancelled", cancel_reason: reason, finished_at: now, updated_at: now })
      .where("id", "=", input.payloadId).where("run", "=", input.run)
      .where("status", "in", OPEN_STATUSES).execute());
  return { kind: "stopped", reason };
}

/**
 * Records how the run ended and answers the payload's final status: a payload that ended
 * otherwise meanwhile (a 200 recorded first, a resend) keeps its own.
 */
export async function finishDelivery(
  deps: Pick<AttemptDeps, "db">,
  input: FinishInput,
): Promise<DeliveryOutcome> {
  const now = Date.now();
  const updated = await deps.db.updateTable("payloads")
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
  const row = await deps.db.selectFrom("payloads").select(["status", "run"])
    .where("id", "=", input.payloadId).executeTakeFirst();
  if (row?.run !== input.run) return "cancelled";
  return row.status === "delivered" || row.status === "failed" ? row.status : "cancelled";
}
