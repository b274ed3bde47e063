// The TFRecord framing TensorBoard event files use: each record is
//   uint64 length | uint32 masked CRC32C(length bytes) | data | uint32 masked CRC32C(data)
// all little-endian. The CRC32C (Castagnoli) comes from @node-rs/crc32; the mask is TensorFlow's.

import { crc32c } from '@node-rs/crc32';

/** CRC32C (Castagnoli) of the bytes, as an unsigned 32-bit number. */
export function crc32cOf(data: Uint8Array): number {
  return crc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
}

/** TensorFlow's masked CRC: rotate right by 15 bits, add 0xa282ead8 (mod 2^32). */
export function maskCrc(crc: number): number {
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + 0xa282ead8) >>> 0;
}

export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32cOf(data));
}

/** One framed record holding `data`. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}
