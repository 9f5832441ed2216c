/**
 * The delivery and lifecycle workflows alone, on the SDK's local test environment (the Temporal
 * CLI's dev server), with their activities replaced by recording stubs: the seed's rule in
 * milliseconds instead of seconds.
 */
import assert from "node:assert/strict";
import { TestWorkflowEnvironment } from "@temporalio/testing";
import { ApplicationFailure } from "@temporalio/activity";
import { WorkflowFailedError } from "@temporalio/client";
import { Worker } from "@temporalio/worker";
import { workflowBundle } from "../workers/bundle.ts";
import { ensureTemporalCli } from "../src/temporal/dev_server.ts";
import { installRuntime } from "../src/temporal/client.ts";
import { setLogLevel } from "../src/log.ts";
import {
  DeliveryOutcomeKey,
  deliveryWorkflowId,
  lifecycleWorkflowId,
  OrganizationIdKey,
  WebhookEventKey,
  WebhookIdKey,
  WorkflowType,
} from "../src/temporal/names.ts";
import type { Activities } from "../workers/activities.ts";
import {
  type AttemptInput,
  type AttemptResult,
  type DeliverPayloadInput,
  ErrorType,
  type WebhookRequest,
} from "../workflows/types.ts";

let env: Promise<TestWorkflowEnvironment> | undefined;
const environment = () =>
  env ??= (async () => {
    setLogLevel("error");
    installRuntime();
    return await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: "existing-path", path: await ensureTemporalCli(() => {}) },
        searchAttributes: [WebhookIdKey, OrganizationIdKey, WebhookEventKey, DeliveryOutcomeKey],
      },
    });
  })();

Deno.test.afterAll(async () => {
  if (env) await (await env).teardown();
});

/** What the stubs were asked to do. */
interface Calls {
  attempts: number[];
  recorded: number[];
  finished: string[];
  deactivations: number;
}

/** Activities whose attempt answers as `attempt` says; the rest record their calls. */
function stubs(attempt: (input: AttemptInput, calls: Calls) => AttemptResult) {
  const calls: Calls = { attempts: [], recorded: [], finished: [], deactivations: 0 };
  const activities: Partial<Activities> = {
    attemptDelivery: (input) => {
      calls.attempts.push(input.number);
      return Promise.resolve(attempt(input, calls));
    },
    recordAttempt: (record) => {
      calls.recorded.push(record.number);
      return Promise.resolve();
    },
    finishDelivery: (input) => {
      calls.finished.push(`${input.outcome}${input.cancelReason ? `:${input.cancelReason}` : ""}`);
      return Promise.resolve(input.outcome);
    },
    requestDeactivation: () => {
      calls.deactivations += 1;
      return Promise.resolve();
    },
  };
  return { calls, activities };
}

const sent = (delivered: boolean, recorded = true): AttemptResult => {
  const summary = delivered ? "answered 200" : "answered 500";
  if (recorded) return { kind: "sent", delivered, summary };
  return {
    kind: "unrecorded",
    delivered,
    summary,
    record: {
      payloadId: "pl_test",
      run: 1,
      number: 0,
      durationMs: 1,
      responseStatus: delivered ? 200 : 500,
      error: null,
      responseBody: null,
      body: null,
    },
  };
};

/** Runs one delivery with the given activities; answers its result or its failure. */
async function deliver(
  activities: Partial<Activities>,
  cancelAfterMs?: number,
  given: Partial<DeliverPayloadInput> = {},
) {
  const testEnv = await environment();
  const taskQueue = `unit-${crypto.randomUUID()}`;
  const worker = await Worker.create({
    connection: testEnv.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const input: DeliverPayloadInput = {
    payloadId: `pl_${crypto.randomUUID()}`,
    webhookId: "wh_test",
    run: 1,
    maxAttempts: 5,
    retryIntervalMs: 20,
    timeoutMs: 1_000,
    ...given,
  };
  return await worker.runUntil(async () => {
    const handle = await testEnv.client.workflow.start(WorkflowType.deliverPayload, {
      workflowId: deliveryWorkflowId(input.payloadId),
      taskQueue,
      args: [input],
    });
    if (cancelAfterMs !== undefined) {
      setTimeout(() => handle.cancel().catch(() => {}), cancelAfterMs);
    }
    const outcome = await handle.result().then((r) => r as string, (err) => err as Error);
    const description = await handle.describe();
    return {
      outcome,
      status: description.status.name,
      deliveryOutcome: description.searchAttributes.DeliveryOutcome?.[0],
    };
  });
}

Deno.test("a Herald fault before sending does not count: the same attempt is tried again", async () => {
  let faults = 2;
  const { calls, activities } = stubs(() => {
    if (faults-- > 0) {
      throw ApplicationFailure.retryable("the database is down", ErrorType.HeraldUnavailable);
    }
    return sent(true);
  });
  const run = await deliver(activities);
  assert.equal(run.outcome, "delivered");
  assert.deepEqual(calls.attempts, [1, 1, 1]);
  assert.equal(run.status, "COMPLETED");
  assert.equal(run.deliveryOutcome, undefined, "a delivered run writes no search attribute");
});

Deno.test("a wait for the webhook's pace is a timer, not an attempt: the numbering has no gap", async () => {
  const slots: Array<number | undefined> = [];
  let waits = 2;
  const { calls, activities } = stubs((input) => {
    slots.push(input.slot);
    if (input.number === 1) return sent(false);
    if (waits-- > 0) {
      return { kind: "wait", waitMs: 300, reason: "rate_limit", slot: 42, detail: "test" };
    }
    return sent(true);
  });
  const run = await deliver(activities);
  assert.equal(run.outcome, "delivered");
  assert.deepEqual(calls.attempts, [1, 2, 2, 2], "attempt 2 asked three times, sent once");
  assert.deepEqual(slots, [undefined, undefined, 42, 42], "the reserved slot is passed back");
});

Deno.test("an attempt sent but not recorded counts, and the workflow records it", async () => {
  const { calls, activities } = stubs((input) => sent(false, input.number % 2 === 1));
  const run = await deliver(activities);
  assert.ok(run.outcome instanceof WorkflowFailedError);
  assert.deepEqual(calls.attempts, [1, 2, 3, 4, 5]);
  assert.deepEqual(calls.recorded.length, 2, "attempts 2 and 4 recorded by the workflow");
});

Deno.test("five failed attempts fail the payload, run the compensation once, and end Failed", async () => {
  const { calls, activities } = stubs(() => sent(false));
  const run = await deliver(activities);
  assert.deepEqual(calls.attempts, [1, 2, 3, 4, 5]);
  assert.deepEqual(calls.finished, ["failed"]);
  assert.equal(calls.deactivations, 1);
  assert.equal(run.status, "FAILED");
  assert.equal(run.deliveryOutcome, "failed");
  assert.ok(run.outcome instanceof WorkflowFailedError);
  assert.equal((run.outcome.cause as ApplicationFailure).type, ErrorType.DeliveryFailed);
});

Deno.test("a test send whose attempts all fail ends Failed without deactivating its webhook", async () => {
  const { calls, activities } = stubs(() => sent(false));
  const run = await deliver(activities, undefined, { test: true, maxAttempts: 2 });
  assert.deepEqual(calls.attempts, [1, 2]);
  assert.deepEqual(calls.finished, ["failed"]);
  assert.equal(calls.deactivations, 0);
  assert.equal(run.status, "FAILED");
  assert.equal(run.deliveryOutcome, "failed");
  assert.ok(run.outcome instanceof WorkflowFailedError);
  assert.match((run.outcome.cause as ApplicationFailure).message, /webhook active/);
});

Deno.test("an answer of 200 on attempt 3 ends the run delivered after exactly three", async () => {
  const { calls, activities } = stubs((input) => sent(input.number === 3));
  const run = await deliver(activities);
  assert.equal(run.outcome, "delivered");
  assert.deepEqual(calls.attempts, [1, 2, 3]);
  assert.equal(calls.deactivations, 0);
});

Deno.test("an inactive webhook stops the run cancelled, without compensation", async () => {
  const { calls, activities } = stubs((input) =>
    input.number === 1 ? sent(false) : { kind: "stopped", reason: "webhook_deactivated" }
  );
  const run = await deliver(activities);
  assert.equal(run.outcome, "cancelled");
  assert.deepEqual(calls.attempts, [1, 2]);
  assert.deepEqual(calls.finished, []);
  assert.equal(calls.deactivations, 0);
  assert.equal(run.deliveryOutcome, "cancelled");
});

Deno.test("a cancellation from outside ends the payload cancelled and the workflow Canceled", async () => {
  const { calls, activities } = stubs(() => sent(false));
  activities.attemptDelivery = async (input) => {
    calls.attempts.push(input.number);
    await new Promise((r) => setTimeout(r, 200));
    return sent(false);
  };
  const run = await deliver(activities, 300);
  assert.equal(run.status, "CANCELLED");
  assert.deepEqual(calls.finished, ["cancelled:cancelled_by_operator"]);
  assert.equal(calls.deactivations, 0);
  assert.equal(run.deliveryOutcome, "cancelled");
});

Deno.test("a cancellation after a 200 was recorded leaves the search attribute saying delivered", async () => {
  // The POST in flight when the cancellation came was answered 200 and recorded first: the
  // database says delivered, and so must Temporal (written to fail before the fix).
  const { calls, activities } = stubs(() => sent(false));
  activities.attemptDelivery = async (input) => {
    calls.attempts.push(input.number);
    await new Promise((r) => setTimeout(r, 200));
    return sent(false);
  };
  activities.finishDelivery = (input) => {
    calls.finished.push(input.outcome);
    return Promise.resolve("delivered");
  };
  const run = await deliver(activities, 300);
  assert.equal(run.status, "CANCELLED");
  assert.equal(run.deliveryOutcome, "delivered");
});

Deno.test("the lifecycle applies each requested change in order and ends when deleted", async () => {
  const testEnv = await environment();
  const taskQueue = `unit-${crypto.randomUUID()}`;
  const applied: string[] = [];
  const activities: Partial<Activities> = {
    applyWebhookRequest: ({ request }) => {
      applied.push(request.change.kind);
      return Promise.resolve({
        status: request.change.kind === "delete"
          ? "deleted"
          : request.change.kind === "deactivate"
          ? "deactivated"
          : "active",
        deactivationReason: null,
      });
    },
  };
  const worker = await Worker.create({
    connection: testEnv.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const webhookId = `wh_${crypto.randomUUID()}`;
  const requests: WebhookRequest[] = [
    { requestId: "req_1", change: { kind: "deactivate", reason: "manual" } },
    { requestId: "req_2", change: { kind: "reactivate" } },
    { requestId: "req_3", change: { kind: "delete" } },
  ];
  const state = await worker.runUntil(async () => {
    let handle;
    for (const request of requests) {
      handle = await testEnv.client.workflow.signalWithStart(WorkflowType.webhookLifecycle, {
        workflowId: lifecycleWorkflowId(webhookId),
        taskQueue,
        args: [{ webhookId }],
        signal: "change",
        signalArgs: [request],
      });
    }
    return await handle!.result();
  });
  assert.deepEqual(applied, ["deactivate", "reactivate", "delete"]);
  assert.equal((state as { status: string }).status, "deleted");
});

Deno.test("an ordered payload makes its first attempt only once its turn comes, then wakes the next", async () => {
  const turns: string[] = [];
  let released = 0;
  const { calls, activities } = stubs(() => sent(true));
  const waits = ["wait", "wait", "go"] as const;
  activities.turnOf = () => {
    const kind = waits[turns.length] ?? "go";
    turns.push(kind);
    return Promise.resolve(
      kind === "wait" ? { kind, predecessorId: "pl_before", orderKey: "contact:ct_1" } : { kind },
    );
  };
  activities.releaseSuccessor = () => {
    released++;
    return Promise.resolve();
  };
  const run = await deliver(activities, undefined, { ordered: { recheckMs: 20 } });
  assert.equal(run.outcome, "delivered");
  assert.deepEqual(turns, ["wait", "wait", "go"]);
  assert.deepEqual(calls.attempts, [1]);
  assert.equal(released, 1);
});

Deno.test("an ordered payload cancelled while it waits ends cancelled unsent, and still wakes the next", async () => {
  let released = 0;
  const { calls, activities } = stubs(() => sent(true));
  activities.turnOf = () => Promise.resolve({ kind: "stopped" });
  activities.releaseSuccessor = () => {
    released++;
    return Promise.resolve();
  };
  const run = await deliver(activities, undefined, { ordered: { recheckMs: 20 } });
  assert.equal(run.outcome, "cancelled");
  assert.deepEqual(calls.attempts, []);
  assert.equal(run.deliveryOutcome, "cancelled");
  assert.equal(released, 1);
});
