/**
 * Lists newest first page by (created_at, id): rows created in the same millisecond are each listed
 * once, across pages of any size.
 */
import assert from "node:assert/strict";
import {
  api,
  createOrganization,
  createWebhook,
  stack,
  stopStackAfterTests,
  test,
} from "./harness.ts";

stopStackAfterTests();

test("webhooks created in the same millisecond are each listed once, page after page", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    ids.push((await createWebhook(s, org.apiKey, { url: `https://127.0.0.1:9/h${i}` })).id);
  }
  // Five of them share one creation time, as a bulk import can make them.
  const tie = Date.now() - 60_000;
  await s.herald.database.db.updateTable("webhooks").set({ created_at: tie })
    .where("id", "in", ids.slice(1, 6)).execute();
  for (const limit of [1, 2, 3]) {
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await api(s, "GET", `/v1/webhooks${query}`, { token: org.apiKey });
      assert.equal(page.status, 200);
      assert.ok(page.body.data.length <= limit);
      listed.push(...page.body.data.map((w: { id: string }) => w.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.equal(listed.length, ids.length, `limit ${limit}: ${listed}`);
    assert.deepEqual([...listed].sort(), [...ids].sort());
  }
});
