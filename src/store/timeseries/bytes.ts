/**
 * Byte- and bit-level primitives of the time-series codec: unsigned LEB128 varints, zigzag for signed
 * integers, and an MSB-first bit stream for the XOR float encoding. Integers are JavaScript numbers
 * and must stay within ±2^53 (the callers keep them below 2^52), so no BigInt is needed.
 *
 * Readers throw a RangeError on truncated or malformed input instead of returning garbage.
 */

/** Zigzag maps signed to unsigned so that small magnitudes of either sign get short varints. */
export function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Bytes a varint of the unsigned integer `v` takes. */
export function uvarintLength(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** A growable byte buffer. */
export class ByteWriter {
  #buf: Uint8Array;
  #pos = 0;

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(Math.max(16, capacity));
  }

  get length(): number {
    return this.#pos;
  }

  #ensure(extra: number): void {
    if (this.#pos + extra <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#pos + extra));
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  byte(b: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = b;
  }

  /** Unsigned LEB128; `v` must be a non-negative safe integer. */
  uvarint(v: number): void {
    this.#ensure(8);
    const buf = this.#buf;
    if (v < 0x10000000) {
      // Fast path with 32-bit operations: most values are small deltas.
      while (v >= 0x80) {
        buf[this.#pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[this.#pos++] = v;
      return;
    }
    while (v >= 0x80) {
      buf[this.#pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.#pos++] = v;
  }

  svarint(v: number): void {
    this.uvarint(zigzag(v));
  }

  bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /** Length-prefixed UTF-8. */
  string(s: string): void {
    this.bytesWithLength(Buffer.from(s, "utf8"));
  }

  bytesWithLength(b: Uint8Array): void {
    this.uvarint(b.length);
    this.bytes(b);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
}

/** Reads what a {@link ByteWriter} wrote. */
export class ByteReader {
  readonly #buf: Uint8Array;
  #pos: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.#buf = buf;
    this.#pos = pos;
  }

  get pos(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  byte(): number {
    if (this.#pos >= this.#buf.length) throw new RangeError("time-series data truncated");
    return this.#buf[this.#pos++]!;
  }

  uvarint(): number {
    const buf = this.#buf;
    let b = buf[this.#pos++];
    if (b === undefined) throw new RangeError("time-series data truncated");
    if (b < 0x80) return b;
    let v = b & 0x7f;
    let mult = 128;
    for (;;) {
      b = buf[this.#pos++];
      if (b === undefined) throw new RangeError("time-series data truncated");
      v += (b & 0x7f) * mult;
      if (b < 0x80) return v;
      mult *= 128;
      if (mult > 2 ** 56) throw new RangeError("time-series varint too long");
    }
  }

  svarint(): number {
    return unzigzag(this.uvarint());
  }

  bytes(n: number): Uint8Array {
    if (n > this.remaining) throw new RangeError("time-series data truncated");
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  bytesWithLength(): Uint8Array {
    return this.bytes(this.uvarint());
  }

  string(): string {
    const b = this.bytesWithLength();
    return Buffer.from(b.buffer, b.byteOffset, b.length).toString("utf8");
  }

  skip(n: number): void {
    this.bytes(n);
  }
}

/** MSB-first bit stream (Gorilla's layout). */
export class BitWriter {
  readonly #out = new ByteWriter(1024);
  #cur = 0;
  #used = 0;

  /** Writes the low `n` (0…32) bits of `value`. */
  write(value: number, n: number): void {
    while (n > 0) {
      const space = 8 - this.#used;
      const take = Math.min(n, space);
      const chunk = (value >>> (n - take)) & ((1 << take) - 1);
      this.#cur |= chunk << (space - take);
      this.#used += take;
      n -= take;
      if (this.#used === 8) {
        this.#out.byte(this.#cur);
        this.#cur = 0;
        this.#used = 0;
      }
    }
  }

  finish(): Uint8Array {
    if (this.#used > 0) {
      this.#out.byte(this.#cur);
      this.#cur = 0;
      this.#used = 0;
    }
    return this.#out.finish();
  }
}

export class BitReader {
  readonly #buf: Uint8Array;
  #byte = 0;
  #bit = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  /** Reads `n` (0…32) bits as an unsigned number. */
  read(n: number): number {
    let v = 0;
    while (n > 0) {
      const b = this.#buf[this.#byte];
      if (b === undefined) throw new RangeError("time-series bit stream truncated");
      const avail = 8 - this.#bit;
      const take = Math.min(n, avail);
      const chunk = (b >>> (avail - take)) & ((1 << take) - 1);
      v = v * (1 << take) + chunk;
      this.#bit += take;
      n -= take;
      if (this.#bit === 8) {
        this.#bit = 0;
        this.#byte++;
      }
    }
    return v;
  }
}
