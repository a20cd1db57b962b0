import { crc32, inflateRawSync } from "node:zlib";

/** One file of a ZIP archive, in central-directory order. */
export interface ZipFile {
  name: string;
  data: Buffer;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Reads a whole (non-ZIP64) archive through its central directory (APPNOTE.TXT §4.3.12, §4.3.16):
 * the sizes come from there, since streamed entries leave them zero in the local headers. Stored and
 * deflated entries only; checks each file's size and CRC-32. Fails on anything it does not understand.
 */
export function unzip(zip: Buffer): ZipFile[] {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== EOCD) eocd--;
  if (eocd < 0) throw new Error("not a zip archive: no end of central directory record");
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const files: ZipFile[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== CENTRAL) throw new Error(`bad central directory header at ${p}`);
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLength = zip.readUInt16LE(p + 28);
    const skip = nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.toString("utf8", p + 46, p + 46 + nameLength);
    if (zip.readUInt32LE(local) !== LOCAL) throw new Error(`bad local header of ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    if (method !== 0 && method !== 8) throw new Error(`${name}: compression method ${method} not supported`);
    const data = method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    if (data.length !== size)
      throw new Error(`${name}: ${data.length} bytes, central directory says ${size}`);
    if (crc32(data) !== zip.readUInt32LE(p + 16)) throw new Error(`${name}: CRC-32 mismatch`);
    files.push({ name, data });
    p += 46 + skip;
  }
  return files;
}
