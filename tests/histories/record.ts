/**
 * Records the event histories that the replay test checks new workflow code against:
 * `deno task histories`. Run it when a workflow changes on purpose, and commit the files.
 */
import { historyToJSON } from "@temporalio/common/lib/proto-utils.js";
import {
  api,
  createOrganization,
  createWebhook,
  sharedInfra,
  stack,
  waitFor,
} from "../harness.ts";
import { startReceiver } from "../receiver.ts";
import { deliveryWorkflowId, lifecycleWorkflowId } from "../../src/temporal/names.ts";

const s = await stack({ DELIVERY_RETRY_INTERVAL: "200ms", DELIVERY_MAX_ATTEMPTS: "3" });
const org = await createOrganization(s);
const receiver = await startReceiver();
const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
const dir = new URL(".", import.meta.url).pathname;

async function save(workflowId: string, file: string) {
  const handle = s.herald.temporal.workflow.getHandle(workflowId);
  await waitFor(`${workflowId} to close`, async () => (await handle.describe()).status.name !== "RUNNING");
  await Deno.writeTextFile(`${dir}/${file}`, historyToJSON(await handle.fetchHistory()));
  console.log(`wrote ${file}`);
}

async function publish() {
  const answer = await api(s, "POST", "/v1/events", {
    token: org.apiKey,
    body: { event: "history.recorded", object: "thing", data: { n: 1 } },
  });
  return answer.body.payloads[0].id as string;
}

// One workflow version: the files are recorded again whenever a workflow changes on purpose
// (until a release has open workflows; then earlier versions' files stay and keep replaying).
await save(deliveryWorkflowId(await publish()), "deliver_payload_delivered.json");

// Ordered: the second payload of one object waits for the first, whose first attempt fails.
const orderedReceiver = await startReceiver((n) => new Response("", { status: n === 1 ? 500 : 200 }));
const ordered = await createWebhook(s, org.apiKey, {
  url: orderedReceiver.url,
  eventTypes: ["history.ordered"],
  ordering: "object",
});
const publishOrdered = async () =>
  (await api(s, "POST", "/v1/events", {
    token: org.apiKey,
    body: { event: "history.ordered", object: "thing", objectId: "t1", data: { n: 1 } },
  })).body.payloads.find((p: { webhookId: string }) => p.webhookId === ordered.id).id as string;
await publishOrdered();
await save(deliveryWorkflowId(await publishOrdered()), "deliver_payload_ordered.json");
await api(s, "DELETE", `/v1/webhooks/${ordered.id}`, { token: org.apiKey });
await orderedReceiver.close();

receiver.answer((n) => new Response("no", { status: n > 0 ? 500 : 200 }));
await save(deliveryWorkflowId(await publish()), "deliver_payload_failed.json");
await waitFor("deactivation", async () =>
  (await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey })).body.status ===
    "deactivated");

await api(s, "POST", `/v1/webhooks/${webhook.id}/activate`, { token: org.apiKey });
// Deleting ends the lifecycle workflow, so its whole history (deactivate, reactivate) is closed.
await api(s, "DELETE", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
await save(lifecycleWorkflowId(webhook.id), "webhook_lifecycle_reactivated.json");

await receiver.close();
await s.herald.stop();
const infra = await sharedInfra();
await infra.temporal.stop();
await infra.database.close();
