/**
 * The data directory holds the embedded PostgreSQL (with signing secrets and verify tokens in its
 * write-ahead log), the embedded Temporal's SQLite file and the admin token: only Herald's user
 * may read it.
 */

/** Creates the directory private (0700), and takes group and other access off what it holds. */
export async function makeDataDirPrivate(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    const info = await Deno.lstat(current);
    if (info.isSymlink) continue;
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      await Deno.chmod(current, info.mode & 0o700);
    }
    if (info.isDirectory) {
      for await (const entry of Deno.readDir(current)) pending.push(`${current}/${entry.name}`);
    }
  }
}

/** Files this process (and the servers it starts) creates from now on are private. */
export function createFilesPrivate(): void {
  Deno.umask(0o077);
}
