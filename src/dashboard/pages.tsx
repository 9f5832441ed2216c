/** The dashboard's pages, rendered from what the API answered. */
import { PAYLOAD_STATUSES, type PayloadStatus } from "../domain/types.ts";
import type { Schemas } from "../client/mod.ts";
import { Badge, Confirm, Flash, Page, PostForm, TableBox, Time } from "./layout.tsx";
import { MAX_REPLAY } from "../usecases/replay.ts";
import type { AttemptTotals } from "../usecases/webhook_stats.ts";
import type {
  OperationalWebhookSummary,
  OrganizationSummary,
} from "../usecases/platform_overview.ts";
import {
  DeliveriesChart,
  DeliveriesTable,
  DELIVERY_LEGEND,
  LATENCY_LEGEND,
  LatencyChart,
  LatencyTable,
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
export { PAYLOAD_STATUSES };

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

/** The webhook's `rateLimit` in a form: empty for no limit. */
function RateLimitField(props: { value?: number | null }) {
  return (
    <label>
      Rate limit (POSTs per second, 1 to 10,000; empty for none){" "}
      <input
        type="number"
        name="rateLimit"
        min={1}
        max={10000}
        step={1}
        value={props.value ?? ""}
        placeholder="none"
      />
    </label>
  );
}

/** The webhook's configured `rateLimit`, and how and why Herald has slowed it, if it has. */
function FlowNotice(props: { webhook: Webhook }) {
  const { rateLimit, flowControl: flow } = props.webhook;
  const signal = flow?.lastSignal;
  return (
    <p data-flow>
      {"Rate limit: "}
      <strong data-rate-limit>{rateLimit === null ? "none" : `${rateLimit} per second`}</strong>
      {flow?.pace != null && (
        <span data-pace>{` · Herald now sends at most ${flow.pace} per second`}</span>
      )}
      {flow?.pausedUntil != null && (
        <span data-paused>
          {" · paused until "}
          <Time ms={flow.pausedUntil} /> (Retry-After)
        </span>
      )}
      {signal && (
        <span data-signal>
          {` · slowed after ${
            signal.status === null ? `a timeout (${signal.error ?? "no answer"})` : signal.status
          } `}
          <Time ms={signal.at} />
        </span>
      )}
    </p>
  );
}

/** The webhooks, each with how its last 24 hours went. */
function WebhookTable(props: { webhooks: { webhook: Webhook; totals?: AttemptTotals }[] }) {
  return (
    <TableBox label="Webhooks">
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
          {props.webhooks.map(({ webhook: w, totals }) => (
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
              <td data-success-rate>{percent(totals?.successRate ?? null)}</td>
              <td data-attempts>{totals?.attempts ?? "-"}</td>
              <td>
                <Time ms={w.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableBox>
  );
}

/** The form that creates a webhook: its URL and, optionally, everything else. */
function CreateWebhookForm(props: { csrf: string }) {
  const { csrf } = props;
  return (
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
        <RateLimitField />
        <button type="submit" class="primary">Create webhook</button>
      </PostForm>
    </div>
  );
}

/** The webhook list, each with how its last 24 hours went, and the create form. */
export function WebhooksPage(props: {
  csrf: string;
  webhooks: { webhook: Webhook; totals?: AttemptTotals }[];
  nextCursor: string | null;
  flash: Flashes;
}) {
  const { csrf } = props;
  return (
    <Page title="Webhooks" csrf={csrf}>
      <h1>Webhooks</h1>
      <Flash error={props.flash.error} notice={props.flash.notice} />
      <SecretNotice secret={props.flash.secret} />
      <WebhookTable webhooks={props.webhooks} />
      <p class="pager">
        {props.nextCursor && (
          <a href={`/webhooks?cursor=${encodeURIComponent(props.nextCursor)}`} rel="next">
            Next page →
          </a>
        )}
      </p>
      <CreateWebhookForm csrf={csrf} />
    </Page>
  );
}

/** Filters and paging of a webhook's deliveries, as the page's query has them. */
export interface DeliveryFilter {
  status?: PayloadStatus;
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
  const { csrf, webhook: w } = props;
  return (
    <Page title={w.name} csrf={csrf}>
      <WebhookHeading webhook={w} flash={props.flash} />
      <FlowNotice webhook={w} />
      <WebhookActions webhook={w} csrf={csrf} missed={props.missed} />
      <WebhookCharts stats={props.stats} />
      <WebhookSettings webhook={w} csrf={csrf} />
      <DeliveryList
        webhook={w}
        payloads={props.payloads}
        nextCursor={props.nextCursor}
        filter={props.filter}
      />
      <RecoverForm webhook={w} csrf={csrf} />
    </Page>
  );
}

/** The webhook's name, status, URL, subscription and headers, under the page's messages. */
function WebhookHeading(props: { webhook: Webhook; flash: Flashes }) {
  const { webhook: w } = props;
  return (
    <>
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
    </>
  );
}

/** Test send, (de)activation, the signing secret and deletion; destructive ones ask first. */
function WebhookActions(
  props: { webhook: Webhook; csrf: string; missed?: { since: number; count: number } },
) {
  const { webhook: w, csrf, missed } = props;
  const base = `/webhooks/${w.id}`;
  return (
    <>
      <div class="actions">
        <PostForm action={`${base}/test`} csrf={csrf} class="inline">
          <button type="submit">Send test event</button>
        </PostForm>
        {w.status === "active"
          ? (
            <Confirm
              label="Deactivate…"
              action={`${base}/deactivate`}
              csrf={csrf}
              confirm="Deactivate this webhook"
            >
              It receives nothing until it is reactivated, and payloads waiting for their next
              attempt end cancelled.
            </Confirm>
          )
          : (
            <PostForm action={`${base}/activate`} csrf={csrf} class="inline">
              <button type="submit" class="primary">Reactivate</button>
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
        <Confirm
          label="Rotate signing secret…"
          action={`${base}/rotate-secret`}
          csrf={csrf}
          confirm="Rotate the signing secret"
        >
          A new secret signs from now on; the current one also signs for 24 hours, so update the
          receiver before then.
        </Confirm>
        <Confirm
          label="Delete…"
          action={`${base}/delete`}
          csrf={csrf}
          confirm="Delete this webhook for good"
        >
          This cannot be undone: it receives nothing more, and payloads waiting for their next
          attempt end cancelled.
        </Confirm>
      </div>
    </>
  );
}

/** The last 24 hours: attempts, success rate and the two charts with their tables. */
function WebhookCharts(props: { stats: WebhookStats }) {
  const { stats } = props;
  return (
    <>
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
          <DeliveriesTable hours={stats.hours} />
        </figure>
        <figure>
          <figcaption>Attempt latency (ms)</figcaption>
          <LatencyChart hours={stats.hours} />
          <Legend items={LATENCY_LEGEND} />
          <LatencyTable hours={stats.hours} />
        </figure>
      </div>
    </>
  );
}

/** The settings form: every field the API lets an owner change. */
function WebhookSettings(props: { webhook: Webhook; csrf: string }) {
  const { webhook: w, csrf } = props;
  const base = `/webhooks/${w.id}`;
  return (
    <>
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
            <label class="check">
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
            <label class="check">
              <input type="checkbox" name="clearHeaders" value="1" /> Remove every header
            </label>
          )}
          <RateLimitField value={w.rateLimit} />
          <label>
            Ordering (for payloads created after a change){" "}
            <select name="ordering">
              <option value="none" selected={w.ordering === "none"}>none</option>
              <option value="object" selected={w.ordering === "object"}>
                object: one object's payloads in event order
              </option>
            </select>
          </label>
          <button type="submit" class="primary">Save</button>
        </PostForm>
      </div>
    </>
  );
}

/** The filters of a delivery list: status and event type. */
function DeliveryFilters(props: { base: string; filter: DeliveryFilter }) {
  const { base, filter } = props;
  return (
    <form method="get" action={base} class="filters">
      <label class="inline">
        Status{" "}
        <select name="status">
          <option value="">any</option>
          {PAYLOAD_STATUSES.map((s) => (
            <option key={s} value={s} selected={filter.status === s}>{s}</option>
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
  );
}

/** The webhook's deliveries, newest first, filtered by status and event type, by pages. */
function DeliveryList(props: {
  webhook: Webhook;
  payloads: PayloadSummary[];
  nextCursor: string | null;
  filter: DeliveryFilter;
}) {
  const { filter } = props;
  const base = `/webhooks/${props.webhook.id}`;
  return (
    <>
      <h2>Deliveries</h2>
      <DeliveryFilters base={base} filter={filter} />
      <TableBox label="Deliveries">
        <table id="deliveries">
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
                <td colspan={5}>
                  No deliveries{filter.status || filter.event ? " match" : " yet"}.
                </td>
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
      </TableBox>
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
    </>
  );
}

/** Resends every failed or cancelled payload since a time. */
function RecoverForm(props: { webhook: Webhook; csrf: string }) {
  const base = `/webhooks/${props.webhook.id}`;
  return (
    <>
      <div class="card">
        <h2>Recover</h2>
        <p>Resend every failed or cancelled payload created since a time (UTC), at most 10,000.</p>
        <PostForm action={`${base}/recover`} csrf={props.csrf}>
          <label>
            Since <input type="datetime-local" name="since" required />
          </label>
          <button type="submit" class="primary">Recover</button>
        </PostForm>
      </div>
    </>
  );
}

/** The body as last sent, indented; a body that is not JSON is shown as it is. */
function pretty(body: unknown): string {
  return JSON.stringify(body, null, 2);
}

/** A payload's times, run, cancel reason and workflow (a link into the Temporal UI). */
function PayloadFacts(props: { payload: Payload; temporalLink?: string }) {
  const { payload: p } = props;
  return (
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
  );
}

/** Every attempt of every run of a payload. */
function AttemptTable(props: { attempts: Payload["attemptLog"] }) {
  return (
    <TableBox label="Attempts">
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
          {props.attempts.length === 0 && (
            <tr>
              <td colspan={5}>No attempt yet.</td>
            </tr>
          )}
          {props.attempts.map((a) => (
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
    </TableBox>
  );
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
      <PayloadFacts payload={p} temporalLink={props.temporalLink} />
      {resendable && (
        <PostForm action={`/payloads/${p.id}/resend`} csrf={csrf}>
          <button type="submit" class="primary">Resend</button>
        </PostForm>
      )}
      <h2>Attempts</h2>
      <AttemptTable attempts={p.attemptLog} />
      <h2>Body as last sent</h2>
      {p.body ? <pre class="body" data-body>{pretty(p.body)}</pre> : <p>Not sent yet.</p>}
    </Page>
  );
}

/** A button that opens an organization's pages (a webhook's, with `webhook`). */
function OpenButton(
  props: { csrf: string; organization: string; webhook?: string; label: string },
) {
  return (
    <PostForm action={`/organizations/${props.organization}/open`} csrf={props.csrf} class="inline">
      {props.webhook && <input type="hidden" name="webhook" value={props.webhook} />}
      <button type="submit">{props.label}</button>
    </PostForm>
  );
}

/** The organizations, those with a deactivated webhook first. */
function OrganizationTable(props: { organizations: OrganizationSummary[]; csrf: string }) {
  const { csrf } = props;
  const overview = { organizations: props.organizations };
  const Open = (p: { organization: string; label: string }) => <OpenButton csrf={csrf} {...p} />;
  return (
    <TableBox label="Organizations">
      <table id="organizations">
        <thead>
          <tr>
            <th>Name</th>
            <th>Plan</th>
            <th>Webhooks</th>
            <th>Deactivated</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {overview.organizations.length === 0 && (
            <tr>
              <td colspan={5}>No organizations yet.</td>
            </tr>
          )}
          {overview.organizations.map((o) => (
            <tr data-organization={o.id}>
              <td>
                <Open organization={o.id} label={o.name} /> <small>{o.id}</small>
              </td>
              <td>{o.plan}</td>
              <td data-webhooks>{o.webhooks}</td>
              <td data-deactivated>
                {o.deactivated > 0 ? <Badge status="deactivated" /> : null} {o.deactivated}
              </td>
              <td>
                <Time ms={o.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableBox>
  );
}

/** The platform's operational webhooks, each opening its page. */
function OperationalWebhookTable(
  props: { webhooks: OperationalWebhookSummary[]; platformId: string; csrf: string },
) {
  const { csrf } = props;
  const overview = { operationalWebhooks: props.webhooks };
  const Open = (p: { organization: string; webhook?: string; label: string }) => (
    <OpenButton csrf={csrf} {...p} />
  );
  return (
    <TableBox label="Operational webhooks">
      <table id="operational-webhooks">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Events</th>
          </tr>
        </thead>
        <tbody>
          {overview.operationalWebhooks.length === 0 && (
            <tr>
              <td colspan={3}>None yet: POST /v1/operational-webhooks creates one.</td>
            </tr>
          )}
          {overview.operationalWebhooks.map((w) => (
            <tr data-operational-webhook={w.id}>
              <td>
                <Open organization={props.platformId} webhook={w.id} label={w.name} />
              </td>
              <td>
                <Badge status={w.status} title={w.deactivationReason ?? undefined} />
              </td>
              <td>{w.eventTypes.join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableBox>
  );
}

/**
 * The admin token's page: the organizations (those with a deactivated webhook first) and the
 * operational webhooks, each opening the pages an organization sees.
 */
export function OrganizationsPage(props: {
  csrf: string;
  overview: {
    organizations: OrganizationSummary[];
    total: number;
    operationalWebhooks: OperationalWebhookSummary[];
  };
  platformId: string;
  flash: Flashes;
}) {
  const { csrf, overview } = props;
  const Open = (p: { organization: string; webhook?: string; label: string }) => (
    <OpenButton csrf={csrf} {...p} />
  );
  return (
    <Page title="Organizations" csrf={csrf}>
      <h1>Organizations</h1>
      <Flash error={props.flash.error} notice={props.flash.notice} />
      <OrganizationTable organizations={overview.organizations} csrf={csrf} />
      {overview.total > overview.organizations.length && (
        <p>
          The first {overview.organizations.length} of {overview.total}{" "}
          organizations; the others are reached by the API.
        </p>
      )}
      <h2>Operational webhooks</h2>
      <p>
        They tell the platform when its organizations' webhooks are deactivated, reactivated or fail
        a payload.
      </p>
      <div class="actions">
        <Open organization={props.platformId} label="Open their pages" />
      </div>
      <OperationalWebhookTable
        webhooks={overview.operationalWebhooks}
        platformId={props.platformId}
        csrf={csrf}
      />
    </Page>
  );
}
