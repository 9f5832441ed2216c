/** A webhook's signing secrets: rotation keeps every secret retired in the last 24 hours. */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";
import { jsonb } from "../db/mod.ts";
import { newSigningSecret, SECRET_OVERLAP_MS } from "../domain/secrets.ts";

/** A new secret and until when the one it replaced keeps signing. */
export interface RotatedSecret {
  signingSecret: string;
  previousSecretExpiresAt: number;
}

/**
 * Issues a new signing secret. Every secret retired in the last 24 hours keeps signing, so a
 * receiver mid-rollout of an earlier rotation loses nothing; the row is locked for the
 * read-modify-write, so two rotations at once each keep the other's retired secret.
 */
export async function rotateSigningSecret(
  db: Kysely<Database>,
  webhookId: string,
): Promise<RotatedSecret> {
  return await db.transaction().execute(async (trx) => {
    const webhook = await trx.selectFrom("webhooks")
      .select(["signing_secret", "retired_signing_secrets"])
      .where("id", "=", webhookId).forUpdate().executeTakeFirstOrThrow();
    const now = Date.now();
    const signingSecret = newSigningSecret();
    const retired = [
      { secret: webhook.signing_secret, expiresAt: now + SECRET_OVERLAP_MS },
      ...webhook.retired_signing_secrets.filter((r) => r.expiresAt > now),
    ];
    await trx.updateTable("webhooks").set({
      signing_secret: signingSecret,
      retired_signing_secrets: jsonb(retired),
      updated_at: now,
    }).where("id", "=", webhookId).execute();
    return { signingSecret, previousSecretExpiresAt: now + SECRET_OVERLAP_MS };
  });
}
