/**
 * Where a process spends its CPU, sampled with Linux `perf` (the Debian package linux-perf) when
 * it is installed: used for the Temporal server, whose Go symbols perf resolves. Herald's own
 * processes are described by their threads' CPU time instead (bench/resources.ts).
 */

/** Shares of CPU samples by part of the program, in percent. */
export interface Profile {
  samples: number;
  percentByPart: Record<string, number>;
}

/** Whether perf can sample here. */
export async function perfAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command("perf", {
      args: ["record", "-F", "99", "-o", "/dev/null", "--", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Starts sampling `pid`; the returned function stops and reports. */
export function startProfile(pid: number): () => Promise<Profile | undefined> {
  const file = Deno.makeTempFileSync({ prefix: "herald-perf-", suffix: ".data" });
  const child = new Deno.Command("perf", {
    args: ["record", "-F", "499", "-o", file, "-p", String(pid)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  return async () => {
    child.kill("SIGINT");
    await child.status;
    const report = await new Deno.Command("perf", {
      args: ["report", "-i", file, "--stdio", "--no-children", "--sort", "sym"],
      stdout: "piped",
      stderr: "null",
    }).output();
    await Deno.remove(file).catch(() => {});
    if (!report.success) return undefined;
    const text = new TextDecoder().decode(report.stdout);
    const [, count = "0", unit = ""] = /^# Samples: ([\d.]+)([KM]?)/m.exec(text) ?? [];
    const samples = Math.round(Number(count) * ({ K: 1e3, M: 1e6 }[unit] ?? 1));
    const parts = new Map<string, number>();
    for (const line of text.split("\n")) {
      const m = /^\s*([\d.]+)%\s+\[(.)\]\s+(.*)$/.exec(line);
      if (!m) continue;
      const part = partOf(m[2]!, m[3]!.trim());
      parts.set(part, (parts.get(part) ?? 0) + Number(m[1]));
    }
    const percentByPart = Object.fromEntries(
      [...parts].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v * 10) / 10]),
    );
    return { samples, percentByPart };
  };
}

/** Groups a symbol of the Temporal server (Go) into a part of the program. */
function partOf(kind: string, symbol: string): string {
  if (kind === "k") return "kernel (system calls, network, memory)";
  if (/^modernc\.org\//.test(symbol)) return "SQLite (pure Go) persistence";
  if (/^(runtime\.|internal\/runtime|gcWriteBarrier|aeshash|memeqbody)/.test(symbol)) {
    return "Go runtime (garbage collector, allocator, scheduler)";
  }
  if (/protobuf|gogo\/|grpc/.test(symbol)) return "gRPC and protobuf";
  if (/^go\.temporal\.io\/server/.test(symbol)) return "Temporal server logic";
  return "other";
}
