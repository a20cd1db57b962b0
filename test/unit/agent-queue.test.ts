import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryQueue, type PacketQueue, type QueueLimits, SqliteQueue } from "../../src/device/queue.js";
import { tempFiles } from "../helpers/temp.js";

const tempFile = tempFiles("pumpwatch-agent-queue-", "queue.db");

/** The contract every PacketQueue passes. */
function queueContract(name: string, open: (limits?: Partial<QueueLimits>) => Promise<PacketQueue>) {
  describe(`packet queue contract: ${name}`, () => {
    it("returns packets oldest first and only after the given seq", async () => {
      const q = await open();
      const a = q.push("m-a", '{"samples":[1]}', 1).seq;
      const b = q.push("m-b", '{"samples":[2]}', 2).seq;
      const c = q.push("m-c", '{"samples":[3]}', 3).seq;
      assert.ok(a < b && b < c);
      assert.deepEqual(
        q.peek(0, 10).map((p) => p.mid),
        ["m-a", "m-b", "m-c"],
      );
      assert.deepEqual(
        q.peek(a, 1).map((p) => [p.mid, p.samples, p.body]),
        [["m-b", 2, '{"samples":[2]}']],
      );
      assert.equal(q.headSeq(), a);
      q.close();
    });

    it("removes a packet only once and keeps the totals right", async () => {
      const q = await open();
      const a = q.push("m-a", "xxxx", 1).seq;
      q.push("m-b", "yy", 1);
      assert.deepEqual([q.stats().packets, q.stats().bytes], [2, 6]);
      assert.equal(q.remove(a), true);
      assert.equal(q.remove(a), false);
      assert.deepEqual([q.stats().packets, q.stats().bytes], [1, 2]);
      assert.equal(q.peek(0, 10)[0]?.mid, "m-b");
      q.close();
    });

    it("drops the oldest packets when the packet bound is reached and counts their samples", async () => {
      const q = await open({ maxPackets: 3 });
      for (let i = 1; i <= 5; i++) q.push(`m-${i}`, "{}", i);
      assert.deepEqual(
        q.peek(0, 10).map((p) => p.mid),
        ["m-3", "m-4", "m-5"],
      );
      const s = q.stats();
      assert.deepEqual([s.packets, s.droppedPackets, s.droppedSamples], [3, 2, 1 + 2]);
      q.close();
    });

    it("drops by bytes too, and always keeps the newest packet", async () => {
      const q = await open({ maxBytes: 10 });
      q.push("m-1", "12345", 5);
      assert.equal(q.push("m-2", "12345", 5).droppedSamples, 0);
      assert.equal(q.push("m-3", "1", 1).droppedSamples, 5);
      assert.equal(q.push("m-4", "x".repeat(50), 7).droppedSamples, 5 + 1);
      assert.deepEqual(
        q.peek(0, 10).map((p) => p.mid),
        ["m-4"],
      );
      assert.equal(q.stats().droppedSamples, 11);
      q.close();
    });

    it("is empty after everything was removed and continues with higher seqs", async () => {
      const q = await open();
      const a = q.push("m-a", "{}", 1).seq;
      q.remove(a);
      assert.equal(q.headSeq(), undefined);
      assert.deepEqual(q.peek(0, 5), []);
      assert.ok(q.push("m-b", "{}", 1).seq > a);
      q.close();
    });
  });
}

queueContract("memory", async (limits) => new MemoryQueue(limits));
queueContract(
  "sqlite",
  async (limits) => new SqliteQueue(await tempFile(), { ...limits, synchronous: "NORMAL" }),
);

describe("sqlite packet queue across restarts", () => {
  it("keeps packets, message ids and drop counts when reopened, and never reuses a seq", async () => {
    const file = await tempFile();
    const q1 = new SqliteQueue(file, { maxPackets: 2 });
    q1.push("m-1", "a", 4);
    q1.push("m-2", "bb", 5);
    const last = q1.push("m-3", "ccc", 6).seq;
    q1.remove(last);
    q1.close();
    const q2 = new SqliteQueue(file, { maxPackets: 2 });
    assert.deepEqual(
      q2.peek(0, 10).map((p) => [p.mid, p.samples]),
      [["m-2", 5]],
    );
    assert.deepEqual(q2.stats(), { packets: 1, bytes: 2, droppedPackets: 1, droppedSamples: 4 });
    assert.ok(q2.push("m-4", "d", 1).seq > last, "AUTOINCREMENT: a removed seq is never handed out again");
    q2.close();
  });

  it("counts bytes of multi-byte text as UTF-8", async () => {
    const file = await tempFile();
    const q = new SqliteQueue(file, { synchronous: "NORMAL" });
    q.push("m-1", "ü€", 1);
    assert.equal(q.stats().bytes, 5);
    q.close();
    const again = new SqliteQueue(file, { synchronous: "NORMAL" });
    assert.equal(again.stats().bytes, 5);
    again.close();
  });
});
