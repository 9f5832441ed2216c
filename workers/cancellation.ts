/** Activities that end when Temporal cancels them, whatever they wait on. */
import { Context } from "@temporalio/activity";

/**
 * Each activity ends when it is cancelled (a worker's stop, past its grace time), even while it
 * waits on a database connection that died: a hung query must not hold the worker's stop.
 */
// deno-lint-ignore no-explicit-any
export function untilCancelled<T extends Record<string, (...args: any[]) => Promise<unknown>>>(
  activities: T,
): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, run]) => [
      name,
      // deno-lint-ignore no-explicit-any
      (...args: any[]) => Promise.race([run(...args), Context.current().cancelled]),
    ]),
  ) as T;
}
