/** Prometheus metrics of this process: counters and a histogram, in the text exposition format. */

type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) =>
      `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
    )
    .join(",");
}

/** A counter with labels. */
export class Counter {
  readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  /** Adds `by` (1) to the series of these labels. */
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines;
  }
}

/** A histogram of seconds with fixed buckets. */
export class Histogram {
  readonly series = new Map<string, { buckets: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly bounds: number[]) {}
  /** Records one observation. */
  observe(seconds: number, labels: Labels = {}): void {
    const k = key(labels);
    const s = this.series.get(k) ?? { buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
    this.bounds.forEach((bound, i) => {
      if (seconds <= bound) s.buckets[i]!++;
    });
    s.sum += seconds;
    s.count++;
    this.series.set(k, s);
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : "";
      this.bounds.forEach((bound, i) =>
        lines.push(`${this.name}_bucket{${sep}le="${bound}"} ${s.buckets[i]}`)
      );
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ""} ${s.count}`);
    }
    return lines;
  }
}

/** The process's metrics. */
export const metrics = {
  deliveries: new Counter("herald_deliveries_total", "Payload deliveries that ended, by outcome"),
  attempts: new Counter(
    "herald_attempts_total",
    "HTTP attempts, by outcome (success, failure, refused)",
  ),
  attemptDuration: new Histogram(
    "herald_attempt_duration_seconds",
    "Duration of one HTTP attempt",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ),
  httpRequests: new Counter(
    "herald_http_requests_total",
    "API requests, by method, route and status",
  ),
  deliveryStarts: new Counter(
    "herald_delivery_starts_total",
    "Delivery workflows this process started, by whether the server started them eagerly",
  ),
  deliveryWaits: new Counter(
    "herald_delivery_waits_total",
    "Waits of a delivery before its POST, by reason (rate_limit, retry_after, overload, ordering)",
  ),
};

/** Renders this process's series, followed by gauges the caller read elsewhere. */
export function renderMetrics(
  gauges: Array<{ name: string; help: string; values: Array<[Labels, number]> }>,
): string {
  const lines = [
    ...metrics.deliveries.render(),
    ...metrics.attempts.render(),
    ...metrics.attemptDuration.render(),
    ...metrics.httpRequests.render(),
    ...metrics.deliveryStarts.render(),
    ...metrics.deliveryWaits.render(),
  ];
  return lines.join("\n") + "\n" + renderGauges(gauges);
}

/** Gauges in the Prometheus text format. */
export function renderGauges(
  gauges: Array<{ name: string; help: string; values: Array<[Labels, number]> }>,
): string {
  const lines: string[] = [];
  for (const gauge of gauges) {
    lines.push(`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} gauge`);
    for (const [labels, value] of gauge.values) {
      const k = key(labels);
      lines.push(`${gauge.name}${k ? `{${k}}` : ""} ${value}`);
    }
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}
