/**
 * The Content-Security-Policy of Herald's own pages: they load only Herald's stylesheet, post only
 * to Herald, and are framed by nobody, or by the origins PORTAL_FRAME_ANCESTORS names.
 */

/** The policy of a page that `frameAncestors` may frame (none when empty). */
export function contentSecurityPolicy(frameAncestors: readonly string[]): string {
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors.length > 0 ? frameAncestors.join(" ") : "'none'"}`,
    "base-uri 'none'",
  ].join("; ");
}

/** Whether a policy lets some origin frame the page. */
export function allowsFraming(policy: string | null): boolean {
  return /frame-ancestors (?!'none')/.test(policy ?? "");
}
