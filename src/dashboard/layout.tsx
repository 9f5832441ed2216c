/** The dashboard's page frame and small shared pieces. */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Child } from "hono/jsx";
import type { MiddlewareHandler } from "hono";

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

const STYLE = `
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
  button { padding: 5px 12px; cursor: pointer; }
  label { display: block; margin: 8px 0; }
`;

/** A whole page. */
export function Page(props: { title: string; signedIn?: boolean; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Herald</title>
        <style>{STYLE}</style>
      </head>
      <body>
        <header>
          <strong>Herald</strong>
          {props.signedIn && <a href="/webhooks">Webhooks</a>}
          <a href="/docs">API docs</a>
          {props.signedIn && (
            <form class="inline" method="post" action="/sign-out" style="margin-left:auto">
              <button type="submit">Sign out</button>
            </form>
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
