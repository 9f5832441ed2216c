/** Work that must settle within a time limit. */

/** The work did not settle in time. */
export class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
}

/**
 * Settles as `work` does, or rejects with DeadlineExceeded ("<what> did not answer within <ms> ms")
 * when it has not settled after `ms`. The work itself goes on; only the wait ends.
 */
export async function withinMs<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeadlineExceeded(`${what} did not answer within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
