import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Backfiller } from "../../src/device/backfill.js";
import { MemoryQueue } from "../../src/device/queue.js";
import { Sender } from "../../src/device/sender.js";

/** A fake connection: remembers each publish and lets the test acknowledge it. */
function connection() {
  const sent: { mid: string; done: (err?: Error) => void }[] = [];
  return {
    sent,
    publish: (mid: string, _body: string, done: (err?: Error) => void) => {
      sent.push({ mid, done });
    },
  };
}

function setup(window: number, packets: number) {
  const queue = new MemoryQueue();
  for (let i = 1; i <= packets; i++) queue.push(`m-${i}`, "{}", 1);
  const events = { delivered: [] as string[], idle: 0 };
  const sender = new Sender(queue, window, {
    delivered: (p) => events.delivered.push(p.mid),
    idle: () => events.idle++,
  });
  return { queue, sender, events };
}

describe("agent sender", () => {
  it("keeps at most the window in flight and sends oldest first", () => {
    const { sender } = setup(3, 10);
    const c = connection();
    sender.attach(c.publish);
    assert.deepEqual(
      c.sent.map((s) => s.mid),
      ["m-1", "m-2", "m-3"],
    );
    c.sent[0]!.done();
    assert.deepEqual(
      c.sent.map((s) => s.mid),
      ["m-1", "m-2", "m-3", "m-4"],
    );
    assert.equal(sender.inflight, 3);
  });

  it("removes a packet from the queue only on its PUBACK", () => {
    const { queue, sender, events } = setup(8, 2);
    const c = connection();
    sender.attach(c.publish);
    assert.equal(queue.stats().packets, 2);
    c.sent[1]!.done();
    assert.deepEqual(
      queue.peek(0, 10).map((p) => p.mid),
      ["m-1"],
    );
    c.sent[0]!.done(new Error("Connection closed"));
    assert.equal(queue.stats().packets, 1, "an error is no acknowledgement");
    assert.deepEqual(events.delivered, ["m-2"]);
  });

  it("re-sends everything unacknowledged from the head with the same message ids after a reconnect", () => {
    const { sender } = setup(2, 3);
    const first = connection();
    sender.attach(first.publish);
    first.sent[0]!.done();
    sender.detach();
    const second = connection();
    sender.attach(second.publish);
    assert.deepEqual(
      second.sent.map((s) => s.mid),
      ["m-2", "m-3"],
    );
  });

  it("ignores acknowledgements that arrive from an old connection", () => {
    const { queue, sender, events } = setup(2, 2);
    const first = connection();
    sender.attach(first.publish);
    sender.detach();
    const second = connection();
    sender.attach(second.publish);
    first.sent[0]!.done();
    assert.equal(queue.stats().packets, 2);
    assert.equal(sender.inflight, 2);
    assert.deepEqual(events.delivered, []);
  });

  it("sends newly queued packets when pumped, and nothing while detached", () => {
    const { queue, sender } = setup(4, 0);
    const c = connection();
    queue.push("m-new", "{}", 1);
    sender.pump();
    sender.attach(c.publish);
    queue.push("m-newer", "{}", 1);
    sender.pump();
    assert.deepEqual(
      c.sent.map((s) => s.mid),
      ["m-new", "m-newer"],
    );
  });

  it("stops sending when paused and reports idle once the window is empty", () => {
    const { sender, events } = setup(2, 5);
    const c = connection();
    sender.attach(c.publish);
    sender.pause();
    assert.equal(events.idle, 0);
    c.sent[0]!.done();
    c.sent[1]!.done();
    assert.equal(c.sent.length, 2, "nothing new while paused");
    assert.equal(events.idle, 1);
  });
});

describe("agent backfill", () => {
  it("keeps only about two windows queued and resolves when the last packet is acknowledged", async () => {
    const queue = new MemoryQueue();
    const c = connection();
    let maxQueued = 0;
    const backfill = new Backfiller(queue, 2, (p) => queue.push(`b-${p.body}`, p.body, p.samples).seq);
    const sender = new Sender(queue, 2, {
      delivered: () => {
        backfill.feed();
        sender.pump();
      },
      idle: () => {},
    });
    sender.attach(c.publish);
    let done = false;
    const finished = backfill
      .add(Array.from({ length: 20 }, (_, i) => ({ body: String(i), samples: 1 })))
      .then(() => {
        done = true;
      });
    sender.pump();
    for (let acked = 0; acked < 20; acked++) {
      maxQueued = Math.max(maxQueued, queue.stats().packets);
      assert.equal(done, false);
      c.sent[acked]!.done();
      await Promise.resolve();
    }
    await finished;
    assert.ok(maxQueued <= 4, `at most two windows queued, saw ${maxQueued}`);
    assert.deepEqual(
      c.sent.map((x) => x.mid),
      Array.from({ length: 20 }, (_, i) => `b-${i}`),
    );
  });

  it("rejects when aborted before everything was queued", async () => {
    const queue = new MemoryQueue();
    const backfill = new Backfiller(queue, 1, (p) => queue.push("m", p.body, p.samples).seq);
    const pending = backfill.add(Array.from({ length: 5 }, () => ({ body: "{}", samples: 1 })));
    backfill.abort();
    await assert.rejects(pending, /3 backfill packets not queued/);
  });
});
