/** A router for one resource, with Herald's validation errors. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./deps.ts";
import { validationError } from "./errors.ts";

/** A new sub-app whose failed validations answer 422 with each field's problem. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });
}
