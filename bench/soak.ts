/**
 * The soak: a steady load for a long time (30 minutes by default), with one receiver in five
 * failing for a while each minute and recovering, watching each process's memory and counting what
 * every receiver got: a delivery lost or sent twice after its 200 shows here.
 */
import { read as readProcess } from "./resources.ts";
import { type Sink, startSink } from "./sinks.ts";
import { round } from "./stats.ts";

/** What the soak needs from the benchmark's stack. */
export interface SoakStack {
  /** Creates an organization with one webhook per sink URL; answers its API key. */
  organization(urls: string[]): Promise<string>;
  /** Publishes one event for the organization; answers the payload ids it made. */
  publish(key: string, i: number): Promise<string[]>;
  /** The processes to watch, by name. */
  pids: Record<string, () => number | undefined>;
  /** Waits until no payload waits for delivery. */
  drain(): Promise<void>;
  /** The payloads that did not end delivered, among these. */
  notDelivered(ids: string[]): Promise<number>;
  say(line: string): void;
}

/** A sink that answers 500 for `downSeconds` at the start of every minute, 200 otherwise. */
function flaky(downSeconds: number): () => number {
  return () => (Math.floor(Date.now() / 1000) % 60 < downSeconds ? 500 : 200);
}

/** The least-squares slope of (minute, MB) samples, in MB per hour. */
function slopePerHour(samples: Array<{ at: number; mb: number }>): number {
  if (samples.length < 2) return 0;
  const xs = samples.map((s) => s.at / 3_600_000);
  const ys = samples.map((s) => s.mb);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Publishes `deliveriesPerSecond / 5` events a second to five webhooks for `minutes`, the fifth's
 * receiver down 10 s of every minute (within the five attempts' 20 s, so nothing should fail).
 */
export async function runSoak(
  stack: SoakStack,
  options: { minutes: number; deliveriesPerSecond: number },
) {
  const sinks: Sink[] = [
    ...await Promise.all([0, 1, 2, 3].map(() => startSink())),
    await startSink(flaky(10)),
  ];
  const key = await stack.organization(sinks.map((s) => s.url));
  const eventsPerSecond = options.deliveriesPerSecond / sinks.length;
  const started = performance.now();
  const end = started + options.minutes * 60_000;
  const memory: Record<string, Array<{ at: number; mb: number }>> = {};
  const sample = () => {
    for (const [name, pid] of Object.entries(stack.pids)) {
      const id = pid();
      const r = id === undefined ? undefined : readProcess(id);
      if (r) (memory[name] ??= []).push({ at: performance.now() - started, mb: r.rssMb });
    }
  };
  sample();
  const sampler = setInterval(sample, 10_000);
  const ids: string[] = [];
  const pending: Promise<void>[] = [];
  let i = 0;
  try {
    while (performance.now() < end) {
      const due = started + (i * 1000) / eventsPerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(stack.publish(key, i).then((made) => void ids.push(...made)).catch(() => {}));
      i++;
      if (i % Math.max(1, Math.round(eventsPerSecond * 60)) === 0) {
        stack.say(`  soak: ${Math.round((performance.now() - started) / 60_000)} min, ${i} events`);
      }
    }
    await Promise.all(pending);
    await stack.drain();
  } finally {
    clearInterval(sampler);
  }
  sample();
  // A payload answered 200 more than once was sent again after its delivery: a duplicate.
  const duplicates = sinks.reduce((n, s) => n + s.deliveredAgain, 0);
  const result = {
    minutes: options.minutes,
    deliveriesPerSecond: options.deliveriesPerSecond,
    events: i,
    payloads: ids.length,
    delivered: sinks.reduce((n, s) => n + s.deliveredAt.size, 0),
    lost: await stack.notDelivered(ids),
    duplicates,
    memory: Object.fromEntries(
      Object.entries(memory).map(([name, samples]) => [name, {
        startMb: round(samples[0]!.mb),
        endMb: round(samples.at(-1)!.mb),
        peakMb: round(Math.max(...samples.map((s) => s.mb))),
        slopeMbPerHour: round(slopePerHour(samples)),
      }]),
    ),
  };
  await Promise.all(sinks.map((s) => s.close()));
  return result;
}
