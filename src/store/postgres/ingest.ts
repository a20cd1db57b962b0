import type { CommitOutcome, CommitUnit } from "../ports.js";
import { type Partitions, withPartitions } from "./partitions.js";
import type { PgDb } from "./pool.js";

type Accept = Extract<CommitUnit, { kind: "accept" }>;
type Quarantine = Extract<CommitUnit, { kind: "quarantine" }>;

/**
 * The group commit on PostgreSQL: one statement per `commit()` call — so one transaction and one
 * round trip, however many packets the group holds — whose data-modifying CTEs insert the quarantined
 * packets, the message ids and the samples, the rows passed as arrays and unnested by the server. The
 * message-id rows are the de-duplication record: `ON CONFLICT DO NOTHING RETURNING` yields the ids
 * that were new, and only their packets' samples are inserted, in the same statement, so a packet is
 * stored with its id or not at all.
 */
export class PostgresCommitter {
  readonly #db: PgDb;
  readonly samples: Partitions;

  constructor(db: PgDb, samples: Partitions) {
    this.#db = db;
    this.samples = samples;
  }

  async commit(units: readonly CommitUnit[]): Promise<CommitOutcome[]> {
    const outcomes: CommitOutcome[] = new Array(units.length);
    const quarantined: Quarantine[] = [];
    // First occurrence of each (device, message id) in this group; later ones are duplicates already.
    const firsts = new Map<string, number>();
    units.forEach((u, i) => {
      if (u.kind === "quarantine") {
        quarantined.push(u);
        outcomes[i] = "quarantined";
        return;
      }
      const key = `${u.deviceId}\u0000${u.messageId}`;
      if (firsts.has(key)) outcomes[i] = "duplicate";
      else firsts.set(key, i);
    });
    const candidates = [...firsts.values()].map((i) => units[i] as Accept);
    const values = [...quarantineArrays(quarantined), ...candidateArrays(candidates)];
    const fresh = await withPartitions([[this.samples, () => sampleTimes(candidates)]], async () => {
      const { rows } = await this.#db.queryArray<[number]>({ name: "pw_commit", text: COMMIT_SQL, values });
      return new Set(rows.map((r) => r[0]));
    });
    [...firsts.values()].forEach((unitIndex, k) => {
      outcomes[unitIndex] = fresh.has(k + 1) ? "stored" : "duplicate";
    });
    return outcomes;
  }
}

// $1–$8 quarantine columns; $9–$11 candidate packets (device, message id, received at), numbered 1…n
// by ordinality; $12–$14 their samples (packet number, ts, values). Samples are inserted in their
// order in the group (the sorted subquery), so `seq` keeps the commit order of equal timestamps.
const COMMIT_SQL = `
  WITH q AS (
    INSERT INTO quarantine (received_at, device_id, message_id, transport, topic, reason_code, reason, payload)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
      $8::bytea[])
  ), m AS (
    INSERT INTO message_ids (device_id, message_id, received_at)
    SELECT * FROM unnest($9::text[], $10::text[], $11::bigint[])
    ON CONFLICT (device_id, message_id) DO NOTHING RETURNING device_id, message_id
  ), fresh AS (
    SELECT c.k, c.device_id FROM unnest($9::text[], $10::text[]) WITH ORDINALITY AS c(device_id, message_id, k)
    JOIN m USING (device_id, message_id)
  ), s AS (
    INSERT INTO samples (device_id, ts, vals)
    SELECT device_id, ts, vals FROM (
      SELECT f.device_id, x.ts, x.vals FROM unnest($12::bigint[], $13::bigint[], $14::text[])
        WITH ORDINALITY AS x(k, ts, vals, ord)
      JOIN fresh f ON f.k = x.k ORDER BY x.ord) o
  )
  SELECT k FROM fresh`;

function* sampleTimes(units: readonly Accept[]): Iterable<number> {
  for (const u of units) for (const s of u.samples) yield s.ts;
}

function quarantineArrays(units: readonly Quarantine[]): unknown[] {
  return [
    units.map((u) => u.receivedAt),
    units.map((u) => u.deviceId),
    units.map((u) => u.messageId),
    units.map((u) => u.transport),
    units.map((u) => u.topic),
    units.map((u) => u.reasonCode),
    units.map((u) => u.reason),
    units.map((u) => u.payload),
  ];
}

function candidateArrays(units: readonly Accept[]): unknown[] {
  const packet: number[] = [];
  const times: number[] = [];
  const vals: string[] = [];
  units.forEach((u, i) => {
    for (const s of u.samples) {
      packet.push(i + 1);
      times.push(s.ts);
      vals.push(JSON.stringify(s.values));
    }
  });
  return [
    units.map((u) => u.deviceId),
    units.map((u) => u.messageId),
    units.map((u) => u.receivedAt),
    packet,
    times,
    vals,
  ];
}
