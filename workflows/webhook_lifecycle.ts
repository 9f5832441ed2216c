/** A webhook's lifecycle: one workflow per webhook serialises its deactivations and reactivations. */
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
import type { DeactivationReason, WebhookChange, WebhookState } from "./types.ts";

/** Deactivates the webhook for a reason. */
export const deactivateSignal = defineSignal<[DeactivationReason]>("deactivate");
/** Reactivates the webhook (refused while its organization is off the business plan). */
export const reactivateSignal = defineSignal("reactivate");
/** Ends the lifecycle of a deleted webhook. */
export const deleteSignal = defineSignal("delete");
/** The state the workflow last applied. */
export const stateQuery = defineQuery<WebhookState>("state");

/** Runs before the history grows large; a fresh run starts with the same webhook. */
const CHANGES_PER_RUN = 500;

const { applyWebhookChange } = proxyActivities<Activities>({
  startToCloseTimeout: "30s",
  retry: { initialInterval: "500ms", backoffCoefficient: 2, maximumInterval: "10s" },
});

/** Applies each signalled change in the order received, for as long as the webhook exists. */
export async function webhookLifecycle(input: { webhookId: string }): Promise<WebhookState> {
  const pending: WebhookChange[] = [];
  let state: WebhookState = { status: "unknown", deactivationReason: null, changesApplied: 0 };

  setHandler(deactivateSignal, (reason) => void pending.push({ kind: "deactivate", reason }));
  setHandler(reactivateSignal, () => void pending.push({ kind: "reactivate" }));
  setHandler(deleteSignal, () => void pending.push({ kind: "delete" }));
  setHandler(stateQuery, () => state);

  for (;;) {
    await condition(() => pending.length > 0);
    while (pending.length > 0) {
      const change = pending.shift()!;
      const applied = await applyWebhookChange({ webhookId: input.webhookId, change });
      state = { ...applied, changesApplied: state.changesApplied + 1 };
      if (state.status === "deleted") return state;
    }
    if (state.changesApplied >= CHANGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof webhookLifecycle>(input);
    }
  }
}
