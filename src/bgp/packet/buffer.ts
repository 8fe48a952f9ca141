// One bounds-checked reader and one growable writer for every codec in the project.
// Reads past the end throw ShortBufferError, which the message decoders turn into the
// protocol-correct error (they know which length field lied).

export class ShortBufferError extends Error {
  constructor(
    readonly wanted: number,
    readonly available: number,
  ) {
    super(`need ${wanted} byte(s), only ${available} left`);
    this.name = 'ShortBufferError';
  }
}

export class Reader {
  /** Absolute offset into `buf`. */
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    /** Absolute end (exclusive). */
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new ShortBufferError(n, this.end - this.pos);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const b = this.buf;
    const p = this.pos;
    this.pos += 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Advances past n bytes and returns their offset in `buf`: read them in place, without
   * allocating a view (the decode hot path). */
  take(n: number): number {
    this.need(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A sub-reader over the next n bytes; advances this reader past them. */
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/** Every encoder refuses out-of-range values instead of masking them into other, valid-looking
 * bytes (e.g. a My AS of 70000 silently sent as 4464). */
function checkRange(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} field: ${v} is not an integer 0..${max}`);
}

export class Writer {
  private buf: Buffer;
  pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    checkRange(v, 0xff, '1-byte');
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    checkRange(v, 0xffff, '2-byte');
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }

  u24(v: number): this {
    checkRange(v, 0xffffff, '3-byte');
    this.ensure(3);
    this.buf[this.pos] = (v >>> 16) & 0xff;
    this.buf[this.pos + 1] = (v >>> 8) & 0xff;
    this.buf[this.pos + 2] = v & 0xff;
    this.pos += 3;
    return this;
  }

  u32(v: number): this {
    checkRange(v, 0xffffffff, '4-byte');
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Reserve n bytes to fill in later (length fields); returns their offset. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.buf.fill(0, at, at + n);
    this.pos += n;
    return at;
  }

  patchU8(at: number, v: number): void {
    checkRange(v, 0xff, '1-byte length');
    this.buf[at] = v & 0xff;
  }

  patchU16(at: number, v: number): void {
    checkRange(v, 0xffff, '2-byte length');
    this.buf.writeUInt16BE(v & 0xffff, at);
  }

  /** A copy of what was written (safe to keep after the writer is reused). */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** A view of what was written, valid until the next write. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
