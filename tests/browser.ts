/** Debian's Chromium driven by playwright-core, installed with apt-get on first use when missing. */
import { type Browser, chromium } from "playwright-core";

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
