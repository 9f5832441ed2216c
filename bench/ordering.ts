/**
 * The `ordering` scenario: what ordered delivery per object costs. A receiver that mirrors
 * contacts; 10 contacts each updated 10 times in sequence; the receiver answers 503 to one first
 * attempt in four (then 200 on the retry, DELIVERY_RETRY_INTERVAL later). The same workload runs to
 * a webhook with `ordering: "none"` and to one with `"object"`; then again with 500 for the hiccup,
 * which is not an overload signal (a 503 also slows the whole webhook down: flow control), so that
 * run shows what ordering alone costs.
 */
import { countOutOfOrder } from "../src/domain/ordering.ts";
import { testCertificates } from "../tests/tls.ts";
import { percentile, round } from "./stats.ts";

/** What the scenario needs from the benchmark's stack. */
export interface OrderingBench {
  apiUrl: string;
  adminToken: string;
  say: (line: string) => void;
  contacts: number;
  updates: number;
}

async function call(base: string, method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** One run of the workload to a webhook with `ordering`. */
async function runOnce(bench: OrderingBench, ordering: "none" | "object", hiccup: number) {
  const { cert, key } = await testCertificates();
  let firsts = 0;
  const firstArrival = new Map<string, number>();
  const applied: Array<{ object: string; position: number }> = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert, key, onListen: () => {} },
    async (req) => {
      const now = performance.now();
      const body = await req.json();
      const contact = body.items._id as string;
      const seq = body.items.data.seq as number;
      if (!firstArrival.has(`${contact}:${seq}`)) firstArrival.set(`${contact}:${seq}`, now);
      if (body.deliveryAttempts === 1 && ++firsts % 4 === 0) {
        return new Response("hiccup", { status: hiccup });
      }
      applied.push({ object: contact, position: seq });
      return new Response("ok");
    },
  );
  try {
    const org = await call(bench.apiUrl, "POST", "/v1/organizations", bench.adminToken, {
      name: `ordering ${ordering}`,
      plan: "business",
    });
    const apiKey = org.body.apiKey as string;
    await call(bench.apiUrl, "POST", "/v1/webhooks", apiKey, {
      url: `https://127.0.0.1:${server.addr.port}/mirror`,
      eventTypes: ["contact.updated"],
      ordering,
    });
    const published = new Map<string, number>();
    const started = performance.now();
    const stale = await Promise.all(Array.from({ length: bench.contacts }, async () => {
      const created = await call(bench.apiUrl, "POST", "/v1/contacts", apiKey, {
        fields: { seq: 0 },
      });
      const id = created.body.id as string;
      for (let seq = 1; seq <= bench.updates; seq++) {
        await call(bench.apiUrl, "PATCH", `/v1/contacts/${id}`, apiKey, { fields: { seq } });
        published.set(`${id}:${seq}`, performance.now());
      }
      return id;
    }));
    const total = bench.contacts * bench.updates;
    const deadline = performance.now() + 300_000;
    while (applied.length < total && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    const latencies = [...published].filter(([k]) => firstArrival.has(k))
      .map(([k, at]) => firstArrival.get(k)! - at);
    // A mirror keeps the last update it applied: stale where that is not the contact's last one.
    const last = new Map(applied.map((a) => [a.object, a.position]));
    return {
      delivered: applied.length,
      expected: total,
      seconds: round(seconds, 1),
      deliveriesPerSecond: round(applied.length / seconds, 1),
      firstAttemptP50Ms: round(percentile(latencies, 50)),
      firstAttemptP95Ms: round(percentile(latencies, 95)),
      firstAttemptMaxMs: round(Math.max(...latencies)),
      outOfOrder: countOutOfOrder(applied),
      staleContacts: stale.filter((id) => last.get(id) !== bench.updates).length,
    };
  } finally {
    await server.shutdown();
  }
}

/** Runs the workload without ordering, then with it, for a hiccup of 503 and of 500. */
export async function measureOrdering(bench: OrderingBench) {
  const runs: Array<Record<string, unknown>> = [];
  for (const hiccup of [503, 500]) {
    const none = await runOnce(bench, "none", hiccup);
    bench.say(`  ${hiccup}, ordering none: ${JSON.stringify(none)}`);
    const object = await runOnce(bench, "object", hiccup);
    bench.say(`  ${hiccup}, ordering object: ${JSON.stringify(object)}`);
    runs.push({ hiccup, none, object });
  }
  return { contacts: bench.contacts, updates: bench.updates, runs };
}
