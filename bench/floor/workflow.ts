/** The floor's workflow: one local activity that returns at once, nothing else. */
import { proxyLocalActivities } from "@temporalio/workflow";
import type * as activities from "./worker.ts";

const { noop } = proxyLocalActivities<typeof activities.floorActivities>({
  startToCloseTimeout: "10s",
});

/** The cheapest workflow with one activity: what one delivery costs Temporal at the least. */
export async function floorWorkflow(): Promise<void> {
  await noop();
}
