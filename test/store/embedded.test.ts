/**
 * The embedded PostgreSQL is sized to the machine: shared_buffers is an eighth of the memory the
 * process may use (a container's limit when there is one), between 128 MiB and 1 GiB.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { sharedBuffersMb } from "../../src/store/embedded.js";
import { getCluster } from "../helpers/cluster.js";

const GiB = 2 ** 30;

describe("the embedded PostgreSQL", () => {
  it("takes an eighth of the memory for shared_buffers, within 128 MiB and 1 GiB", () => {
    assert.equal(sharedBuffersMb(2 * GiB, 0), 256);
    assert.equal(sharedBuffersMb(64 * GiB, 0), 1024, "at most 1 GiB");
    assert.equal(sharedBuffersMb(GiB / 2, 0), 128, "at least PostgreSQL's default");
  });

  it("sizes from a container's memory limit rather than the machine's", () => {
    assert.equal(sharedBuffersMb(64 * GiB, 2 * GiB), 256);
    assert.equal(sharedBuffersMb(4 * GiB, 64 * GiB), 512, "a limit above the machine's memory changes nothing");
  });

  it("runs with that setting", async () => {
    const client = new pg.Client({ connectionString: getCluster().superuserUrl });
    await client.connect();
    try {
      // pg_settings counts shared_buffers in 8 kB pages.
      const r = await client.query<{ mb: number }>(
        "SELECT (setting::bigint * 8192 / 1048576)::int AS mb FROM pg_settings WHERE name = 'shared_buffers'",
      );
      assert.equal(r.rows[0]!.mb, sharedBuffersMb());
    } finally {
      await client.end();
    }
  });
});
