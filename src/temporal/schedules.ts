/** Herald's Temporal Schedules: created on first start, brought up to date on every later one. */
import { type Client, ScheduleAlreadyRunning } from "@temporalio/client";
import { log } from "../log.ts";

/** What a schedule starts. */
export type ScheduleAction = Parameters<Client["schedule"]["create"]>[0]["action"];

/**
 * Creates a schedule that runs `action` every `everyMs` (a run still going skips the next), or
 * updates the one that exists to this interval and action; `what` names it in a warning.
 */
export async function upsertSchedule(
  client: Client,
  scheduleId: string,
  everyMs: number,
  action: ScheduleAction,
  what: string,
): Promise<void> {
  const spec = { intervals: [{ every: everyMs }] };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: "SKIP", catchupWindow: "1m" },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({
      ...previous,
      spec,
      action,
    })).catch((updateError) =>
      log.warn(`could not update the ${what} schedule`, { error: String(updateError) })
    );
  }
}
