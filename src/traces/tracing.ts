/** What an installed tracer provider offers the rest of Herald (src/traces/sdk.ts builds it). */
import type { ClientInterceptors } from "@temporalio/client";
import type { InjectedSinks, WorkerInterceptors } from "@temporalio/worker";

/** The installed tracer provider and what the Temporal client and worker take from it. */
export interface Tracing {
  /** Propagates the trace of a call into the workflows it starts (start headers). */
  clientInterceptors: ClientInterceptors;
  /** Spans for activities, re-parented under the workflow's, and the sink for workflow spans. */
  worker: { interceptors: WorkerInterceptors; sinks: InjectedSinks<never> };
  /** Sends the spans still buffered (the provider stays, for another Herald of this process). */
  flush(): Promise<void>;
}
