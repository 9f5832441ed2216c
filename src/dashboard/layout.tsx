/** The dashboard's page frame and small shared pieces. */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Child } from "hono/jsx";
import { CSRF_FIELD } from "./guard.ts";
import type { MiddlewareHandler } from "hono";
import { adminView, productName, sessionEndsAt } from "./page_context.ts";

/** The banner of the request being rendered: set once per request, read by every page. */
const banner = new AsyncLocalStorage<string | undefined>();

/**
 * Middleware that shows what `read` says (that no worker polls, say) as a banner on every page
 * rendered while the request runs; nothing when it says nothing or fails.
 */
export function bannerOnEveryPage(read?: () => Promise<string | undefined>): MiddlewareHandler {
  return async (_c, next) => {
    const text = read ? await read().catch(() => undefined) : undefined;
    await banner.run(text, next);
  };
}

/** The dashboard's stylesheet, served at `/assets/dashboard.css` (no inline styles: see the CSP). */
export const STYLESHEET = `
  :root { font-family: system-ui, sans-serif; color: #1f2933; background: #f5f7fa; }
  body { margin: 0; }
  header { background: #102a43; color: #fff; padding: 12px 24px; display: flex; gap: 24px; align-items: center; }
  header a { color: #d9e2ec; text-decoration: none; }
  header strong { font-size: 18px; }
  main { max-width: 1100px; margin: 24px auto; padding: 0 24px; }
  table { width: 100%; border-collapse: collapse; background: #fff; }
  th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
  th { background: #f0f4f8; font-weight: 600; }
  .badge { padding: 2px 8px; border-radius: 10px; font-size: 12px; }
  .active, .delivered { background: #c6f7e2; color: #014d40; }
  .deactivated, .failed { background: #ffe3e3; color: #610404; }
  .pending, .delivering { background: #fff3c4; color: #5c4813; }
  .cancelled { background: #e4e7eb; color: #323f4b; }
  .card { background: #fff; padding: 16px; border: 1px solid #e4e7eb; border-radius: 6px; margin-bottom: 16px; }
  .error { background: #ffe3e3; color: #610404; padding: 10px 14px; border-radius: 6px; margin-bottom: 16px; }
  .banner { background: #fff3c4; color: #5c4813; padding: 10px 24px; border-bottom: 1px solid #f0b429; }
  .notice { background: #e3f8ff; color: #035388; padding: 10px 14px; border-radius: 6px; margin-bottom: 16px; }
  code, pre { font-family: ui-monospace, monospace; font-size: 13px; }
  pre { white-space: pre-wrap; word-break: break-all; margin: 0; }
  form.inline { display: inline; }
  details.menu { display: inline-block; position: relative; }
  details.menu > div { position: absolute; right: 0; background: #fff; border: 1px solid #cbd2d9; padding: 6px; z-index: 1; min-width: 150px; }
  details.menu button { display: block; width: 100%; text-align: left; margin: 2px 0; }
  input[type=text], input[type=url], input[type=password] { padding: 6px; width: 360px; }
  textarea { display: block; width: 480px; padding: 6px; font-family: ui-monospace, monospace; }
  button { padding: 5px 12px; cursor: pointer; }
  label { display: block; margin: 8px 0; }
  header form { margin-left: auto; }
  .session-ends { font-size: 13px; color: #d9e2ec; }
  .actions { display: flex; gap: 8px; align-items: flex-start; margin-bottom: 16px; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; margin-bottom: 16px; }
  figure { margin: 0; background: #fff; border: 1px solid #e4e7eb; border-radius: 6px; padding: 8px; }
  figcaption { font-weight: 600; margin-bottom: 4px; }
  svg.chart { width: 100%; height: auto; display: block; }
  .legend { display: flex; gap: 14px; font-size: 12px; margin: 4px 0 0; }
  .pager { display: flex; gap: 16px; }
  .filters { display: flex; gap: 12px; align-items: center; margin-bottom: 8px; }
  label.inline { display: inline; margin: 0; }
  .filters input[type=text] { width: 200px; }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
  dl.facts dt { font-weight: 600; }
  dl.facts dd { margin: 0; }
  pre.body { background: #fff; border: 1px solid #e4e7eb; padding: 12px; border-radius: 6px; }
  small { color: #52606d; margin-left: 6px; }
`;

/** A form that posts to the dashboard, with the session's CSRF token. */
export function PostForm(
  props: { action: string; csrf: string; class?: string; children?: Child },
) {
  return (
    <form method="post" action={props.action} class={props.class}>
      <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
      {props.children}
    </form>
  );
}

/** A whole page; `csrf` is set when someone is signed in. */
export function Page(props: { title: string; csrf?: string; children?: Child }) {
  const name = productName();
  const endsAt = props.csrf ? sessionEndsAt() : undefined;
  const admin = props.csrf ? adminView() : undefined;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · {name}</title>
        <link rel="stylesheet" href="/assets/dashboard.css" />
      </head>
      <body>
        <header>
          <strong>{name}</strong>
          {admin && <a href="/organizations">Organizations</a>}
          {props.csrf && (!admin || admin.organization) && <a href="/webhooks">Webhooks</a>}
          {admin?.organization && <span data-acting-for>Viewing {admin.organization}</span>}
          <a href="/docs">API docs</a>
          {endsAt !== undefined && (
            <span class="session-ends" data-session-ends>
              Session ends <Time ms={endsAt} /> UTC
            </span>
          )}
          {props.csrf && (
            <PostForm action="/sign-out" csrf={props.csrf} class="inline">
              <button type="submit">Sign out</button>
            </PostForm>
          )}
        </header>
        {banner.getStore() && (
          <div class="banner" role="status" id="banner">{banner.getStore()}</div>
        )}
        <main>{props.children}</main>
      </body>
    </html>
  );
}

/** A status as a coloured badge. */
export function Badge(props: { status: string; title?: string }) {
  return <span class={`badge ${props.status}`} title={props.title}>{props.status}</span>;
}

/** A message shown above a page's content. */
export function Flash(props: { error?: string; notice?: string }) {
  return (
    <>
      {props.error && <div class="error" role="alert">{props.error}</div>}
      {props.notice && <div class="notice" role="status">{props.notice}</div>}
    </>
  );
}

/** A time in milliseconds, readable. */
export function Time(props: { ms: number | null }) {
  if (props.ms === null) return <span>-</span>;
  return (
    <time datetime={new Date(props.ms).toISOString()}>
      {new Date(props.ms).toISOString().replace("T", " ").slice(0, 19)}
    </time>
  );
}
