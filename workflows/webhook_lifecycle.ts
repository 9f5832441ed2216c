/**
 * A webhook's lifecycle: one workflow per webhook applies every change of its state
 * (deactivate, reactivate, delete) in the order received. Each change was recorded first as a
 * request, so one lost with a crash is sent again by the reconciler, and applied once.
 */
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  workflowInfo,
} from "@temporalio/workflow";
import type { Activities } from "../workers/activities.ts";
import type { WebhookRequest, WebhookState } from "./types.ts";
import { LIFECYCLE_CHANGE_SIGNAL, LIFECYCLE_STATE_QUERY } from "../src/temporal/names.ts";

/** Asks for a change of the webhook's state. */
export const changeSignal = defineSignal<[WebhookRequest]>(LIFECYCLE_CHANGE_SIGNAL);
/** The state the workflow last applied. */
export const stateQuery = defineQuery<WebhookState>(LIFECYCLE_STATE_QUERY);

/** Runs before the history grows large; a fresh run starts with the same webhook. */
const CHANGES_PER_RUN = 500;

const { applyWebhookRequest } = proxyActivities<Activities>({
  startToCloseTimeout: "30s",
  retry: { initialInterval: "500ms", backoffCoefficient: 2, maximumInterval: "10s" },
});

/** Applies each requested change in order, for as long as the webhook exists. */
export async function webhookLifecycle(input: { webhookId: string }): Promise<WebhookState> {
  const pending: WebhookRequest[] = [];
  let state: WebhookState = { status: "unknown", deactivationReason: null };
  let applied = 0;

  setHandler(changeSignal, (request) => void pending.push(request));
  setHandler(stateQuery, () => state);

  for (;;) {
    await condition(() => pending.length > 0);
    while (pending.length > 0) {
      const request = pending.shift()!;
      state = await applyWebhookRequest({ webhookId: input.webhookId, request });
      applied += 1;
      if (state.status === "deleted") return state;
    }
    if (applied >= CHANGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof webhookLifecycle>(input);
    }
  }
}
