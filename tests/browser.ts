/** Debian's Chromium driven by playwright-core, installed with apt-get on first use when missing. */
import { type Browser, chromium, type Page } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Makes sure Chromium is there: as root, installs Debian's package (a minute or two, once). */
export async function ensureChromium(): Promise<string> {
  if (await exists(CHROMIUM)) return CHROMIUM;
  if (Deno.uid() !== 0) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM}: run \`sudo apt-get install -y chromium\``,
    );
  }
  console.log("Installing Chromium with apt-get for the browser tests (once; a minute or two)...");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "chromium"]]) {
    const out = await new Deno.Command("apt-get", { args, env, stdout: "null", stderr: "piped" })
      .output();
    if (!out.success) {
      throw new Error(`apt-get ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  }
  return CHROMIUM;
}

/** Launches headless Chromium with the flags this machine needs. */
export async function launchBrowser(): Promise<Browser> {
  return await chromium.launch({
    executablePath: await ensureChromium(),
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Where screenshots go (kept by CI as artifacts; not committed). */
export async function artifactPath(name: string): Promise<string> {
  const dir = new URL("./artifacts/", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  return `${dir}${name}`;
}

let axeSource: Promise<string> | undefined;

/** One axe-core violation of impact serious or critical, with a few of the elements it found. */
export interface Violation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (the npm package) in the page as it is now and returns its serious and critical
 * violations. It runs through the debugging protocol, so the page's Content-Security-Policy, which
 * allows no script of the test's, stays as it is.
 */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  axeSource ??= Deno.readTextFile(new URL(import.meta.resolve("axe-core/axe.min.js")));
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    const { axe, document } = globalThis as any;
    const results = await axe.run(document, { resultTypes: ["violations"] });
    // deno-lint-ignore no-explicit-any
    return results.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact ?? "",
      help: v.help,
      // deno-lint-ignore no-explicit-any
      targets: v.nodes.slice(0, 5).map((n: any) => n.target.join(" ")),
    }));
  }) as Violation[];
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}
