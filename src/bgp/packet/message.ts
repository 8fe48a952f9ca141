// BGP-4 messages (RFC 4271 section 4): typed values, one decoder and one encoder per kind.
//
// decodeMessage() either returns a typed message or throws NotificationError with the code,
// subcode and data RFC 4271 section 6 prescribes. An UPDATE that RFC 7606 lets us survive
// is returned with `treatAsWithdraw` / `discarded` set instead of throwing.
import { ipv4ToBytes, ipv4ToString } from './addr';
import { Reader, ShortBufferError, Writer } from './buffer';
import { Capability, CapabilityError, decodeCapability, encodeCapability } from './capability';
import {
  BGP_VERSION,
  ErrorCode,
  HEADER_LENGTH,
  HeaderSubcode,
  MAX_MESSAGE_LENGTH,
  MessageType,
  OPEN_PARAM_CAPABILITIES,
  OpenSubcode,
  ROUTE_REFRESH_INVALID_LENGTH,
  UpdateSubcode,
} from './constants';
import { NotificationError } from './errors';
import { DecodeOptions, MpReach, MpUnreach, PathAttributes, decodeAttributes, encodeAttributes } from './attributes';
import { Ipv4Prefix, PrefixError, decodeIpv4Prefixes, encodeIpv4Prefix } from './prefix';
import { isIPv4 } from 'node:net';

export interface OpenMessage {
  type: 'open';
  version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS for a 4-octet AS, RFC 6793). */
  myAs: number;
  holdTime: number;
  bgpId: string;
  capabilities: Capability[];
}

export interface UpdateMessage {
  type: 'update';
  withdrawn: Ipv4Prefix[];
  attributes: PathAttributes;
  nlri: Ipv4Prefix[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** RFC 7606: why the announced routes must be handled as withdrawn, when they must. */
  treatAsWithdraw?: string[];
  /** RFC 7606: attributes that were dropped, with reasons. */
  discarded?: string[];
}

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Buffer;
  /** RFC 9003 Shutdown Communication (Cease / Administrative Shutdown or Reset). */
  communication?: string;
}

export interface KeepaliveMessage {
  type: 'keepalive';
}

export interface RouteRefreshMessage {
  type: 'route-refresh';
  afi: number;
  safi: number;
  /** RFC 7313: 0 normal request, 1 BoRR, 2 EoRR. */
  subtype: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

const MARKER = Buffer.alloc(16, 0xff);

function headerError(subcode: HeaderSubcode, message: string, data?: Buffer): NotificationError {
  return new NotificationError(ErrorCode.MessageHeader, subcode, message, data);
}

function u16Buf(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

/** Minimum and maximum length of each message type (RFC 4271 section 4; RFC 2918 section 3). */
const LENGTH_LIMITS: Record<number, [number, number]> = {
  [MessageType.Open]: [29, MAX_MESSAGE_LENGTH],
  [MessageType.Update]: [23, MAX_MESSAGE_LENGTH],
  [MessageType.Notification]: [21, MAX_MESSAGE_LENGTH],
  [MessageType.Keepalive]: [19, 19],
  [MessageType.RouteRefresh]: [23, MAX_MESSAGE_LENGTH],
};

/**
 * Checks the 19-byte header at `at` (RFC 4271 section 6.1) and returns the message length.
 * Runs as soon as a header has arrived, so a bad length never makes us wait for bytes.
 */
export function checkHeader(buf: Buffer, at = 0): { length: number; type: number } {
  if (buf.compare(MARKER, 0, 16, at, at + 16) !== 0)
    throw headerError(HeaderSubcode.ConnectionNotSynchronized, 'marker is not all ones');
  const length = buf.readUInt16BE(at + 16);
  const type = buf[at + 18]!;
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH)
    throw headerError(HeaderSubcode.BadMessageLength, `message length ${length} outside 19..4096`, u16Buf(length));
  const limits = LENGTH_LIMITS[type];
  if (!limits) throw headerError(HeaderSubcode.BadMessageType, `message type ${type} is unknown`, Buffer.from([type]));
  // RFC 7313 section 5: a ROUTE-REFRESH of the wrong length has its own error; every other
  // type too short or too long is Bad Message Length with the length as data.
  if (type !== MessageType.RouteRefresh && (length < limits[0] || length > limits[1]))
    throw headerError(HeaderSubcode.BadMessageLength, `${typeName(type)} of length ${length}`, u16Buf(length));
  return { length, type };
}

function typeName(type: number): string {
  return ['', 'OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH'][type] ?? `type ${type}`;
}

function openError(subcode: OpenSubcode, message: string, data?: Buffer): NotificationError {
  return new NotificationError(ErrorCode.OpenMessage, subcode, message, data);
}

function decodeOpen(r: Reader): OpenMessage {
  const version = r.u8();
  // RFC 4271 section 6.2: data = the largest supported version number (2 octets).
  if (version !== BGP_VERSION) throw openError(OpenSubcode.UnsupportedVersion, `BGP version ${version}`, u16Buf(BGP_VERSION));
  const myAs = r.u16();
  const holdTime = r.u16();
  if (holdTime === 1 || holdTime === 2) throw openError(OpenSubcode.UnacceptableHoldTime, `hold time ${holdTime} s`);
  const idBytes = r.bytes(4);
  const bgpId = ipv4ToString(idBytes);
  // RFC 6286 section 2.1: any non-zero 32-bit value is a valid identifier.
  if (idBytes.readUInt32BE(0) === 0) throw openError(OpenSubcode.BadBgpIdentifier, 'BGP identifier 0.0.0.0');
  let optLen = r.u8();
  let extended = false;
  // RFC 9072: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 announces 2-byte lengths.
  if (optLen === 255 && r.remaining > 0 && r.buf[r.pos] === 255) {
    r.u8();
    optLen = r.u16();
    extended = true;
  }
  if (optLen !== r.remaining)
    throw openError(OpenSubcode.Unspecific, `optional parameters length ${optLen} but ${r.remaining} byte(s) follow`);
  const capabilities: Capability[] = [];
  while (r.remaining > 0) {
    const paramType = r.u8();
    const paramLen = extended ? r.u16() : r.u8();
    const p = r.sub(paramLen);
    if (paramType !== OPEN_PARAM_CAPABILITIES)
      throw openError(OpenSubcode.UnsupportedOptionalParameter, `optional parameter type ${paramType}`);
    while (p.remaining > 0) {
      const code = p.u8();
      const len = p.u8();
      const start = p.pos - 2;
      const v = p.sub(len);
      try {
        capabilities.push(decodeCapability(code, v));
      } catch (err) {
        if (!(err instanceof CapabilityError)) throw err;
        // RFC 5492 section 3: a malformed capability is an OPEN error; data = the capability.
        throw openError(OpenSubcode.Unspecific, err.message, Buffer.from(p.buf.subarray(start, v.end)));
      }
    }
  }
  return { type: 'open', version, myAs, holdTime, bgpId, capabilities };
}

function decodeUpdate(r: Reader, opts: DecodeOptions): UpdateMessage {
  const malformedList = (m: string) => new NotificationError(ErrorCode.UpdateMessage, UpdateSubcode.MalformedAttributeList, m);
  // RFC 4271 section 6.3 / RFC 7606 section 4: lengths that do not add up: session reset.
  if (r.remaining < 4) throw malformedList('UPDATE shorter than its two length fields');
  const withdrawnLen = r.u16();
  if (withdrawnLen + 2 > r.remaining) throw malformedList(`withdrawn routes length ${withdrawnLen} overruns the message`);
  const withdrawnR = r.sub(withdrawnLen);
  const attrLen = r.u16();
  if (attrLen > r.remaining) throw malformedList(`total path attribute length ${attrLen} overruns the message`);
  const attrR = r.sub(attrLen);
  const nlriR = r.sub(r.remaining);

  let withdrawn: Ipv4Prefix[];
  let nlri: Ipv4Prefix[];
  try {
    withdrawn = decodeIpv4Prefixes(withdrawnR);
    nlri = decodeIpv4Prefixes(nlriR);
  } catch (err) {
    // RFC 7606 section 5.3: an NLRI field that cannot be parsed: session reset.
    if (err instanceof PrefixError || err instanceof ShortBufferError)
      throw new NotificationError(ErrorCode.UpdateMessage, UpdateSubcode.InvalidNetworkField, err.message);
    throw err;
  }

  const res = decodeAttributes(attrR, opts, nlri.length > 0);
  const msg: UpdateMessage = { type: 'update', withdrawn, attributes: res.attributes, nlri };
  if (res.mpReach) msg.mpReach = res.mpReach;
  if (res.mpUnreach) msg.mpUnreach = res.mpUnreach;
  if (res.withdrawReasons.length) msg.treatAsWithdraw = res.withdrawReasons;
  if (res.discarded.length) msg.discarded = res.discarded;
  return msg;
}

function decodeNotification(r: Reader): NotificationMessage {
  const code = r.u8();
  const subcode = r.u8();
  const data = Buffer.from(r.bytes(r.remaining));
  const msg: NotificationMessage = { type: 'notification', code, subcode, data };
  // RFC 9003: Cease/2 and Cease/4 may carry a length-prefixed UTF-8 Shutdown Communication.
  if (code === ErrorCode.Cease && (subcode === 2 || subcode === 4) && data.length > 0 && data[0]! + 1 <= data.length) {
    msg.communication = data.subarray(1, 1 + data[0]!).toString('utf8');
  }
  return msg;
}

function decodeRouteRefresh(r: Reader, length: number): RouteRefreshMessage {
  if (length !== 23) {
    // RFC 7313 section 5; for subtype 0 RFC 4271's Bad Message Length applies.
    const subtype = r.remaining >= 3 ? r.buf[r.pos + 2]! : 0;
    if (subtype === 1 || subtype === 2)
      throw new NotificationError(
        ErrorCode.RouteRefreshMessage,
        ROUTE_REFRESH_INVALID_LENGTH,
        `ROUTE-REFRESH of length ${length}`,
        Buffer.from(r.buf.subarray(r.pos - HEADER_LENGTH, r.end)),
      );
    throw headerError(HeaderSubcode.BadMessageLength, `ROUTE-REFRESH of length ${length}`, u16Buf(length));
  }
  const afi = r.u16();
  const subtype = r.u8();
  return { type: 'route-refresh', afi, subtype, safi: r.u8() };
}

/**
 * Decodes one whole message (header included). Throws NotificationError for any error
 * that must end the session.
 */
export function decodeMessage(buf: Buffer, opts: DecodeOptions = { as4: true }): BgpMessage {
  if (buf.length < HEADER_LENGTH) throw headerError(HeaderSubcode.BadMessageLength, `only ${buf.length} byte(s)`, u16Buf(buf.length));
  const { length, type } = checkHeader(buf, 0);
  if (length !== buf.length)
    throw headerError(HeaderSubcode.BadMessageLength, `length field ${length} but ${buf.length} byte(s) given`, u16Buf(length));
  const r = new Reader(buf, HEADER_LENGTH, length);
  try {
    switch (type) {
      case MessageType.Open:
        return decodeOpen(r);
      case MessageType.Update:
        return decodeUpdate(r, opts);
      case MessageType.Notification:
        return decodeNotification(r);
      case MessageType.Keepalive:
        return { type: 'keepalive' };
      case MessageType.RouteRefresh:
        return decodeRouteRefresh(r, length);
    }
  } catch (err) {
    if (err instanceof ShortBufferError) {
      // A field ran past the message end that the header said was complete.
      if (type === MessageType.Open) throw openError(OpenSubcode.Unspecific, `truncated OPEN: ${err.message}`);
      if (type === MessageType.Update) throw new NotificationError(ErrorCode.UpdateMessage, UpdateSubcode.MalformedAttributeList, `truncated UPDATE: ${err.message}`);
      throw headerError(HeaderSubcode.BadMessageLength, `truncated ${typeName(type)}`, u16Buf(length));
    }
    throw err;
  }
  throw headerError(HeaderSubcode.BadMessageType, `message type ${type}`, Buffer.from([type]));
}

// ---------------------------------------------------------------------------------------
// Encoding

function frame(type: MessageType, body: (w: Writer) => void, initial = 64): Buffer {
  const w = new Writer(initial);
  w.bytes(MARKER);
  const lenAt = w.reserve(2);
  w.u8(type);
  body(w);
  if (w.pos > MAX_MESSAGE_LENGTH) throw new RangeError(`${typeName(type)} of ${w.pos} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
  w.patchU16(lenAt, w.pos);
  return w.toBuffer();
}

export function encodeOpen(m: Omit<OpenMessage, 'type' | 'version'> & { version?: number }): Buffer {
  if (!isIPv4(m.bgpId) || ipv4ToBytes(m.bgpId).readUInt32BE(0) === 0) throw new RangeError(`BGP identifier '${m.bgpId}'`);
  if (!Number.isInteger(m.holdTime) || m.holdTime < 0 || m.holdTime > 0xffff || m.holdTime === 1 || m.holdTime === 2)
    throw new RangeError(`hold time ${m.holdTime} (0 or 3..65535)`);
  return frame(MessageType.Open, (w) => {
    w.u8(m.version ?? BGP_VERSION).u16(m.myAs).u16(m.holdTime).bytes(ipv4ToBytes(m.bgpId));
    const optAt = w.reserve(1);
    if (m.capabilities.length) {
      // One Capabilities parameter holding all capabilities (RFC 5492 section 4).
      w.u8(OPEN_PARAM_CAPABILITIES);
      const lenAt = w.reserve(1);
      const start = w.pos;
      for (const c of m.capabilities) encodeCapability(w, c);
      // RFC 4271 section 4.2: the 1-octet Optional Parameters Length covers the parameter's
      // own type and length octets too, so the capabilities get at most 253 bytes (was 255:
      // 254 or 255 bytes wrapped the length to 0 or 1 and produced a malformed OPEN).
      if (w.pos - start > 253) throw new RangeError(`capabilities take ${w.pos - start} bytes (at most 253 fit in an OPEN)`);
      w.patchU8(lenAt, w.pos - start);
    }
    w.patchU8(optAt, w.pos - optAt - 1);
  });
}

export interface UpdateToEncode {
  withdrawn?: Ipv4Prefix[];
  attributes?: PathAttributes;
  nlri?: Ipv4Prefix[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
}

/** Encodes an UPDATE; throws RangeError (nothing produced) on any invalid value. */
export function encodeUpdate(u: UpdateToEncode, opts: { as4: boolean } = { as4: true }): Buffer {
  return frame(
    MessageType.Update,
    (w) => {
      const wAt = w.reserve(2);
      for (const p of u.withdrawn ?? []) encodeIpv4Prefix(w, p);
      w.patchU16(wAt, w.pos - wAt - 2);
      const aAt = w.reserve(2);
      const input: Parameters<typeof encodeAttributes>[1] = { attributes: u.attributes ?? {} };
      if (u.mpReach) input.mpReach = u.mpReach;
      if (u.mpUnreach) input.mpUnreach = u.mpUnreach;
      encodeAttributes(w, input, opts.as4);
      w.patchU16(aAt, w.pos - aAt - 2);
      for (const p of u.nlri ?? []) encodeIpv4Prefix(w, p);
    },
    512,
  );
}

export function encodeNotification(code: number, subcode: number, data: Buffer = Buffer.alloc(0)): Buffer {
  // Trim the data so the message always fits (RFC 4271 section 4.5).
  const room = MAX_MESSAGE_LENGTH - 21;
  return frame(MessageType.Notification, (w) => w.u8(code).u8(subcode).bytes(data.subarray(0, room)));
}

/** RFC 9003: a Cease with a Shutdown Communication (at most 255 bytes of UTF-8). */
export function encodeShutdownNotification(subcode: number, text: string): Buffer {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 255) {
    // RFC 9003 section 2: the communication is UTF-8; cut at a character boundary (never
    // inside a multi-byte sequence, which would send invalid UTF-8).
    let end = 255;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  return encodeNotification(ErrorCode.Cease, subcode, Buffer.concat([Buffer.from([bytes.length]), bytes]));
}

const KEEPALIVE = frame(MessageType.Keepalive, () => undefined);

export function encodeKeepalive(): Buffer {
  return KEEPALIVE;
}

export function encodeRouteRefresh(afi: number, safi: number, subtype = 0): Buffer {
  return frame(MessageType.RouteRefresh, (w) => w.u16(afi).u8(subtype).u8(safi));
}

/**
 * Splits a TCP byte stream into whole messages. Headers are checked as soon as they arrive.
 *
 * A bad header throws NotificationError, except when whole messages precede it in the same
 * chunk: those are returned (they arrived first and must be handled first, RFC 4271 section
 * 6: errors are detected in order) and the error is kept in `error` for the caller to act on
 * after them. Once broken, every later push() throws that error.
 */
export class MessageFramer {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** The header error that broke the stream, when one did. */
  error: NotificationError | undefined;

  /** Feeds bytes; returns the complete messages now available (views, copy to keep). */
  push(chunk: Buffer): Buffer[] {
    if (this.error) throw this.error;
    let buf: Buffer;
    if (this.pendingLength === 0) buf = chunk;
    else {
      this.pending.push(chunk);
      buf = Buffer.concat(this.pending, this.pendingLength + chunk.length);
      this.pending = [];
      this.pendingLength = 0;
    }
    const out: Buffer[] = [];
    let at = 0;
    while (buf.length - at >= HEADER_LENGTH) {
      let length: number;
      try {
        ({ length } = checkHeader(buf, at));
      } catch (err) {
        if (!(err instanceof NotificationError)) throw err;
        this.error = err;
        if (out.length === 0) throw err;
        return out;
      }
      if (buf.length - at < length) break;
      out.push(buf.subarray(at, at + length));
      at += length;
    }
    if (at < buf.length) {
      const rest = buf.subarray(at);
      this.pending.push(rest);
      this.pendingLength = rest.length;
    }
    return out;
  }

  get buffered(): number {
    return this.pendingLength;
  }
}
