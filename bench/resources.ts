/** Peak RSS and CPU seconds of processes, sampled from /proc. */

const TICKS_PER_SECOND = 100;

export function read(pid: number): { rssMb: number; cpuSeconds: number } | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    return { rssMb: rssKb / 1024, cpuSeconds: cpu };
  } catch (err) {
    if (!warned) console.error(`Could not read /proc/${pid}: ${err}`);
    warned = true;
    return undefined;
  }
}

let warned = false;

/** CPU seconds of each thread of a process, summed by thread name (digits dropped). */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const stat = Deno.readTextFileSync(`/proc/${pid}/task/${entry.name}/stat`);
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
        const name = entry.name === String(pid) ? "main" : comm.replace(/[-\s]*\d+$/, "");
        out.set(name, (out.get(name) ?? 0) + cpu);
      } catch {
        // The thread ended meanwhile.
      }
    }
  } catch {
    // The process ended.
  }
  return out;
}

/** The children of a process (to find the Temporal server under its watchdog shell). */
export function childrenOf(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(
      Boolean,
    )
      .map(Number);
  } catch {
    return [];
  }
}

/** What one process used during a window. */
export interface ProcessResources {
  peakRssMb: number;
  cpuSeconds: number;
  threadCpuSeconds: Record<string, number>;
}

/** Samples named processes every 100 ms until stopped. */
export class ResourceSampler {
  #timer: ReturnType<typeof setInterval> | undefined;
  #start = new Map<string, number>();
  #peak = new Map<string, number>();
  #last = new Map<string, number>();
  #threadsAtStart = new Map<string, Map<string, number>>();

  constructor(readonly pids: Record<string, () => number | undefined>) {}

  /** Starts a measurement window. */
  start(): void {
    this.#peak.clear();
    this.#start.clear();
    for (const [name, pid] of Object.entries(this.pids)) {
      const r = pid() !== undefined ? read(pid()!) : undefined;
      if (r) this.#start.set(name, r.cpuSeconds);
      if (pid() !== undefined) this.#threadsAtStart.set(name, threadCpu(pid()!));
    }
    this.#timer = setInterval(() => this.#sample(), 100);
    this.#sample();
  }

  #sample(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      const id = pid();
      const r = id !== undefined ? read(id) : undefined;
      if (!r) continue;
      this.#peak.set(name, Math.max(this.#peak.get(name) ?? 0, r.rssMb));
      this.#last.set(name, r.cpuSeconds);
    }
  }

  /**
   * Ends the window: peak RSS (MB) and CPU seconds used in it, per process, with the CPU seconds
   * of its threads by name (threads that ended during the window are not counted).
   */
  stop(): Record<string, ProcessResources> {
    clearInterval(this.#timer);
    this.#sample();
    const out: Record<string, ProcessResources> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const id = pid();
      const threads: Record<string, number> = {};
      if (id !== undefined) {
        const before = this.#threadsAtStart.get(name) ?? new Map();
        for (const [thread, cpu] of threadCpu(id)) {
          const used = Math.round((cpu - (before.get(thread) ?? 0)) * 100) / 100;
          if (used > 0) threads[thread] = used;
        }
      }
      out[name] = {
        peakRssMb: Math.round(this.#peak.get(name) ?? 0),
        cpuSeconds: Math.round(((this.#last.get(name) ?? 0) - (this.#start.get(name) ?? 0)) * 100) /
          100,
        threadCpuSeconds: threads,
      };
    }
    return out;
  }
}
