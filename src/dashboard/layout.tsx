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

/**
 * The dashboard's one stylesheet (`style.css` beside this file), served at `/assets/dashboard.css`:
 * the pages' policy allows no inline style and no other origin.
 */
export const STYLESHEET = await Deno.readTextFile(new URL("./style.css", import.meta.url));

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
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <strong>{name}</strong>
          <nav aria-label="Dashboard">
            {admin && <a href="/organizations">Organizations</a>}
            {props.csrf && (!admin || admin.organization) && <a href="/webhooks">Webhooks</a>}
            <a href="/docs">API docs</a>
          </nav>
          {admin?.organization && <span data-acting-for>Viewing {admin.organization}</span>}
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
        <main id="main">{props.children}</main>
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

/**
 * A destructive action behind a confirmation, with no script: the summary opens a panel that says
 * what will happen, and only the panel's button posts.
 */
export function Confirm(
  props: { label: string; action: string; csrf: string; confirm: string; children?: Child },
) {
  return (
    <details class="confirm">
      <summary class="button danger">{props.label}</summary>
      <div class="confirm-panel">
        <p>{props.children}</p>
        <PostForm action={props.action} csrf={props.csrf}>
          <button type="submit" class="danger solid">{props.confirm}</button>
        </PostForm>
      </div>
    </details>
  );
}

/** A table in a box that scrolls sideways on a narrow screen; it takes focus, so keys scroll it. */
export function TableBox(props: { label: string; children?: Child }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabindex={0}>
      {props.children}
    </div>
  );
}
