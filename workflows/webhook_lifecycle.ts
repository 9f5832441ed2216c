/**
 * A webhook's lifecycle: one workflow per webhook applies every change of its state
 * (deactivate, reactivate, delete) in the order received. Each change was recorded first as a
 * request, so one lost with a crash is sent again by the reconciler, and applied once. A change
 * asked by update is answered with the state it left, once applied.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  workflowInfo,
} from "@temporalio/workflow";
import type { Activities } from "../workers/activities.ts";
import type { WebhookRequest, WebhookState } from "./types.ts";
import {
  LIFECYCLE_CHANGE_SIGNAL,
  LIFECYCLE_CHANGE_UPDATE,
  LIFECYCLE_STATE_QUERY,
} from "../src/temporal/names.ts";

/** Asks for a change of the webhook's state. */
export const changeSignal = defineSignal<[WebhookRequest]>(LIFECYCLE_CHANGE_SIGNAL);
/** Asks for a change and answers with the state once it is applied. */
export const changeUpdate = defineUpdate<WebhookState, [WebhookRequest]>(LIFECYCLE_CHANGE_UPDATE);
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
  /** The state each awaited request left, until its update handler answers with it. */
  const answers = new Map<string, WebhookState | undefined>();

  setHandler(changeSignal, (request) => void pending.push(request));
  setHandler(changeUpdate, async (request) => {
    answers.set(request.requestId, undefined);
    pending.push(request);
    await condition(() => answers.get(request.requestId) !== undefined);
    const answer = answers.get(request.requestId)!;
    answers.delete(request.requestId);
    return answer;
  });
  setHandler(stateQuery, () => state);

  for (;;) {
    await condition(() => pending.length > 0);
    while (pending.length > 0) {
      const request = pending.shift()!;
      state = await applyWebhookRequest({ webhookId: input.webhookId, request });
      applied += 1;
      if (answers.has(request.requestId)) answers.set(request.requestId, state);
      if (state.status === "deleted") {
        // Every change asked after the deletion is answered with it too.
        for (const id of answers.keys()) answers.set(id, state);
        await condition(allHandlersFinished);
        return state;
      }
    }
    if (applied >= CHANGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      // Updates in flight are answered first; one that arrives meanwhile is applied in this run.
      await condition(() => allHandlersFinished() || pending.length > 0);
      if (pending.length === 0) await continueAsNew<typeof webhookLifecycle>(input);
    }
  }
}
