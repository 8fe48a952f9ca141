// RFC 6242 section 4 framing: end-of-message (4.3) and chunked (4.2) framing, the switch
// between them (4.1), the chunk grammar, caps, and UTF-8 across chunk boundaries.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  EOM_DELIMITER,
  FramingError,
  MessageReader,
  frameChunked,
  frameEom,
  type MessageReaderOptions,
} from '../../src/netconf/framing';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Feed data one byte at a time; return every message. */
function byteByByte(r: MessageReader, data: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < data.length; i++) out.push(...r.push(data.subarray(i, i + 1)));
  return out;
}

/** The FramingError that reading data in chunked framing raises. */
function chunkedError(data: string | Buffer, opts?: MessageReaderOptions): FramingError {
  const r = new MessageReader(opts);
  r.useChunked();
  try {
    r.push(typeof data === 'string' ? b(data) : data);
  } catch (e) {
    assert.ok(e instanceof FramingError, `expected FramingError, got ${String(e)}`);
    return e;
  }
  assert.fail(`no FramingError for ${JSON.stringify(data.toString())}`);
}

const HELLO = '<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities/></hello>';
const RPC = (id: number) => `<rpc message-id="${id}" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><get/></rpc>`;

describe('NETCONF framing: end-of-message (RFC 6242 section 4.3)', () => {
  it('frames with ]]>]]> and reads it back', () => {
    const f = frameEom(RPC(1));
    assert.equal(f.toString(), RPC(1) + ']]>]]>');
    const r = new MessageReader();
    assert.equal(r.framing, 'eom');
    assert.deepEqual(r.push(f), [RPC(1)]);
    assert.equal(r.bufferedBytes, 0);
  });

  it('returns several messages from one push and keeps a partial one', () => {
    const r = new MessageReader();
    const data = Buffer.concat([frameEom(RPC(1)), frameEom(RPC(2)), frameEom(RPC(3)), b('<rpc mess')]);
    assert.deepEqual(r.push(data), [RPC(1), RPC(2), RPC(3)]);
    assert.equal(r.bufferedBytes, 9);
    assert.deepEqual(r.push(b('age-id="4"/>]]>]]>')), ['<rpc message-id="4"/>']);
  });

  it('reads input fed byte by byte, including a delimiter split everywhere', () => {
    const data = Buffer.concat([frameEom(HELLO), frameEom(RPC(1)), frameEom('<a>]]>]]</a>')]);
    assert.deepEqual(byteByByte(new MessageReader(), data), [HELLO, RPC(1), '<a>]]>]]</a>']);
  });

  it('drops whitespace between messages and skips empty messages', () => {
    const r = new MessageReader();
    assert.deepEqual(r.push(b('<a/>]]>]]>\n\r\n  <b/>]]>]]>]]>]]>\n]]>]]>\t<c/>\n]]>]]>\n')), ['<a/>', '<b/>', '<c/>\n']);
    assert.equal(r.bufferedBytes, 1);
  });

  it('refuses to frame a message containing the delimiter', () => {
    assert.throws(() => frameEom('<a b="]]>]]>"/>'), FramingError);
  });
});

describe('NETCONF framing: chunked (RFC 6242 section 4.2)', () => {
  it('frames as chunks and reads them back after useChunked()', () => {
    const f = frameChunked(RPC(7));
    const len = Buffer.byteLength(RPC(7));
    assert.equal(f.toString(), `\n#${len}\n${RPC(7)}\n##\n`);
    const r = new MessageReader();
    r.useChunked();
    assert.equal(r.framing, 'chunked');
    assert.deepEqual(r.push(f), [RPC(7)]);
  });

  it('reads the RFC 6242 section 4.2 example (two chunks)', () => {
    const example =
      '\n#4\n<rpc\n#18\n message-id="102"\n\n#79\n     xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">\n  <close-session/>\n</rpc>\n##\n';
    const r = new MessageReader();
    r.useChunked();
    assert.deepEqual(r.push(b(example)), [
      '<rpc message-id="102"\n     xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">\n  <close-session/>\n</rpc>',
    ]);
  });

  it('splits into chunks of at most maxChunk bytes', () => {
    const f = frameChunked('abcdefghij', 4).toString();
    assert.equal(f, '\n#4\nabcd\n#4\nefgh\n#2\nij\n##\n');
    const r = new MessageReader();
    r.useChunked();
    assert.deepEqual(r.push(b(f)), ['abcdefghij']);
  });

  it('reads chunked input byte by byte, several messages', () => {
    const msgs = [HELLO, RPC(1), 'x', '<a>\n##\n\n#3\n</a>'];
    const r = new MessageReader();
    r.useChunked();
    assert.deepEqual(byteByByte(r, Buffer.concat(msgs.map((m) => frameChunked(m, 5)))), msgs);
  });

  it('decodes a multi-byte character split across chunks (whole-message decoding)', () => {
    const text = '<a>é€😀</a>';
    const bytes = b(text);
    // One byte per chunk: every multi-byte character is split.
    const framed = Buffer.concat([
      ...[...bytes].map((byte) => Buffer.concat([b('\n#1\n'), Buffer.from([byte])])),
      b('\n##\n'),
    ]);
    const r = new MessageReader();
    r.useChunked();
    assert.deepEqual(r.push(framed), [text]);
    const r2 = new MessageReader();
    r2.useChunked();
    assert.deepEqual(byteByByte(r2, framed), [text]);
    // frameChunked with chunks smaller than a character splits the character (allowed)...
    const r3 = new MessageReader();
    r3.useChunked();
    assert.deepEqual(r3.push(frameChunked(text, 1)), [text]);
    // ...and otherwise cuts at character boundaries.
    assert.equal(frameChunked('aé', 2).toString(), '\n#1\na\n#2\né\n##\n');
    assert.equal(frameChunked('😀😀', 6).toString(), '\n#4\n😀\n#4\n😀\n##\n');
  });

  it('reports invalid UTF-8 as a FramingError', () => {
    const bad = Buffer.concat([b('\n#3\n<'), Buffer.from([0xc3, 0x28]), b('\n##\n')]);
    assert.match(chunkedError(bad).message, /UTF-8/);
    assert.throws(() => new MessageReader().push(Buffer.concat([Buffer.from([0xff]), b(EOM_DELIMITER)])), /UTF-8/);
  });

  it('refuses to frame an empty message', () => {
    assert.throws(() => frameChunked(''), FramingError);
    assert.throws(() => frameChunked('a', 0), RangeError);
  });

  describe('malformed chunk framing (grammar of RFC 6242 section 4.2)', () => {
    const cases: [string, string, RegExp][] = [
      ['chunk size 0', '\n#0\n', /starts with 0/],
      ['leading zero', '\n#01\na\n##\n', /starts with 0/],
      ['chunk size above 4294967295', '\n#4294967296\n', /exceeds 4294967295/],
      ['chunk size far above 4294967295', '\n#99999999999999999999\n', /exceeds 4294967295/],
      ['non-digit first', '\n#a\n', /expected a digit 1-9/],
      ['negative size', '\n#-1\n', /expected a digit 1-9/],
      ['plus sign', '\n#+1\n', /expected a digit 1-9/],
      ['space before size', '\n# 1\na\n##\n', /expected a digit 1-9/],
      ['non-digit inside size', '\n#1a\n', /invalid character 'a' in chunk size/],
      ['CR LF after size', '\n#1\r\na\n##\n', /invalid character 0x0d in chunk size/],
      ['missing newline after size', '\n#4<a/>\n##\n', /invalid character '<' in chunk size/],
      ['missing LF before #', '#4\n<a/>\n##\n', /expected LF/],
      ['missing # after LF', '\n4\n<a/>\n##\n', /expected '#'/],
      ['data longer than the chunk size', '\n#3\n<a/>\n##\n', /expected LF .* got '>'/],
      ['end-of-chunks without LF before', '\n#4\n<a/>##\n', /expected LF .* got '#'/],
      ['end-of-chunks with a single #', '\n#4\n<a/>\n#\n', /invalid character 0x0a in chunk size|expected a digit/],
      ['end-of-chunks with ###', '\n#4\n<a/>\n###\n', /bad end-of-chunks/],
      ['end-of-chunks not ended by LF', '\n#4\n<a/>\n##x', /bad end-of-chunks/],
      ['end-of-chunks with CR LF', '\n#4\n<a/>\n##\r\n', /bad end-of-chunks/],
      ['end-of-chunks before any chunk', '\n##\n', /before any chunk/],
    ];
    for (const [name, input, re] of cases) {
      it(`${name}: ${JSON.stringify(input)}`, () => {
        assert.match(chunkedError(input).message, re);
        // The same error fed byte by byte.
        const r = new MessageReader();
        r.useChunked();
        assert.throws(() => byteByByte(r, b(input)), (e: unknown) => e instanceof FramingError && re.test(e.message));
      });
    }

    it('accepts the largest chunk-size the grammar allows, up to the cap', () => {
      const r = new MessageReader({ maxMessageBytes: 2 ** 33, maxChunkBytes: 2 ** 33 });
      assert.equal(r.maxChunkBytes, 4294967295);
      r.useChunked();
      assert.deepEqual(r.push(b('\n#4294967295\nabc')), []);
      assert.equal(r.bufferedBytes, 3);
    });

    it('is unusable after an error', () => {
      const r = new MessageReader();
      r.useChunked();
      assert.throws(() => r.push(b('\n#0\n')), FramingError);
      assert.throws(() => r.push(frameChunked('<a/>')), /starts with 0/);
    });
  });
});

describe('NETCONF framing: hello and the switch to chunked (RFC 6242 section 4.1)', () => {
  it('accepts a first message (the client hello) in chunked framing while in end-of-message mode', () => {
    const r = new MessageReader();
    assert.deepEqual(r.push(frameChunked(HELLO, 16)), [HELLO]);
    assert.equal(r.firstMessageFraming, 'chunked');
    assert.equal(r.framing, 'eom');
    // The reader stays in end-of-message framing until told otherwise.
    assert.deepEqual(r.push(frameEom(RPC(1))), [RPC(1)]);
  });

  it('detects the chunked hello byte by byte and after leading whitespace', () => {
    const r = new MessageReader();
    assert.deepEqual(byteByByte(r, Buffer.concat([b(' \r\n'), frameChunked(HELLO, 7)])), [HELLO]);
    assert.equal(r.firstMessageFraming, 'chunked');
    const r2 = new MessageReader();
    assert.deepEqual(byteByByte(r2, Buffer.concat([b('\n\n'), frameEom(HELLO)])), [HELLO]);
    assert.equal(r2.firstMessageFraming, 'eom');
  });

  it('only the first message may be chunked in end-of-message mode', () => {
    const r = new MessageReader();
    r.push(frameEom(HELLO));
    assert.deepEqual(r.push(Buffer.concat([frameChunked('<a/>'), b(EOM_DELIMITER)])), ['#4\n<a/>\n##\n']);
  });

  it('a malformed chunked hello is a FramingError', () => {
    assert.throws(() => new MessageReader().push(b('\n#0\n')), /starts with 0/);
    assert.throws(() => new MessageReader().push(b('\n#3\n<a/>')), /got '>'/);
  });

  it('switches to chunked for input after the hello, even in the same data (append/next)', () => {
    const r = new MessageReader();
    r.append(Buffer.concat([frameEom(HELLO), frameChunked(RPC(1)), frameChunked(RPC(2), 3)]));
    assert.equal(r.next(), HELLO);
    r.useChunked();
    assert.equal(r.next(), RPC(1));
    assert.equal(r.next(), RPC(2));
    assert.equal(r.next(), undefined);
  });

  it('switches with a partial message buffered: it is read again as chunks', () => {
    const r = new MessageReader();
    const data = Buffer.concat([frameEom(HELLO), frameChunked(RPC(1))]);
    const cut = Buffer.byteLength(HELLO) + 6 + 10;
    assert.deepEqual(r.push(data.subarray(0, cut)), [HELLO]);
    r.useChunked();
    assert.deepEqual(r.push(data.subarray(cut)), [RPC(1)]);
  });

  it('tolerates a newline after the last ]]>]]> before the first chunk', () => {
    const r = new MessageReader();
    assert.deepEqual(r.push(b(HELLO + ']]>]]>\n')), [HELLO]);
    r.useChunked();
    assert.deepEqual(byteByByte(r, Buffer.concat([b('\n'), frameChunked(RPC(1))])), [RPC(1)]);
    // ...but not later: chunked framing is strict.
    assert.throws(() => r.push(Buffer.concat([b('\n'), frameChunked(RPC(2))])), /expected '#'/);
  });

  it('an end-of-message peer after the switch gets a clear error', () => {
    const r = new MessageReader();
    r.push(frameEom(HELLO));
    r.useChunked();
    assert.throws(() => r.push(frameEom(RPC(1))), /end-of-message framing/);
  });
});

describe('NETCONF framing: caps (never buffers without bound)', () => {
  it('end-of-message: a message above maxMessageBytes throws once the cap is passed', () => {
    const r = new MessageReader({ maxMessageBytes: 100 });
    assert.deepEqual(r.push(b('x'.repeat(100) + EOM_DELIMITER)), ['x'.repeat(100)]);
    let pushed = 0;
    assert.throws(() => {
      for (;;) {
        r.push(b('y'.repeat(10)));
        pushed += 10;
        assert.ok(pushed < 10_000, 'still buffering');
      }
    }, /exceeds 100 bytes/);
    assert.ok(pushed <= 110, `threw after ${pushed} bytes`);
    assert.equal(r.bufferedBytes, 0);
    // A complete oversize message in one push.
    assert.throws(() => new MessageReader({ maxMessageBytes: 100 }).push(b('z'.repeat(101) + EOM_DELIMITER)), /exceeds the limit/);
  });

  it('chunked: a chunk above maxChunkBytes throws at its header, before any data', () => {
    assert.match(chunkedError('\n#101\n', { maxChunkBytes: 100 }).message, /chunk of 101 bytes exceeds the limit of 100/);
    // The default cap (64 MiB) refuses a 4 GiB chunk on its header alone.
    assert.match(chunkedError('\n#4294967295\n').message, /exceeds the limit/);
    const r = new MessageReader({ maxChunkBytes: 100 });
    r.useChunked();
    assert.deepEqual(r.push(b(`\n#100\n${'a'.repeat(100)}\n##\n`)), ['a'.repeat(100)]);
  });

  it('chunked: a message whose chunks add up above maxMessageBytes throws at the header that passes it', () => {
    const r = new MessageReader({ maxMessageBytes: 100 });
    r.useChunked();
    assert.deepEqual(r.push(b(`\n#60\n${'a'.repeat(60)}`)), []);
    assert.throws(() => r.push(b('\n#41\n')), /message exceeds the limit of 100 bytes/);
    const r2 = new MessageReader({ maxMessageBytes: 100 });
    r2.useChunked();
    assert.deepEqual(r2.push(b(`\n#60\n${'a'.repeat(60)}\n#40\n${'b'.repeat(40)}\n##\n`)), ['a'.repeat(60) + 'b'.repeat(40)]);
  });

  it('the chunk cap defaults to the message cap and rejects nonsense options', () => {
    const r = new MessageReader({ maxMessageBytes: 1000 });
    assert.equal(r.maxChunkBytes, 1000);
    assert.equal(new MessageReader().maxMessageBytes, 64 * 1024 * 1024);
    assert.throws(() => new MessageReader({ maxMessageBytes: 0 }), RangeError);
    assert.throws(() => new MessageReader({ maxChunkBytes: 1.5 }), RangeError);
  });
});

describe('NETCONF framing: property (random messages, random split points)', () => {
  // Message bodies mix random code points with pieces that look like framing.
  const piece = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom(']]>', ']]>]]', '\n#', '\n##\n', '\n#12\n', '#', 'é', '€', '😀', '\n', ' '),
  );
  const body = fc.array(piece, { maxLength: 8 }).map((ps) => `<m>${ps.join('')}</m>`);
  const messages = fc.array(body, { minLength: 1, maxLength: 6 });

  function splitAt(data: Buffer, cuts: number[]): Buffer[] {
    const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((x, y) => x - y);
    const parts: Buffer[] = [];
    let prev = 0;
    for (const p of points) {
      parts.push(data.subarray(prev, p));
      prev = p;
    }
    parts.push(data.subarray(prev));
    return parts;
  }

  /** Read every message; after the first (the hello) switch to chunked if asked. */
  function readAll(parts: Buffer[], switchAfterHello: boolean): string[] {
    const r = new MessageReader();
    const out: string[] = [];
    for (const part of parts) {
      r.append(part);
      for (let m = r.next(); m !== undefined; m = r.next()) {
        out.push(m);
        if (out.length === 1 && switchAfterHello) r.useChunked();
      }
    }
    assert.equal(r.bufferedBytes, 0);
    return out;
  }

  it('end-of-message framing', () => {
    fc.assert(
      fc.property(
        messages.filter((ms) => ms.every((m) => !m.includes(EOM_DELIMITER))),
        fc.array(fc.nat(), { maxLength: 12 }),
        (ms, cuts) => {
          const data = Buffer.concat(ms.map(frameEom));
          assert.deepEqual(readAll(splitAt(data, cuts), false), ms);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hello in end-of-message framing, then chunked framing', () => {
    fc.assert(
      fc.property(
        messages,
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (ms, maxChunk, cuts) => {
          const hello = '<hello/>';
          const data = Buffer.concat([frameEom(hello), ...ms.map((m) => frameChunked(m, maxChunk))]);
          assert.deepEqual(readAll(splitAt(data, cuts), true), [hello, ...ms]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hello already chunked (client switched early), then chunked framing', () => {
    fc.assert(
      fc.property(
        messages,
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (ms, maxChunk, cuts) => {
          const data = Buffer.concat(ms.map((m) => frameChunked(m, maxChunk)));
          assert.deepEqual(readAll(splitAt(data, cuts), true), ms);
        },
      ),
      { numRuns: 300 },
    );
  });
});
