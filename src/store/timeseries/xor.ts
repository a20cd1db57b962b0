/**
 * Gorilla XOR encoding of IEEE-754 doubles (Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory
 * Time Series Database", VLDB 2015, §4.1.2): the first value verbatim, then each value XORed with its
 * predecessor — '0' when equal, '10' + the meaningful bits when they fit the previous leading/trailing
 * zero window, else '11' + 5 bits of leading zeros + 6 bits of length + the meaningful bits.
 *
 * The fallback for columns that are not decimal-quantised: any bit pattern (±0, ±Infinity, NaN
 * payloads, subnormals) round-trips exactly. 64-bit words are handled as two uint32 halves.
 */
import { BitReader, BitWriter } from "./bytes.js";

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Index of the high and low word of a double in the shared buffer (little-endian on every platform
// Node supports, but checked rather than assumed).
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const HI = LITTLE ? 1 : 0;
const LO = LITTLE ? 0 : 1;

function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

/** Writes the `m` bits of (hi, lo) >> shift. */
function writeShifted(w: BitWriter, hi: number, lo: number, shift: number, m: number): void {
  let h: number;
  let l: number;
  if (shift === 0) {
    h = hi;
    l = lo;
  } else if (shift < 32) {
    l = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
    h = hi >>> shift;
  } else {
    l = hi >>> (shift - 32);
    h = 0;
  }
  if (m > 32) {
    w.write(h, m - 32);
    w.write(l, 32);
  } else {
    w.write(l, m);
  }
}

/** Encodes `values` (every entry, NaN included) as a Gorilla bit stream. */
export function encodeXor(values: ArrayLike<number>): Uint8Array {
  const w = new BitWriter();
  const n = values.length;
  if (n === 0) return w.finish();
  f64[0] = values[0]!;
  let prevHi = u32[HI]!;
  let prevLo = u32[LO]!;
  w.write(prevHi, 32);
  w.write(prevLo, 32);
  let winLead = -1;
  let winTrail = 0;
  for (let i = 1; i < n; i++) {
    f64[0] = values[i]!;
    const hi = u32[HI]!;
    const lo = u32[LO]!;
    const xh = (hi ^ prevHi) >>> 0;
    const xl = (lo ^ prevLo) >>> 0;
    prevHi = hi;
    prevLo = lo;
    if (xh === 0 && xl === 0) {
      w.write(0, 1);
      continue;
    }
    let lead = clz64(xh, xl);
    const trail = ctz64(xh, xl);
    if (lead > 31) lead = 31;
    if (winLead >= 0 && lead >= winLead && trail >= winTrail) {
      w.write(0b10, 2);
      writeShifted(w, xh, xl, winTrail, 64 - winLead - winTrail);
    } else {
      const m = 64 - lead - trail;
      w.write(0b11, 2);
      w.write(lead, 5);
      // A length of 64 does not fit 6 bits; it is written as 0 (a length of 0 cannot occur).
      w.write(m & 63, 6);
      writeShifted(w, xh, xl, trail, m);
      winLead = lead;
      winTrail = trail;
    }
  }
  return w.finish();
}

/** Decodes `n` doubles written by {@link encodeXor} into `out` (from index 0). */
export function decodeXor(buf: Uint8Array, n: number, out: Float64Array = new Float64Array(n)): Float64Array {
  if (n === 0) return out;
  const r = new BitReader(buf);
  let hi = r.read(32);
  let lo = r.read(32);
  u32[HI] = hi;
  u32[LO] = lo;
  out[0] = f64[0]!;
  let winLead = 0;
  let winTrail = 0;
  for (let i = 1; i < n; i++) {
    if (r.read(1) === 1) {
      let m: number;
      if (r.read(1) === 1) {
        winLead = r.read(5);
        m = r.read(6) || 64;
        winTrail = 64 - winLead - m;
        if (winTrail < 0) throw new RangeError("time-series XOR stream malformed");
      } else {
        m = 64 - winLead - winTrail;
      }
      let h = 0;
      let l: number;
      if (m > 32) {
        h = r.read(m - 32);
        l = r.read(32);
      } else {
        l = r.read(m);
      }
      const s = winTrail;
      let xh: number;
      let xl: number;
      if (s === 0) {
        xh = h;
        xl = l;
      } else if (s < 32) {
        xh = ((h << s) | (l >>> (32 - s))) >>> 0;
        xl = (l << s) >>> 0;
      } else {
        xh = (l << (s - 32)) >>> 0;
        xl = 0;
      }
      hi = (hi ^ xh) >>> 0;
      lo = (lo ^ xl) >>> 0;
    }
    u32[HI] = hi;
    u32[LO] = lo;
    out[i] = f64[0]!;
  }
  return out;
}
