/** The dashboard's pages, rendered from what the API answered. */
import type { Schemas } from "../client/mod.ts";
import { Badge, Flash, Page, PostForm, Time } from "./layout.tsx";
import { MAX_REPLAY } from "../usecases/replay.ts";
import {
  DeliveriesChart,
  DELIVERY_LEGEND,
  LATENCY_LEGEND,
  LatencyChart,
  Legend,
} from "./charts.tsx";

type Webhook = Schemas["Webhook"];
type WebhookStats = Schemas["WebhookStats"];
type PayloadSummary = Schemas["PayloadSummary"];
type Payload = Schemas["Payload"];

/** Messages shown above a page's content; `secret` is a signing secret shown once. */
export interface Flashes {
  error?: string;
  notice?: string;
  secret?: string;
}

/** The statuses a payload list can be filtered by. */
export const PAYLOAD_STATUSES = ["pending", "delivering", "delivered", "failed", "cancelled"];

/** A share as a percentage, or a dash. */
function percent(rate: number | null): string {
  return rate === null ? "-" : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)} %`;
}

/** How many missed events a replay would send ("more than 10,000" past what one sends). */
function missedCount(count: number): string {
  if (count > MAX_REPLAY) return `first ${MAX_REPLAY.toLocaleString("en")} events`;
  return count === 1 ? "1 event" : `${count.toLocaleString("en")} events`;
}

/** A signing secret shown once, after creation, rotation or a reveal. */
function SecretNotice(props: { secret?: string }) {
  if (!props.secret) return null;
  return (
    <div class="notice" role="status" id="signing-secret">
      Signing secret (keep it to verify signatures): <code data-secret>{props.secret}</code>
    </div>
  );
}

/** The webhook list, each with how its last 24 hours went, and the create form. */
export function WebhooksPage(props: {
  csrf: string;
  webhooks: { webhook: Webhook; stats?: WebhookStats }[];
  nextCursor: string | null;
  flash: Flashes;
}) {
  const { csrf } = props;
  return (
    <Page title="Webhooks" csrf={csrf}>
      <h1>Webhooks</h1>
      <Flash error={props.flash.error} notice={props.flash.notice} />
      <SecretNotice secret={props.flash.secret} />
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>URL</th>
            <th>Status</th>
            <th>Events</th>
            <th>Success (24 h)</th>
            <th>Attempts (24 h)</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {props.webhooks.length === 0 && (
            <tr>
              <td colspan={7}>No webhooks yet.</td>
            </tr>
          )}
          {props.webhooks.map(({ webhook: w, stats }) => (
            <tr data-webhook={w.id}>
              <td>
                <a href={`/webhooks/${w.id}`}>{w.name}</a>
              </td>
              <td>
                <code>{w.url}</code>
              </td>
              <td>
                <Badge status={w.status} title={w.deactivationReason ?? undefined} />
                {w.deactivationReason && <small>{w.deactivationReason}</small>}
              </td>
              <td data-event-types>{w.eventTypes.join(", ")}</td>
              <td data-success-rate>{percent(stats?.successRate ?? null)}</td>
              <td data-attempts>{stats?.attempts ?? "-"}</td>
              <td>
                <Time ms={w.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="pager">
        {props.nextCursor && (
          <a href={`/webhooks?cursor=${encodeURIComponent(props.nextCursor)}`} rel="next">
            Next page →
          </a>
        )}
      </p>
      <div class="card">
        <h2>Create webhook</h2>
        <PostForm action="/webhooks" csrf={csrf}>
          <label>
            Payload URL{" "}
            <input type="url" name="url" required placeholder="https://example.com/webhooks" />
          </label>
          <label>
            Name (optional) <input type="text" name="name" />
          </label>
          <label>
            Verify token (optional) <input type="text" name="verifyToken" />
          </label>
          <label>
            Event types{" "}
            <input
              type="text"
              name="eventTypes"
              placeholder="* (every event), or contact.*, order.paid"
            />
          </label>
          <label>
            Headers (one <code>Name: value</code> per line, optional)
            <textarea name="headers" rows={3}></textarea>
          </label>
          <button type="submit">Create webhook</button>
        </PostForm>
      </div>
    </Page>
  );
}

/** Filters and paging of a webhook's deliveries, as the page's query has them. */
export interface DeliveryFilter {
  status?: string;
  event?: string;
  cursor?: string;
}

/** The query string of a delivery list with these filters. */
export function filterQuery(filter: DeliveryFilter): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filter)) if (value) query.set(name, value);
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** One webhook: its state, actions, charts, settings and deliveries. */
export function WebhookPage(props: {
  csrf: string;
  webhook: Webhook;
  stats: WebhookStats;
  payloads: PayloadSummary[];
  nextCursor: string | null;
  filter: DeliveryFilter;
  /** What a reactivation could also send: the events missed since the deactivation. */
  missed?: { since: number; count: number };
  flash: Flashes;
}) {
  const { csrf, webhook: w, stats, filter, missed } = props;
  const base = `/webhooks/${w.id}`;
  return (
    <Page title={w.name} csrf={csrf}>
      <p>
        <a href="/webhooks">← Webhooks</a>
      </p>
      <h1>
        {w.name} <Badge status={w.status} title={w.deactivationReason ?? undefined} />
      </h1>
      <Flash error={props.flash.error} notice={props.flash.notice} />
      <SecretNotice secret={props.flash.secret} />
      <p>
        <code>{w.url}</code>
        {w.deactivationReason && (
          <span>
            {` — deactivated (${w.deactivationReason}) `}
            <Time ms={w.deactivatedAt} />
          </span>
        )}
      </p>
      <p>
        Events: <code data-event-types>{w.eventTypes.join(", ")}</code>
        {Object.keys(w.headers).length > 0 && (
          <span>
            {" · Headers: "}
            <code data-headers>
              {Object.entries(w.headers).map(([name, value]) => `${name}: ${value}`).join(", ")}
            </code>
          </span>
        )}
      </p>
      <div class="actions">
        <PostForm action={`${base}/test`} csrf={csrf} class="inline">
          <button type="submit">Send test event</button>
        </PostForm>
        {w.status === "active"
          ? (
            <PostForm action={`${base}/deactivate`} csrf={csrf} class="inline">
              <button type="submit">Deactivate</button>
            </PostForm>
          )
          : (
            <PostForm action={`${base}/activate`} csrf={csrf} class="inline">
              <button type="submit">Reactivate</button>
              {missed && missed.count > 0 && (
                <label class="inline" data-missed={missed.count}>
                  <input type="checkbox" name="replaySince" value={String(missed.since)} checked />
                  {` also send the ${missedCount(missed.count)} missed since it was deactivated`}
                </label>
              )}
            </PostForm>
          )}
        <PostForm action={`${base}/reveal-secret`} csrf={csrf} class="inline">
          <button type="submit">Reveal signing secret</button>
        </PostForm>
        <PostForm action={`${base}/rotate-secret`} csrf={csrf} class="inline">
          <button type="submit">Rotate signing secret</button>
        </PostForm>
        <details class="menu">
          <summary>Delete…</summary>
          <div>
            <PostForm action={`${base}/delete`} csrf={csrf}>
              <button type="submit">Delete this webhook for good</button>
            </PostForm>
          </div>
        </details>
      </div>

      <h2>Last 24 hours</h2>
      <p>
        {stats.attempts} {stats.attempts === 1 ? "attempt" : "attempts"}, success rate{" "}
        <strong data-success-rate>{percent(stats.successRate)}</strong>
      </p>
      <div class="charts">
        <figure>
          <figcaption>Deliveries per hour (UTC)</figcaption>
          <DeliveriesChart hours={stats.hours} />
          <Legend items={DELIVERY_LEGEND} />
        </figure>
        <figure>
          <figcaption>Attempt latency (ms)</figcaption>
          <LatencyChart hours={stats.hours} />
          <Legend items={LATENCY_LEGEND} />
        </figure>
      </div>

      <div class="card">
        <h2>Settings</h2>
        <PostForm action={`${base}/edit`} csrf={csrf}>
          <label>
            Payload URL <input type="url" name="url" value={w.url} required />
          </label>
          <label>
            Name <input type="text" name="name" value={w.name} required />
          </label>
          <label>
            Verify token{" "}
            <input
              type="text"
              name="verifyToken"
              placeholder={w.hasVerifyToken ? "set (leave empty to keep it)" : "none"}
            />
          </label>
          {w.hasVerifyToken && (
            <label>
              <input type="checkbox" name="clearVerifyToken" value="1" /> Remove the verify token
            </label>
          )}
          <label>
            Event types{" "}
            <input type="text" name="eventTypes" value={w.eventTypes.join(", ")} required />
          </label>
          <label>
            Headers (one <code>Name: value</code> per line; empty keeps{" "}
            {Object.keys(w.headers).length > 0
              ? `the ${Object.keys(w.headers).length} set, whose values are never shown`
              : "none"})
            <textarea name="headers" rows={3}></textarea>
          </label>
          {Object.keys(w.headers).length > 0 && (
            <label>
              <input type="checkbox" name="clearHeaders" value="1" /> Remove every header
            </label>
          )}
          <label>
            Ordering (for payloads created after a change){" "}
            <select name="ordering">
              <option value="none" selected={w.ordering === "none"}>none</option>
              <option value="object" selected={w.ordering === "object"}>
                object: one object's payloads in event order
              </option>
            </select>
          </label>
          <button type="submit">Save</button>
        </PostForm>
      </div>

      <h2>Deliveries</h2>
      <form method="get" action={base} class="filters">
        <label class="inline">
          Status{" "}
          <select name="status">
            <option value="">any</option>
            {PAYLOAD_STATUSES.map((s) => (
              <option value={s} selected={filter.status === s}>{s}</option>
            ))}
          </select>
        </label>
        <label class="inline">
          Event type{" "}
          <input
            type="text"
            name="event"
            value={filter.event ?? ""}
            placeholder="contact.created"
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      <table>
        <thead>
          <tr>
            <th>Payload</th>
            <th>Event</th>
            <th>Status</th>
            <th>Attempts</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {props.payloads.length === 0 && (
            <tr>
              <td colspan={5}>No deliveries{filter.status || filter.event ? " match" : " yet"}.</td>
            </tr>
          )}
          {props.payloads.map((p) => (
            <tr data-payload={p.id}>
              <td>
                <a href={`/payloads/${p.id}`}>
                  <code>{p.id}</code>
                </a>
              </td>
              <td>{p.event}</td>
              <td>
                <Badge status={p.status} title={p.cancelReason ?? undefined} />
              </td>
              <td>{p.attempts}{p.run > 1 ? ` (run ${p.run})` : ""}</td>
              <td>
                <Time ms={p.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="pager">
        {filter.cursor && (
          <a href={`${base}${filterQuery({ ...filter, cursor: undefined })}`}>Newest</a>
        )}
        {props.nextCursor && (
          <a href={`${base}${filterQuery({ ...filter, cursor: props.nextCursor })}`} rel="next">
            Older →
          </a>
        )}
      </p>

      <div class="card">
        <h2>Recover</h2>
        <p>Resend every failed or cancelled payload created since a time (UTC), at most 10,000.</p>
        <PostForm action={`${base}/recover`} csrf={csrf}>
          <label>
            Since <input type="datetime-local" name="since" required />
          </label>
          <button type="submit">Recover</button>
        </PostForm>
      </div>
    </Page>
  );
}

/** The body as last sent, indented; a body that is not JSON is shown as it is. */
function pretty(body: unknown): string {
  return JSON.stringify(body, null, 2);
}

/** One payload: its state, its body as last sent, and every attempt. */
export function PayloadPage(props: {
  csrf: string;
  payload: Payload;
  webhook?: Webhook;
  temporalLink?: string;
  flash: Flashes;
}) {
  const { csrf, payload: p } = props;
  const resendable = p.status === "failed" || p.status === "cancelled";
  return (
    <Page title={`Payload ${p.id}`} csrf={csrf}>
      <p>
        <a href={`/webhooks/${p.webhookId}`}>← {props.webhook?.name ?? "Webhook"}</a>
      </p>
      <h1>
        {p.event} <Badge status={p.status} title={p.cancelReason ?? undefined} />
      </h1>
      <Flash error={props.flash.error} notice={props.flash.notice} />
      <dl class="facts">
        <dt>Payload</dt>
        <dd>
          <code>{p.id}</code>
        </dd>
        <dt>Created</dt>
        <dd>
          <Time ms={p.createdAt} />
        </dd>
        <dt>First sent</dt>
        <dd>
          <Time ms={p.firstSentAt} />
        </dd>
        <dt>Finished</dt>
        <dd>
          <Time ms={p.finishedAt} />
        </dd>
        <dt>Run</dt>
        <dd>{p.run}</dd>
        {p.cancelReason && (
          <>
            <dt>Cancelled because</dt>
            <dd>{p.cancelReason}</dd>
          </>
        )}
        <dt>Workflow</dt>
        <dd>
          {props.temporalLink
            ? (
              <a href={props.temporalLink} target="_blank" rel="noopener">
                {p.workflowId} in the Temporal UI
              </a>
            )
            : <code>{p.workflowId}</code>}
        </dd>
      </dl>
      {resendable && (
        <PostForm action={`/payloads/${p.id}/resend`} csrf={csrf}>
          <button type="submit">Resend</button>
        </PostForm>
      )}
      <h2>Attempts</h2>
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>Started</th>
            <th>Answer</th>
            <th>Latency</th>
            <th>Response body (first 1 KiB)</th>
          </tr>
        </thead>
        <tbody>
          {p.attemptLog.length === 0 && (
            <tr>
              <td colspan={5}>No attempt yet.</td>
            </tr>
          )}
          {p.attemptLog.map((a) => (
            <tr class="attempt" data-attempt={`${a.run}.${a.number}`}>
              <td>
                {a.number}
                {a.run > 1 ? ` (run ${a.run})` : ""}
              </td>
              <td>
                <Time ms={a.startedAt} />
              </td>
              <td>
                <strong>{a.responseStatus ?? "error"}</strong> {a.error && <em>{a.error}</em>}
              </td>
              <td>{a.durationMs} ms</td>
              <td>{a.responseBody && <pre>{a.responseBody}</pre>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Body as last sent</h2>
      {p.body ? <pre class="body" data-body>{pretty(p.body)}</pre> : <p>Not sent yet.</p>}
    </Page>
  );
}
