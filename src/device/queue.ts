import Database from "better-sqlite3";

/** One telemetry packet waiting for its PUBACK. */
export interface QueuedPacket {
  /** Position in the queue; increases forever, never reused, so it orders and names packets. */
  seq: number;
  /** The `$.mid` it is (re)sent with: chosen once when queued, so the gateway can de-duplicate. */
  mid: string;
  body: string;
  samples: number;
}

export interface QueueStats {
  packets: number;
  bytes: number;
  /** Packets and samples removed unsent because the queue was full (since the queue was created). */
  droppedPackets: number;
  droppedSamples: number;
}

/** Bound of the queue: whichever is reached first makes the oldest packet go. */
export interface QueueLimits {
  maxPackets: number;
  maxBytes: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = { maxPackets: 100_000, maxBytes: 256 * 1024 * 1024 };

/**
 * The store-and-forward queue of one agent: packets go in before they are sent and come out only
 * after their PUBACK. Bounded: when full, the oldest packets are dropped and counted, because the
 * newest data is worth most when the outage ends. The newest packet is always kept, even alone over
 * `maxBytes`.
 */
export interface PacketQueue {
  /** Appends a packet; returns its seq and the samples dropped to make room. */
  push(mid: string, body: string, samples: number): { seq: number; droppedSamples: number };
  /** Up to `max` packets with seq > `afterSeq`, oldest first. */
  peek(afterSeq: number, max: number): QueuedPacket[];
  /** Removes an acknowledged packet; false if it was not there (already dropped or removed). */
  remove(seq: number): boolean;
  /** Seq of the oldest packet, undefined when empty. */
  headSeq(): number | undefined;
  stats(): QueueStats;
  close(): void;
}

/** In-process queue: lost on restart. For simulated fleets that need no durability, and for tests. */
export class MemoryQueue implements PacketQueue {
  readonly #limits: QueueLimits;
  #items: (QueuedPacket & { bytes: number })[] = [];
  #seq = 0;
  #stats: QueueStats = { packets: 0, bytes: 0, droppedPackets: 0, droppedSamples: 0 };

  constructor(limits: Partial<QueueLimits> = {}) {
    this.#limits = { ...DEFAULT_QUEUE_LIMITS, ...limits };
  }

  push(mid: string, body: string, samples: number): { seq: number; droppedSamples: number } {
    const seq = ++this.#seq;
    const bytes = Buffer.byteLength(body, "utf8");
    this.#items.push({ seq, mid, body, samples, bytes });
    this.#stats.packets++;
    this.#stats.bytes += bytes;
    let droppedSamples = 0;
    while (this.#items.length > 1 && overLimit(this.#stats, this.#limits)) {
      const old = this.#items.shift()!;
      this.#account(old.bytes);
      this.#stats.droppedPackets++;
      this.#stats.droppedSamples += old.samples;
      droppedSamples += old.samples;
    }
    return { seq, droppedSamples };
  }

  peek(afterSeq: number, max: number): QueuedPacket[] {
    const out: QueuedPacket[] = [];
    for (const p of this.#items) {
      if (out.length >= max) break;
      if (p.seq > afterSeq) out.push({ seq: p.seq, mid: p.mid, body: p.body, samples: p.samples });
    }
    return out;
  }

  remove(seq: number): boolean {
    const i = this.#items.findIndex((p) => p.seq === seq);
    if (i < 0) return false;
    const [p] = this.#items.splice(i, 1);
    this.#account(p!.bytes);
    return true;
  }

  headSeq(): number | undefined {
    return this.#items[0]?.seq;
  }

  stats(): QueueStats {
    return { ...this.#stats };
  }

  close(): void {}

  #account(bytes: number): void {
    this.#stats.packets--;
    this.#stats.bytes -= bytes;
  }
}

function overLimit(s: QueueStats, l: QueueLimits): boolean {
  return s.packets > l.maxPackets || s.bytes > l.maxBytes;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS packets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    mid TEXT NOT NULL,
    samples INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/**
 * The on-disk queue: one SQLite file in the state folder, WAL mode. AUTOINCREMENT keeps seqs
 * increasing across restarts even after the queue ran empty. The drop counters live in a second,
 * tiny table so a drop and its count commit in one transaction and survive restarts together.
 * `synchronous: "FULL"` (default) survives power loss; "NORMAL" survives a process crash and costs
 * no fsync per packet, for many simulated agents in one process.
 */
export class SqliteQueue implements PacketQueue {
  readonly #db: Database.Database;
  readonly #limits: QueueLimits;
  readonly #stats: QueueStats;
  /** Highest seq ever handed out by this connection or found at open. */
  #lastSeq: number;
  readonly #insert: Database.Statement<[string, number, string]>;
  readonly #peek: Database.Statement<[number, number], QueuedPacket>;
  readonly #remove: Database.Statement<[number], { samples: number; bytes: number }>;
  readonly #oldest: Database.Statement<[], { seq: number; samples: number; bytes: number }>;
  readonly #bump: Database.Statement<[string, number]>;
  readonly #pushTx: (mid: string, body: string, samples: number) => { seq: number; droppedSamples: number };

  constructor(file: string, opts: Partial<QueueLimits> & { synchronous?: "FULL" | "NORMAL" } = {}) {
    this.#limits = {
      maxPackets: opts.maxPackets ?? DEFAULT_QUEUE_LIMITS.maxPackets,
      maxBytes: opts.maxBytes ?? DEFAULT_QUEUE_LIMITS.maxBytes,
    };
    this.#db = new Database(file);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma(`synchronous = ${opts.synchronous ?? "FULL"}`);
    // The working set is the queue head: a small page cache keeps thousands of agents in one process lean.
    this.#db.pragma("cache_size = -256");
    this.#db.exec(SCHEMA);
    const totals = this.#db
      .prepare(
        "SELECT count(*) AS packets, coalesce(sum(length(CAST(body AS BLOB))), 0) AS bytes FROM packets",
      )
      .get() as { packets: number; bytes: number };
    const counter = (name: string) =>
      (
        this.#db.prepare("SELECT value FROM counters WHERE name = ?").get(name) as
          | { value: number }
          | undefined
      )?.value ?? 0;
    this.#lastSeq =
      (this.#db.prepare("SELECT max(seq) AS seq FROM packets").get() as { seq: number | null }).seq ?? 0;
    this.#stats = {
      packets: totals.packets,
      bytes: totals.bytes,
      droppedPackets: counter("droppedPackets"),
      droppedSamples: counter("droppedSamples"),
    };
    this.#insert = this.#db.prepare("INSERT INTO packets (mid, samples, body) VALUES (?, ?, ?)");
    this.#peek = this.#db.prepare(
      "SELECT seq, mid, body, samples FROM packets WHERE seq > ? ORDER BY seq LIMIT ?",
    );
    this.#remove = this.#db.prepare(
      "DELETE FROM packets WHERE seq = ? RETURNING samples, length(CAST(body AS BLOB)) AS bytes",
    );
    this.#oldest = this.#db.prepare(
      "SELECT seq, samples, length(CAST(body AS BLOB)) AS bytes FROM packets ORDER BY seq LIMIT 1",
    );
    this.#bump = this.#db.prepare(
      "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
    );
    this.#pushTx = this.#db.transaction((mid: string, body: string, samples: number) =>
      this.#push(mid, body, samples),
    );
  }

  push(mid: string, body: string, samples: number): { seq: number; droppedSamples: number } {
    const before = { ...this.#stats };
    try {
      return this.#pushTx(mid, body, samples);
    } catch (err) {
      // The transaction rolled back: so must the in-memory totals.
      Object.assign(this.#stats, before);
      throw err;
    }
  }

  #push(mid: string, body: string, samples: number): { seq: number; droppedSamples: number } {
    const seq = Number(this.#insert.run(mid, samples, body).lastInsertRowid);
    this.#lastSeq = seq;
    this.#stats.packets++;
    this.#stats.bytes += Buffer.byteLength(body, "utf8");
    let droppedPackets = 0;
    let droppedSamples = 0;
    while (this.#stats.packets > 1 && overLimit(this.#stats, this.#limits)) {
      const old = this.#oldest.get()!;
      this.#remove.get(old.seq);
      this.#stats.packets--;
      this.#stats.bytes -= old.bytes;
      droppedPackets++;
      droppedSamples += old.samples;
    }
    if (droppedPackets > 0) {
      this.#bump.run("droppedPackets", droppedPackets);
      this.#bump.run("droppedSamples", droppedSamples);
      this.#stats.droppedPackets += droppedPackets;
      this.#stats.droppedSamples += droppedSamples;
    }
    return { seq, droppedSamples };
  }

  peek(afterSeq: number, max: number): QueuedPacket[] {
    // The sender asks after every PUBACK; mostly nothing new was queued, and that needs no query.
    if (afterSeq >= this.#lastSeq) return [];
    return this.#peek.all(afterSeq, max);
  }

  remove(seq: number): boolean {
    const row = this.#remove.get(seq);
    if (!row) return false;
    this.#stats.packets--;
    this.#stats.bytes -= row.bytes;
    return true;
  }

  headSeq(): number | undefined {
    return this.#oldest.get()?.seq;
  }

  stats(): QueueStats {
    return { ...this.#stats };
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
