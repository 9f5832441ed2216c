/**
 * Starts delivery workflows behind the API's answer. An event is durable once its payloads are
 * committed (the reconciler starts whatever a crash leaves `pending`), so the publisher need not
 * wait for Temporal: the API hands the committed payloads to this starter and answers 202.
 */
import type { DeliveryStart } from "../temporal/deliveries.ts";
import { log } from "../log.ts";
import type { UseCaseDeps } from "./deps.ts";
import { startDeliveries } from "./events.ts";
import { currentTraceContext } from "../traces/context.ts";

/** How many payloads one round of starts takes (each round starts at most 32 at once). */
const ROUND = 256;

/** Starts one round of committed payloads (`startDeliveries` over the use cases' deps). */
export type StartRound = (payloads: DeliveryStart[]) => Promise<void>;

/** A queue of committed payloads and one loop that starts them. */
export class DeliveryStarter {
  readonly #start: StartRound;
  readonly #maxQueued: number;
  readonly #traced: boolean;
  #queue: DeliveryStart[] = [];
  #running: Promise<void> | undefined;
  /** Publishers waiting for room in a full queue. */
  #waiting: Array<() => void> = [];
  #closed = false;
  /** Set when a stop stops waiting: the loop takes no further round. */
  #abandoned = false;

  /** `maxQueued` bounds memory: past it, publishers wait for room (the ingest slows down). */
  constructor(start: StartRound, maxQueued = 10_000, traced = false) {
    this.#start = start;
    this.#maxQueued = maxQueued;
    this.#traced = traced;
  }

  /**
   * A starter of the deliveries of `deps`. When `traced`, each start joins the trace of the call
   * that queued it (the loop itself runs in the trace of whichever call began it).
   */
  static over(deps: UseCaseDeps, options: { maxQueued?: number; traced?: boolean } = {}) {
    return new DeliveryStarter(
      (round) => startDeliveries(deps, round),
      options.maxQueued,
      options.traced,
    );
  }

  /**
   * Queues committed payloads for their starts; resolves at once unless the queue is full. After
   * `close`, payloads are left `pending` for the reconciler.
   */
  async enqueue(payloads: DeliveryStart[]): Promise<void> {
    if (payloads.length === 0 || this.#closed) return;
    while (this.#queue.length >= this.#maxQueued && !this.#closed) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    if (this.#traced) {
      const traceContext = currentTraceContext();
      payloads = payloads.map((payload) => ({ ...payload, traceContext }));
    }
    this.#queue.push(...payloads);
    this.#running ??= this.#run();
  }

  async #run(): Promise<void> {
    // The loop clears `#running` in the same step that finds the queue empty, so an enqueue
    // that comes after that step starts a new loop rather than leaving its payloads unstarted.
    // It yields first, so `#running` is set before the loop can clear it.
    for (;;) {
      await Promise.resolve();
      if (this.#queue.length === 0 || this.#abandoned) {
        this.#running = undefined;
        return;
      }
      const round = this.#queue.splice(0, ROUND);
      for (const wake of this.#waiting.splice(0)) wake();
      try {
        await this.#start(round);
      } catch (err) {
        // Left `pending`: the reconciler starts them.
        log.error("could not start deliveries", { count: round.length, error: String(err) });
      }
    }
  }

  /**
   * Stops taking payloads and waits up to `ms` for the queued ones to start; what is left stays
   * `pending` in the database, and the reconciler starts it.
   */
  async close(ms: number): Promise<void> {
    this.#closed = true;
    for (const wake of this.#waiting.splice(0)) wake();
    const running = this.#running;
    if (!running) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      running,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
    this.#abandoned = true;
    if (this.#queue.length > 0) {
      log.warn("stopping with deliveries not started; the reconciler starts them", {
        count: this.#queue.length,
      });
    }
  }
}
