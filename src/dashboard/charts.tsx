/**
 * Charts drawn on the server as inline SVG: no script, coloured by Herald's one stylesheet (so
 * they follow dark mode), with labelled axes, a summary for screen readers, and their numbers as a
 * table for anyone who wants them.
 */
import type { HourStats } from "../usecases/webhook_stats.ts";
import { TableBox } from "./layout.tsx";

const WIDTH = 420;
const HEIGHT = 200;
const LEFT = 50;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 40;
const PLOT_W = WIDTH - LEFT - RIGHT;
const PLOT_H = HEIGHT - TOP - BOTTOM;

/** The outcomes a bar stacks, bottom to top; the stylesheet colours each by its class. */
const OUTCOMES = ["delivered", "failed", "cancelled", "open"] as const;
/** The latency chart's series. */
const SERIES = ["p50", "p95"] as const;

/** A round number at or above `value`, for an axis's top. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** The hour of a bucket as `HH:00` UTC. */
function hourLabel(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 13)}:00`;
}

/** The axes: ticks at 0, half and the top, hours every six, and a title on each. */
function Frame(props: { hours: HourStats[]; top: number; yTitle: string }) {
  const step = PLOT_W / props.hours.length;
  const ticks = props.top >= 2 && props.top % 2 === 0
    ? [0, props.top / 2, props.top]
    : [0, props.top];
  return (
    <g>
      {ticks.map((value) => {
        const y = TOP + PLOT_H - (value / props.top) * PLOT_H;
        return (
          <g>
            {value > 0 && <line class="grid" x1={LEFT} y1={y} x2={LEFT + PLOT_W} y2={y} />}
            <text x={LEFT - 5} y={y + 4} text-anchor="end">{value}</text>
          </g>
        );
      })}
      <line class="axis" x1={LEFT} y1={TOP} x2={LEFT} y2={TOP + PLOT_H} />
      <line class="axis" x1={LEFT} y1={TOP + PLOT_H} x2={LEFT + PLOT_W} y2={TOP + PLOT_H} />
      {props.hours.map((h, i) =>
        i % 6 === 0
          ? (
            <text x={LEFT + i * step} y={TOP + PLOT_H + 15}>
              {hourLabel(h.hour)}
            </text>
          )
          : null
      )}
      <text class="axis-title" x={LEFT + PLOT_W / 2} y={HEIGHT - 4} text-anchor="middle">
        Hour (UTC)
      </text>
      <text
        class="axis-title"
        x={-(TOP + PLOT_H / 2)}
        y={14}
        transform="rotate(-90)"
        text-anchor="middle"
      >
        {props.yTitle}
      </text>
    </g>
  );
}

/** Payloads per hour, stacked by outcome. */
export function DeliveriesChart(props: { hours: HourStats[] }) {
  const totals = props.hours.map((h) => h.delivered + h.failed + h.cancelled + h.open);
  const top = niceCeiling(Math.max(0, ...totals));
  const step = PLOT_W / props.hours.length;
  const scale = PLOT_H / top;
  const sums = OUTCOMES.map((o) => `${props.hours.reduce((n, h) => n + h[o], 0)} ${o}`);
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`Payloads per hour over the last 24 hours, by outcome: ${sums.join(", ")}. ` +
        "The table below lists each hour."}
      data-chart="deliveries"
    >
      <Frame hours={props.hours} top={top} yTitle="Payloads" />
      {props.hours.map((h, i) => {
        let y = TOP + PLOT_H;
        return OUTCOMES.map((outcome) => {
          const count = h[outcome];
          if (count === 0) return null;
          const height = count * scale;
          y -= height;
          return (
            <rect
              class={outcome}
              x={LEFT + i * step + 1}
              y={y}
              width={Math.max(1, step - 2)}
              height={height}
              data-outcome={outcome}
              data-count={count}
            >
              <title>{`${hourLabel(h.hour)}: ${count} ${outcome}`}</title>
            </rect>
          );
        });
      })}
    </svg>
  );
}

/** Attempt latency per hour: the median and the 95th percentile. */
export function LatencyChart(props: { hours: HourStats[] }) {
  const top = niceCeiling(Math.max(0, ...props.hours.map((h) => h.p95Ms ?? 0)));
  const step = PLOT_W / props.hours.length;
  const points = (pick: (h: HourStats) => number | null) =>
    props.hours.flatMap((h, i) => {
      const value = pick(h);
      if (value === null) return [];
      return [`${LEFT + i * step + step / 2},${TOP + PLOT_H - (value / top) * PLOT_H}`];
    }).join(" ");
  const p95s = props.hours.flatMap((h) => h.p95Ms === null ? [] : [h.p95Ms]);
  const summary = p95s.length
    ? `95th percentile at most ${Math.max(...p95s)} ms in any hour`
    : "no attempts yet";
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`Attempt latency per hour over the last 24 hours, median and 95th percentile: ${summary}. ` +
        "The table below lists each hour."}
      data-chart="latency"
    >
      <Frame hours={props.hours} top={top} yTitle="Latency (ms)" />
      {SERIES.map((name) => {
        const path = points((h) => name === "p50" ? h.p50Ms : h.p95Ms);
        return path
          ? (
            <g class={name} data-series={name}>
              <polyline points={path} />
              {path.split(" ").map((p) => {
                const [x, y] = p.split(",");
                return <circle key={p} cx={x} cy={y} r="2.5" />;
              })}
            </g>
          )
          : null;
      })}
    </svg>
  );
}

/** The charts' legend: a swatch and a name per series. */
export function Legend(props: { items: readonly (readonly [string, string])[] }) {
  return (
    <p class="legend">
      {props.items.map(([name, label]) => (
        <span>
          <svg width="10" height="10" aria-hidden="true">
            <rect class={`swatch ${name}`} width="10" height="10" />
          </svg>{" "}
          {label}
        </span>
      ))}
    </p>
  );
}

/** The deliveries chart's legend entries: class and label. */
export const DELIVERY_LEGEND = [
  ["delivered", "delivered"],
  ["failed", "failed"],
  ["cancelled", "cancelled"],
  ["open", "open (pending or delivering)"],
] as const;
/** The latency chart's legend entries: class and label. */
export const LATENCY_LEGEND = [["p50", "p50 (median)"], ["p95", "p95"]] as const;

/** A chart's numbers as a table, folded away under a summary. */
function ChartData(props: { title: string; head: string[]; rows: (string | number)[][] }) {
  return (
    <details class="chart-data">
      <summary>{props.title} as a table</summary>
      <TableBox label={props.title}>
        <table>
          <thead>
            <tr>
              {props.head.map((h, i) => <th key={i} class={i > 0 ? "number" : undefined}>{h}</th>)}
            </tr>
          </thead>
          <tbody>
            {props.rows.map((row) => (
              <tr>
                {row.map((cell, i) => <td key={i} class={i > 0 ? "number" : undefined}>{cell}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </TableBox>
    </details>
  );
}

/** The deliveries chart's numbers, hour by hour. */
export function DeliveriesTable(props: { hours: HourStats[] }) {
  return (
    <ChartData
      title="Payloads per hour"
      head={["Hour (UTC)", "Delivered", "Failed", "Cancelled", "Open"]}
      rows={props.hours.map((h) => [
        hourLabel(h.hour),
        h.delivered,
        h.failed,
        h.cancelled,
        h.open,
      ])}
    />
  );
}

/** The latency chart's numbers, hour by hour. */
export function LatencyTable(props: { hours: HourStats[] }) {
  return (
    <ChartData
      title="Attempt latency per hour"
      head={["Hour (UTC)", "Attempts", "p50 (ms)", "p95 (ms)"]}
      rows={props.hours.map((h) => [
        hourLabel(h.hour),
        h.attempts,
        h.p50Ms ?? "-",
        h.p95Ms ?? "-",
      ])}
    />
  );
}
