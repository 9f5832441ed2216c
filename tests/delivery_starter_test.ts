/**
 * The starter behind the API's 202: every committed payload it is handed starts, however an
 * enqueue falls against its loop. Fast: the round's start is a recorder, not Temporal.
 */
import assert from "node:assert/strict";
import { DeliveryStarter } from "../src/usecases/delivery_starter.ts";
import type { DeliveryStart } from "../src/temporal/deliveries.ts";

const payload = (payloadId: string): DeliveryStart => ({
  payloadId,
  webhookId: "wh_1",
  organizationId: "org_1",
  event: "contact.created",
  url: "https://receiver.test/",
  run: 1,
  ordered: false,
});

Deno.test("an enqueue at any moment of the loop's end is started, never left for the reconciler", async () => {
  // Each case enqueues a second payload k microtasks after the first: one of them lands where
  // the loop has seen an empty queue but not yet said it stopped (written to fail before the fix).
  for (let k = 0; k < 12; k++) {
    const started: string[] = [];
    const starter = new DeliveryStarter((round) => {
      started.push(...round.map((p) => p.payloadId));
      return Promise.resolve();
    });
    const first = starter.enqueue([payload("pl_first")]);
    for (let i = 0; i < k; i++) await null;
    await starter.enqueue([payload("pl_second")]);
    await first;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(started, ["pl_first", "pl_second"], `second enqueue ${k} microtasks later`);
    await starter.close(100);
  }
});

Deno.test("a round that fails leaves the loop running for the next enqueue", async () => {
  const started: string[] = [];
  let fail = true;
  const starter = new DeliveryStarter((round) => {
    if (fail) {
      fail = false;
      return Promise.reject(new Error("Temporal is down"));
    }
    started.push(...round.map((p) => p.payloadId));
    return Promise.resolve();
  });
  await starter.enqueue([payload("pl_lost")]);
  await new Promise((resolve) => setTimeout(resolve, 10));
  await starter.enqueue([payload("pl_next")]);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(started, ["pl_next"]);
  await starter.close(100);
});
