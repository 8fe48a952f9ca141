// NETCONF message framing over SSH (RFC 6242 section 4).
//
// Two framings exist:
//   - end-of-message (section 4.3, base:1.0): the message, then "]]>]]>";
//   - chunked (section 4.2, base:1.1): one or more "\n#<size>\n<size bytes>" chunks, then
//     "\n##\n".
// A session starts in end-of-message framing; after both hellos advertised base:1.1 both sides
// switch to chunked framing (section 4.1). The caller decides when: MessageReader.useChunked().
//
// Memory is bounded: a message above maxMessageBytes or a chunk above maxChunkBytes is a
// FramingError as soon as it can be known (for a chunk: when its header is read, before any of
// its data is buffered; for an end-of-message message: once maxMessageBytes + 6 bytes are
// buffered without a delimiter, plus at most the bytes of the push() that crossed the limit).

/** Malformed framing, or a message or chunk above the configured caps. */
export class FramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

export type Framing = 'eom' | 'chunked';

export interface MessageReaderOptions {
  /** Largest message accepted, in bytes (default 64 MiB). */
  maxMessageBytes?: number;
  /**
   * Largest chunk accepted, in bytes (default: the same as maxMessageBytes, 64 MiB). RFC 6242
   * allows chunks up to 4294967295 bytes; no message can hold a chunk larger than the message
   * cap anyway. The default is not lower because common clients (ncclient, for one) send each
   * message as a single chunk: a chunk cap below the message cap would reject valid large
   * messages. Chunk data is never buffered separately from the message, so memory stays bounded
   * by maxMessageBytes whatever this cap is.
   */
  maxChunkBytes?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** RFC 6242 section 4.2: chunk-size is at most 4294967295. */
export const MAX_CHUNK_SIZE = 4294967295;
/** The end-of-message delimiter of RFC 6242 section 4.3. */
export const EOM_DELIMITER = ']]>]]>';
/** Default chunk size of frameChunked (chunks are cut at UTF-8 character boundaries). */
export const DEFAULT_FRAME_CHUNK_BYTES = 64 * 1024;

const EOM = Buffer.from(EOM_DELIMITER, 'latin1');
/** Input buffer size kept between messages; a larger one (after a large message) is released. */
const SHRINK_ABOVE = 1024 * 1024;
const END_OF_CHUNKS = Buffer.from('\n##\n', 'latin1');
const LF = 0x0a;
const HASH = 0x23;
const ZERO = 0x30;
const NINE = 0x39;

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function describeByte(b: number): string {
  if (b >= 0x21 && b <= 0x7e) return `'${String.fromCharCode(b)}'`;
  return `0x${b.toString(16).padStart(2, '0')}`;
}

function checkCap(name: string, value: number | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

type ChunkState =
  | 'lf' // expecting the LF that starts a chunk header or the end-of-chunks
  | 'hash' // expecting '#'
  | 'first' // expecting the first size digit (1-9) or the second '#' of end-of-chunks
  | 'size' // reading further size digits, or the LF that ends the header
  | 'data' // reading chunk data
  | 'endlf'; // expecting the LF that ends end-of-chunks

/**
 * Splits a byte stream into NETCONF messages.
 *
 * - push(data) returns every message completed by data (UTF-8 decoded) and keeps the rest.
 * - Starts in end-of-message framing. The first message (the client's hello) is also accepted in
 *   chunked framing: when the buffered input, after leading whitespace, starts with "\n#". Some
 *   clients (ncclient 0.6.13) frame their hello in chunks when the server's hello, advertising
 *   base:1.1, reached them before they sent theirs. The reader stays in end-of-message framing
 *   after such a hello; firstMessageFraming tells which framing the first message used.
 * - useChunked() switches to chunked framing for everything not yet returned as a message.
 *   Call it synchronously after the message that decides it (the hello): with append()/next(),
 *   the input after the hello is only parsed once next() is called again.
 * - In end-of-message framing, whitespace before a message (some clients send a newline after
 *   "]]>]]>") is dropped, and a message that is empty or only whitespace is skipped. When
 *   switching to chunked framing, whitespace before the first chunk header is also tolerated.
 *   Chunked framing is otherwise parsed strictly by the grammar of RFC 6242 section 4.2.
 * - Message bytes are decoded as UTF-8 as a whole (a character may be split across chunks);
 *   invalid UTF-8 is a FramingError.
 * - After a FramingError the reader is unusable: every later push() throws the same error.
 */
export class MessageReader {
  readonly maxMessageBytes: number;
  readonly maxChunkBytes: number;

  private storage = Buffer.alloc(0);
  private start = 0; // first unconsumed byte in storage
  private end = 0; // end of buffered bytes in storage

  private mode: Framing = 'eom';
  private messages = 0;
  private firstFraming: Framing | undefined;
  private failure: FramingError | undefined;
  /** Tolerate whitespace before the next chunked message (set by useChunked()). */
  private leadingWhitespaceOk = false;

  /** Framing of the message being read; undefined at a message boundary. */
  private current: Framing | undefined;
  // end-of-message framing: offset (from start) where the delimiter search resumes
  private eomScan = 0;
  // chunked framing
  private chunkState: ChunkState = 'lf';
  private chunkSize = 0;
  private chunkLeft = 0;
  private chunks = 0;
  private parts: Buffer[] = [];
  private partsBytes = 0;

  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(opts: MessageReaderOptions = {}) {
    this.maxMessageBytes = checkCap('maxMessageBytes', opts.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
    this.maxChunkBytes = Math.min(
      checkCap('maxChunkBytes', opts.maxChunkBytes, this.maxMessageBytes),
      MAX_CHUNK_SIZE,
    );
  }

  /** The framing of input not yet read. */
  get framing(): Framing {
    return this.mode;
  }

  /** The framing the first message arrived in (undefined until it is complete). */
  get firstMessageFraming(): Framing | undefined {
    return this.firstFraming;
  }

  /** Bytes received but not yet returned as part of a message (a partial message). */
  get bufferedBytes(): number {
    return this.end - this.start + this.partsBytes;
  }

  /** Switch to chunked framing (RFC 6242 section 4.1) for all input not yet returned. */
  useChunked(): void {
    if (this.mode === 'chunked') return;
    this.mode = 'chunked';
    this.leadingWhitespaceOk = true;
    if (this.current === 'eom') {
      // A partial end-of-message message is nothing consumed yet: read it again as chunks.
      this.current = undefined;
      this.eomScan = 0;
    }
  }

  /** Add input and return every message it completes. Throws FramingError. */
  push(data: Buffer): string[] {
    this.append(data);
    const out: string[] = [];
    for (let m = this.next(); m !== undefined; m = this.next()) out.push(m);
    return out;
  }

  /** Add input without parsing it; read messages with next(). */
  append(data: Buffer): void {
    if (this.failure) throw this.failure;
    if (data.length === 0) return;
    const pending = this.end - this.start;
    if (this.storage.length - this.end < data.length) {
      if (pending + data.length <= this.storage.length / 2) {
        this.storage.copy(this.storage, 0, this.start, this.end);
      } else {
        let size = Math.max(this.storage.length * 2, 4096);
        while (size < pending + data.length) size *= 2;
        const grown = Buffer.allocUnsafe(size);
        this.storage.copy(grown, 0, this.start, this.end);
        this.storage = grown;
      }
      this.start = 0;
      this.end = pending;
    }
    data.copy(this.storage, this.end);
    this.end += data.length;
  }

  /** The next complete message, or undefined when more input is needed. Throws FramingError. */
  next(): string | undefined {
    if (this.failure) throw this.failure;
    try {
      return this.parse();
    } catch (e) {
      if (e instanceof FramingError) {
        this.failure = e;
        this.release();
      }
      throw e;
    }
  }

  private release(): void {
    this.storage = Buffer.alloc(0);
    this.start = this.end = 0;
    this.parts = [];
    this.partsBytes = 0;
  }

  private parse(): string | undefined {
    for (;;) {
      if (this.current === undefined) {
        const framing = this.decideFraming();
        if (framing === undefined) return undefined;
        this.current = framing;
        if (framing === 'eom') this.eomScan = 0;
        else this.resetChunked();
      }
      const bytes = this.current === 'eom' ? this.readEom() : this.readChunked();
      if (bytes === undefined) return undefined;
      const framing = this.current;
      this.current = undefined;
      if (this.start === this.end) {
        // Nothing pending: rewind, and give back the memory a large message needed.
        this.start = this.end = 0;
        if (this.storage.length > SHRINK_ABOVE) this.storage = Buffer.alloc(0);
      }
      if (framing === 'eom' && bytes.length === 0) continue; // empty or whitespace-only
      let text: string;
      try {
        text = this.decoder.decode(bytes);
      } catch {
        throw new FramingError('message is not valid UTF-8');
      }
      if (this.messages === 0) this.firstFraming = framing;
      this.messages++;
      return text;
    }
  }

  /** At a message boundary: which framing the next message uses, or undefined to wait. */
  private decideFraming(): Framing | undefined {
    if (this.start === this.end) return undefined;
    if (this.mode === 'chunked' && !this.leadingWhitespaceOk) return 'chunked';
    // Leading whitespace of an end-of-message message is dropped when the message is complete,
    // not now: if useChunked() comes first, a newline may be the start of a chunk header.
    if (this.mode === 'eom' && this.messages > 0) return 'eom';
    // Skip leading whitespace, but keep the LF of a "\n#" chunk header.
    const s = this.storage;
    let i = this.start;
    while (i < this.end && isWhitespace(s[i]!)) i++;
    if (i === this.end) {
      if (this.end - this.start > this.maxMessageBytes) {
        throw new FramingError(`more than ${this.maxMessageBytes} bytes of whitespace before a message`);
      }
      return undefined;
    }
    if (s[i] === HASH && i > this.start && s[i - 1] === LF) {
      this.start = i - 1;
      this.leadingWhitespaceOk = false;
      return 'chunked';
    }
    if (this.mode === 'chunked') {
      // Not a chunk header: let the strict parser report what is wrong.
      this.leadingWhitespaceOk = false;
      return 'chunked';
    }
    this.start = i;
    return 'eom';
  }

  private readEom(): Buffer | undefined {
    const from = this.start + this.eomScan;
    const idx = this.storage.subarray(0, this.end).indexOf(EOM, from);
    if (idx === -1) {
      const pending = this.end - this.start;
      if (pending >= this.maxMessageBytes + EOM.length) {
        throw new FramingError(`message exceeds ${this.maxMessageBytes} bytes without an end-of-message delimiter`);
      }
      this.eomScan = Math.max(0, pending - (EOM.length - 1));
      return undefined;
    }
    const len = idx - this.start;
    if (len > this.maxMessageBytes) {
      throw new FramingError(`message of ${len} bytes exceeds the limit of ${this.maxMessageBytes} bytes`);
    }
    let first = this.start;
    while (first < idx && isWhitespace(this.storage[first]!)) first++;
    const bytes = Buffer.from(this.storage.subarray(first, idx));
    this.start = idx + EOM.length;
    this.eomScan = 0;
    return bytes;
  }

  private resetChunked(): void {
    this.chunkState = 'lf';
    this.chunkSize = 0;
    this.chunkLeft = 0;
    this.chunks = 0;
    this.parts = [];
    this.partsBytes = 0;
  }

  private readChunked(): Buffer | undefined {
    const s = this.storage;
    while (this.start < this.end) {
      if (this.chunkState === 'data') {
        const n = Math.min(this.chunkLeft, this.end - this.start);
        this.parts.push(Buffer.from(s.subarray(this.start, this.start + n)));
        this.partsBytes += n;
        this.chunkLeft -= n;
        this.start += n;
        if (this.chunkLeft === 0) this.chunkState = 'lf';
        continue;
      }
      const b = s[this.start++]!;
      switch (this.chunkState) {
        case 'lf':
          if (b !== LF) {
            throw new FramingError(
              `expected LF to start a chunk header or end-of-chunks, got ${describeByte(b)}` +
                (this.chunks === 0 && this.messages > 0 ? ' (is the peer still using end-of-message framing?)' : ''),
            );
          }
          this.chunkState = 'hash';
          break;
        case 'hash':
          if (b !== HASH) throw new FramingError(`expected '#' after LF in a chunk header, got ${describeByte(b)}`);
          this.chunkState = 'first';
          break;
        case 'first':
          if (b === HASH) {
            if (this.chunks === 0) throw new FramingError('end-of-chunks before any chunk (a chunked message has at least one chunk)');
            this.chunkState = 'endlf';
          } else if (b === ZERO) {
            throw new FramingError('chunk size starts with 0 (zero or a leading zero is not allowed)');
          } else if (b > ZERO && b <= NINE) {
            this.chunkSize = b - ZERO;
            this.chunkState = 'size';
          } else {
            throw new FramingError(`invalid chunk header: expected a digit 1-9 or '#' after "\\n#", got ${describeByte(b)}`);
          }
          break;
        case 'size':
          if (b >= ZERO && b <= NINE) {
            this.chunkSize = this.chunkSize * 10 + (b - ZERO);
            if (this.chunkSize > MAX_CHUNK_SIZE) {
              throw new FramingError(`chunk size exceeds ${MAX_CHUNK_SIZE} (RFC 6242 section 4.2)`);
            }
          } else if (b === LF) {
            this.beginChunk();
          } else {
            throw new FramingError(`invalid character ${describeByte(b)} in chunk size (digits then LF expected)`);
          }
          break;
        case 'endlf':
          if (b !== LF) throw new FramingError(`bad end-of-chunks: expected LF after "\\n##", got ${describeByte(b)}`);
          return this.finishChunked();
      }
    }
    return undefined;
  }

  private beginChunk(): void {
    const size = this.chunkSize;
    if (size > this.maxChunkBytes) {
      throw new FramingError(`chunk of ${size} bytes exceeds the limit of ${this.maxChunkBytes} bytes`);
    }
    if (this.partsBytes + size > this.maxMessageBytes) {
      throw new FramingError(`message exceeds the limit of ${this.maxMessageBytes} bytes`);
    }
    this.chunks++;
    this.chunkLeft = size;
    this.chunkSize = 0;
    this.chunkState = 'data';
  }

  private finishChunked(): Buffer {
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsBytes);
    this.parts = [];
    this.partsBytes = 0;
    return bytes;
  }
}

/** Frame a message in end-of-message framing (RFC 6242 section 4.3). */
export function frameEom(xml: string): Buffer {
  if (xml.includes(EOM_DELIMITER)) {
    throw new FramingError('message contains "]]>]]>", which cannot be sent in end-of-message framing');
  }
  const body = Buffer.from(xml, 'utf8');
  return Buffer.concat([body, EOM], body.length + EOM.length);
}

/**
 * Frame a message in chunked framing (RFC 6242 section 4.2), in chunks of at most maxChunk bytes
 * (default 64 KiB). Chunks are cut at UTF-8 character boundaries when maxChunk allows it (not
 * required by the RFC, but kind to peers that decode chunk by chunk). An empty message cannot be
 * framed (a chunked message has at least one chunk of at least one byte).
 */
export function frameChunked(xml: string, maxChunk: number = DEFAULT_FRAME_CHUNK_BYTES): Buffer {
  if (!Number.isSafeInteger(maxChunk) || maxChunk < 1 || maxChunk > MAX_CHUNK_SIZE) {
    throw new RangeError(`maxChunk must be an integer in 1..${MAX_CHUNK_SIZE}, got ${maxChunk}`);
  }
  const body = Buffer.from(xml, 'utf8');
  if (body.length === 0) throw new FramingError('an empty message cannot be sent in chunked framing');
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    let cut = Math.min(pos + maxChunk, body.length);
    if (cut < body.length) {
      let c = cut;
      while (c > pos && (body[c]! & 0xc0) === 0x80) c--; // do not split a character
      if (c > pos) cut = c;
    }
    out.push(Buffer.from(`\n#${cut - pos}\n`, 'latin1'), body.subarray(pos, cut));
    pos = cut;
  }
  out.push(END_OF_CHUNKS);
  return Buffer.concat(out);
}
