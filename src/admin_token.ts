/** The admin token: from ADMIN_TOKEN, or generated once and kept under the data directory. */
import { newAdminToken } from "./domain/secrets.ts";

/** The token and whether it was made just now (and so must be shown once). */
export interface AdminToken {
  token: string;
  generated: boolean;
  file?: string;
}

/** Reads the configured token, or the stored one, or generates and stores a new one (mode 0600). */
export async function loadAdminToken(
  configured: string | undefined,
  dataDir: string,
): Promise<AdminToken> {
  if (configured) return { token: configured, generated: false };
  const file = `${dataDir}/admin_token`;
  try {
    const stored = (await Deno.readTextFile(file)).trim();
    if (stored) return { token: stored, generated: false, file };
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(dataDir, { recursive: true });
  const token = newAdminToken();
  await Deno.writeTextFile(file, `${token}\n`, { mode: 0o600, createNew: true });
  return { token, generated: true, file };
}
