/** Every workflow the worker runs. */
export { deliverPayload } from "./deliver_payload.ts";
export { changeSignal, stateQuery, webhookLifecycle } from "./webhook_lifecycle.ts";
export { reconcile } from "./reconcile.ts";
export { enforceRetention } from "./retention.ts";
