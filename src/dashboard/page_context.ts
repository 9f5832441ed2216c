/**
 * What every page of a request shows besides its content: the product's name (PORTAL_TITLE),
 * when the signed-in session ends and, for the admin token's session, the organization it has
 * open. Set once per request, read by the page frame.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { MiddlewareHandler } from "hono";

interface PageContext {
  title: string;
  sessionEndsAt?: number;
  /** Set for the admin token's session: the name of the organization it has open, if any. */
  admin?: { organization?: string };
}

const context = new AsyncLocalStorage<PageContext>();

/** Middleware that gives the pages rendered while the request runs the product's name. */
export function pageContextOnEveryPage(title: string): MiddlewareHandler {
  return async (_c, next) => {
    await context.run({ title }, next);
  };
}

/** Notes when the request's session ends, and what an admin session has open, for the frame. */
export function noteSession(expiresAt: number, admin?: { organization?: string }): void {
  const current = context.getStore();
  if (!current) return;
  current.sessionEndsAt = expiresAt;
  current.admin = admin;
}

/** The name pages show: PORTAL_TITLE, Herald by default. */
export function productName(): string {
  return context.getStore()?.title ?? "Herald";
}

/** When the signed-in session ends, or undefined on a page without one. */
export function sessionEndsAt(): number | undefined {
  return context.getStore()?.sessionEndsAt;
}

/** For the admin token's session, what it has open; undefined for any other page. */
export function adminView(): { organization?: string } | undefined {
  return context.getStore()?.admin;
}
