/** The short fault suite: anything lost or wrongly deactivated fails the tests. */
import assert from "node:assert/strict";
import { runChaos } from "./chaos/suite.ts";
import { serverUrl, test } from "./harness.ts";

test(
  "under worker and API crashes, a Temporal restart and a database outage, nothing accepted is lost",
  async () => {
    const reports = await runChaos({
      serverUrl: serverUrl!,
      phaseSeconds: 6,
      eventsPerSecond: 4,
      repeats: 2,
      databaseOutageSeconds: 4,
    });
    assert.equal(reports.length, 5);
    for (const r of reports) {
      assert.ok(r.payloadsExpected > 0, `${r.fault}: nothing was accepted`);
      assert.equal(r.lost, 0, `${r.fault}: ${JSON.stringify(r)}`);
      assert.equal(r.wrongfulDeactivations, 0, `${r.fault}: ${JSON.stringify(r)}`);
    }
  },
  { ignore: !serverUrl },
);
