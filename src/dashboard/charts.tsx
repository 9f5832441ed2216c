/**
 * Charts drawn on the server as inline SVG: no script, no stylesheet beyond Herald's own, so they
 * render under the dashboard's Content-Security-Policy and without JavaScript.
 */
import type { HourStats } from "../usecases/webhook_stats.ts";

const WIDTH = 720;
const HEIGHT = 170;
const LEFT = 44;
const BOTTOM = 22;
const TOP = 10;
const PLOT_W = WIDTH - LEFT - 8;
const PLOT_H = HEIGHT - TOP - BOTTOM;

/** The outcomes a bar stacks, bottom to top, with their colours. */
const OUTCOMES = [
  ["delivered", "#3ebd93"],
  ["failed", "#e12d39"],
  ["cancelled", "#9aa5b1"],
  ["open", "#f0b429"],
] as const;

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

/** Axis lines, the top value and the hour labels every six hours. */
function Frame(props: { hours: HourStats[]; top: number; unit: string }) {
  const step = PLOT_W / props.hours.length;
  return (
    <g>
      <line x1={LEFT} y1={TOP} x2={LEFT} y2={TOP + PLOT_H} stroke="#9aa5b1" />
      <line x1={LEFT} y1={TOP + PLOT_H} x2={LEFT + PLOT_W} y2={TOP + PLOT_H} stroke="#9aa5b1" />
      <line
        x1={LEFT}
        y1={TOP}
        x2={LEFT + PLOT_W}
        y2={TOP}
        stroke="#e4e7eb"
        stroke-dasharray="3 3"
      />
      <text x={LEFT - 4} y={TOP + 4} text-anchor="end" font-size="10" fill="#52606d">
        {props.top}
        {props.unit}
      </text>
      <text x={LEFT - 4} y={TOP + PLOT_H} text-anchor="end" font-size="10" fill="#52606d">0</text>
      {props.hours.map((h, i) =>
        i % 6 === 0
          ? (
            <text x={LEFT + i * step} y={HEIGHT - 6} font-size="10" fill="#52606d">
              {hourLabel(h.hour)}
            </text>
          )
          : null
      )}
    </g>
  );
}

/** Payloads per hour, stacked by outcome. */
export function DeliveriesChart(props: { hours: HourStats[] }) {
  const totals = props.hours.map((h) => h.delivered + h.failed + h.cancelled + h.open);
  const top = niceCeiling(Math.max(0, ...totals));
  const step = PLOT_W / props.hours.length;
  const scale = PLOT_H / top;
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label="Deliveries per hour over the last 24 hours, by outcome"
      data-chart="deliveries"
    >
      <title>Deliveries per hour (UTC), by outcome</title>
      <Frame hours={props.hours} top={top} unit="" />
      {props.hours.map((h, i) => {
        let y = TOP + PLOT_H;
        return OUTCOMES.map(([outcome, colour]) => {
          const count = h[outcome];
          if (count === 0) return null;
          const height = count * scale;
          y -= height;
          return (
            <rect
              x={LEFT + i * step + 1}
              y={y}
              width={Math.max(1, step - 2)}
              height={height}
              fill={colour}
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
  const lines = [
    ["p95", "#e12d39", points((h) => h.p95Ms)],
    ["p50", "#2680c2", points((h) => h.p50Ms)],
  ] as const;
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label="Attempt latency per hour over the last 24 hours: median and 95th percentile"
      data-chart="latency"
    >
      <title>Attempt latency per hour (UTC): p50 and p95</title>
      <Frame hours={props.hours} top={top} unit=" ms" />
      {lines.map(([name, colour, path]) =>
        path
          ? (
            <g data-series={name}>
              <polyline points={path} fill="none" stroke={colour} stroke-width="2" />
              {path.split(" ").map((p) => {
                const [x, y] = p.split(",");
                return <circle key={p} cx={x} cy={y} r="2.5" fill={colour} />;
              })}
            </g>
          )
          : null
      )}
    </svg>
  );
}

/** The charts' legend. */
export function Legend(props: { items: readonly (readonly [string, string])[] }) {
  return (
    <p class="legend">
      {props.items.map(([label, colour]) => (
        <span>
          <svg width="10" height="10" aria-hidden="true">
            <rect width="10" height="10" fill={colour} />
          </svg>{" "}
          {label}
        </span>
      ))}
    </p>
  );
}

/** The deliveries chart's legend entries. */
export const DELIVERY_LEGEND = OUTCOMES;
/** The latency chart's legend entries. */
export const LATENCY_LEGEND = [["p50", "#2680c2"], ["p95", "#e12d39"]] as const;
