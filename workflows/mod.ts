/** Every workflow the worker runs. */
export { deliverPayload } from "./deliver_payload.ts";
export {
  deactivateSignal,
  deleteSignal,
  reactivateSignal,
  stateQuery,
  webhookLifecycle,
} from "./webhook_lifecycle.ts";
export { reconcilePayloads } from "./reconcile_payloads.ts";
