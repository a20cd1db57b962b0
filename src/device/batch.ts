import type { Sample } from "../core/sample.js";

/** Limits one telemetry packet must stay within (docs/telemetry.md, azure-protocol.md §8). */
export interface PacketLimits {
  /** Samples per packet; at most the server's `limits.maxSamplesPerPacket` (default 10 000). */
  maxSamples: number;
  /** Body bytes per packet; well under the hub's 256 KiB so topic and headers fit too. */
  maxBytes: number;
}

export const DEFAULT_PACKET_LIMITS: PacketLimits = { maxSamples: 1000, maxBytes: 128 * 1024 };

/** One packet body of the batch form `{"samples":[...]}` and how many samples it holds. */
export interface PacketBody {
  body: string;
  samples: number;
}

/** Bytes of `{"samples":[` + `]}`. */
const ENVELOPE_BYTES = Buffer.byteLength(`{"samples":[]}`);

/** A sample as docs/telemetry.md wants it: ISO-8601 UTC `ts` with milliseconds, numeric `values`. */
export function encodeSample(s: Sample): string {
  return `{"ts":"${new Date(s.ts).toISOString()}","values":${JSON.stringify(s.values)}}`;
}

/**
 * Splits samples, in order, into as few batch packets as the limits allow. A sample that alone
 * exceeds `maxBytes` cannot be sent at all (the hub would close the connection on every retry), so it
 * is skipped and counted in `oversized`.
 */
export function splitIntoPackets(
  samples: readonly Sample[],
  limits: PacketLimits = DEFAULT_PACKET_LIMITS,
): { packets: PacketBody[]; oversized: number } {
  const packets: PacketBody[] = [];
  let parts: string[] = [];
  let bytes = ENVELOPE_BYTES;
  let oversized = 0;
  const flush = () => {
    if (parts.length === 0) return;
    packets.push({ body: `{"samples":[${parts.join(",")}]}`, samples: parts.length });
    parts = [];
    bytes = ENVELOPE_BYTES;
  };
  for (const s of samples) {
    const text = encodeSample(s);
    // Values are numbers and the ts is ASCII, but signal names may not be: count real bytes.
    const size = Buffer.byteLength(text, "utf8");
    if (size + ENVELOPE_BYTES > limits.maxBytes) {
      oversized++;
      continue;
    }
    const comma = parts.length > 0 ? 1 : 0;
    if (parts.length >= limits.maxSamples || bytes + comma + size > limits.maxBytes) flush();
    bytes += (parts.length > 0 ? 1 : 0) + size;
    parts.push(text);
  }
  flush();
  return { packets, oversized };
}
