/** Herald's own faults are not the receiver's: a database outage deactivates nothing. */
import assert from "node:assert/strict";
import { loadConfig } from "../src/config.ts";
import { openPostgres } from "../src/db/mod.ts";
import { startHerald } from "../src/herald.ts";
import {
  ADMIN_TOKEN,
  callApi,
  sharedInfra,
  stopStackAfterTests,
  test,
  testEnv,
  usesPostgres,
  waitFor,
} from "./harness.ts";
import { startReceiver } from "./receiver.ts";
import { startTcpProxy } from "./tcp_proxy.ts";

test(
  "with PostgreSQL unreachable during attempts, no webhook is deactivated and every payload is delivered",
  async () => {
    const infra = await sharedInfra();
    const direct = new URL(infra.databaseUrl!);
    const proxy = startTcpProxy({ hostname: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(direct);
    proxied.port = String(proxy.port);
    const database = openPostgres(proxied.toString(), { max: 4 });
    const config = loadConfig(testEnv(infra, {
      DATABASE_URL: proxied.toString(),
      TEMPORAL_TASK_QUEUE: `herald-outage-${crypto.randomUUID().slice(0, 6)}`,
      DELIVERY_RETRY_INTERVAL: "1s",
    }));
    const herald = await startHerald(config, {
      roles: { api: true, worker: true },
      database,
      progress: () => {},
    });
    const call = async (method: string, path: string, token: string, body?: unknown) =>
      (await callApi(herald.apiUrl!, method, path, token, body)).body;
    const receiver = await startReceiver(() => new Response("not yet", { status: 503 }));
    try {
      const org = await call("POST", "/v1/organizations", ADMIN_TOKEN, {
        name: "o",
        plan: "business",
      });
      const webhook = await call("POST", "/v1/webhooks", org.apiKey, { url: receiver.url });
      const payloadIds: string[] = [];
      for (let i = 0; i < 3; i++) {
        const published = await call("POST", "/v1/events", org.apiKey, {
          event: "outage.test",
          object: "thing",
          data: { i },
        });
        payloadIds.push(published.payloads[0].id);
      }
      await waitFor("the first attempts", () => receiver.received.length >= 3);

      // The database goes away for longer than all remaining attempts would take.
      proxy.cut();
      receiver.answer(() => new Response("ok"));
      await new Promise((r) => setTimeout(r, 9_000));
      proxy.restore();

      const db = infra.database.db;
      await waitFor("every payload delivered", async () => {
        const rows = await db.selectFrom("payloads").select("status")
          .where("id", "in", payloadIds).execute();
        return rows.every((r) => r.status === "delivered");
      }, 60_000);
      const hook = await db.selectFrom("webhooks").selectAll().where("id", "=", webhook.id)
        .executeTakeFirstOrThrow();
      assert.equal(hook.status, "active");
      assert.equal(hook.deactivation_reason, null);
      for (const id of payloadIds) {
        const delivered = receiver.received.filter((r) => r.body._id === id && r.rawBody);
        assert.ok(delivered.length >= 2, `payload ${id} was attempted ${delivered.length} times`);
        const attempts = await db.selectFrom("attempts").select(["number", "response_status"])
          .where("payload_id", "=", id).orderBy("number").execute();
        // Attempts Herald could not make while its database was away are not counted.
        assert.ok(attempts.length < 5, `${attempts.length} attempts recorded`);
        assert.equal(attempts[attempts.length - 1]!.response_status, 200);
      }
    } finally {
      await receiver.close();
      await herald.stop();
      await database.close();
      proxy.close();
    }
  },
  { ignore: !usesPostgres },
);

stopStackAfterTests();
