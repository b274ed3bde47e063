// A minimal protobuf *encoder* for the few TensorBoard messages Anvil writes (Event, Summary,
// Image, TensorProto). Fields are appended in call order; a nested message is encoded on its own
// and added as bytes, so no schema or code generation is needed.

const textEncoder = new TextEncoder();

/** Wire types of the protobuf encoding. */
const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const FIXED32 = 5;

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  /** int32/int64/uint64/enum/bool as a varint (negative values take ten bytes, as protobuf's int64 does). */
  varint(field: number, value: number | bigint | boolean): this {
    this.tag(field, VARINT);
    this.rawVarint(BigInt.asUintN(64, BigInt(typeof value === 'boolean' ? Number(value) : value)));
    return this;
  }

  /** `double`: eight bytes little-endian. */
  double(field: number, value: number): this {
    this.tag(field, FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    return this.push(b);
  }

  /** `float`: four bytes little-endian (the value rounded to float32). */
  float(field: number, value: number): this {
    this.tag(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.push(b);
  }

  /** `bytes` or an encoded nested message: length-prefixed. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, BYTES);
    this.rawVarint(BigInt(value.length));
    return this.push(value);
  }

  /** `string`: UTF-8, length-prefixed. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** A nested message. */
  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(BigInt(field * 8 + wireType));
  }

  private rawVarint(v: bigint): void {
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v !== 0n);
    this.push(Uint8Array.from(bytes));
  }

  private push(b: Uint8Array): this {
    this.chunks.push(b);
    this.size += b.length;
    return this;
  }
}
