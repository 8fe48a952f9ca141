// Captures real BGP messages exchanged by FRR 8.4 and GoBGP 3.10 and stores them as codec
// test vectors (test/vectors/frr-8.4.json, test/vectors/gobgp-3.10.json).
//
//   npx tsc -p tsconfig.json && node dist/test/vectors/capture.js [--out <dir>]
//
// Needs root (network namespaces), FRR, gobgpd/gobgp, tcpdump, tshark and ping.
//
// Topology (all inside lab namespaces):
//
//   h1 (02:00:00:00:00:11, 192.168.10.11) --h1p--+
//                                               br1 (192.168.10.1/24) + vx1 (VNI 1, local
//   h2 (02:00:00:00:00:12, 192.168.10.12) --h2p--+   10.250.0.1, dstport 4789, nolearning)
//                                               leaf: FRR zebra+bgpd, AS 65000, advertise-all-vni
//                                                 | 10.250.0.1/24   iBGP l2vpn-evpn
//                                                 | 10.250.0.2/24   (tcpdump here, tcp port 179)
//                                               gb: gobgpd AS 65000 (graceful-restart enabled
//                                                   so that both sides send End-of-RIB)
//
// Each step acts on a daemon, then waits until the expected messages show up in the capture
// (read back with tshark, TCP payloads reassembled per direction by sequence number and split
// into BGP messages by marker + length). The bytes are stored exactly as captured.
//
// Each vector: { name, description, from, type, hex, expected?, daemons? }
// - `daemons`: the daemons' own JSON about the message (vtysh ... json, gobgp ... -j), with
//   only volatile fields (timestamps, ages, versions, counters) removed;
// - `expected`: the same facts in the shape of our codec's decoded message (a subset, matched
//   by test/unit/codec-vectors.test.ts), built only from that JSON: GoBGP's received view
//   (adj-in) for FRR's UPDATEs, GoBGP's sent view (adj-out) for its own, FRR's neighbor JSON
//   for OPEN/End-of-RIB/NOTIFICATION facts. Fields GoBGP shows in a form this script cannot
//   map with certainty are left out, never guessed. The small decoder below only classifies
//   and names the captured messages.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, sleep, waitUntil } from '../../src/lab/exec';
import { Lab, LabProcess, Netns } from '../../src/lab/netns';
import { FrrInstance, startFrr, vtepBgpdConf } from '../../src/lab/frr';
import { GobgpInstance, startGobgp } from '../../src/lab/gobgp';
import { findPing } from '../../src/lab/probe';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const LEAF_IP = '10.250.0.1';
const GB_IP = '10.250.0.2';
const ASN = 65000;
const H1_MAC = '02:00:00:00:00:11';
const H2_MAC = '02:00:00:00:00:12';
const H1_IP = '192.168.10.11';
const H2_IP = '192.168.10.12';
const SVI_IP = '192.168.10.1';
const NOBODY_IP = '192.168.10.99';

// ---------------------------------------------------------------------------------------
// Minimal BGP/EVPN decoding, used only to classify and name captured messages. Expected
// values never come from here.

const MSG_TYPES: Record<number, string> = { 1: 'OPEN', 2: 'UPDATE', 3: 'NOTIFICATION', 4: 'KEEPALIVE', 5: 'ROUTE-REFRESH' };

interface EvpnNlri {
  routeType: number;
  rd: string;
  etag?: number;
  mac?: string;
  ip?: string;
  prefix?: string;
  length: number;
  /** Type-2: the ESI is all zeros / every label field is zero. */
  esiZero?: boolean;
  labelsZero?: boolean;
}

interface UpdateInfo {
  withdrawnRoutesLength: number;
  attrTypes: number[];
  reach: EvpnNlri[];
  unreach: EvpnNlri[];
  /** MP_REACH/MP_UNREACH AFI/SAFI when present. */
  afiSafi?: string;
  endOfRib: boolean;
}

interface BgpMsg {
  index: number;
  from: 'frr' | 'gobgp';
  type: string;
  bytes: Buffer;
  time: number;
  update?: UpdateInfo;
}

function ipString(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length === 16) {
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
    // RFC 5952: compress the longest run (>= 2) of zero groups
    let best = -1;
    let bestLen = 1;
    for (let i = 0; i < 8; ) {
      if (parts[i] !== '0') {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && parts[j] === '0') j++;
      if (j - i > bestLen) {
        best = i;
        bestLen = j - i;
      }
      i = j;
    }
    if (best < 0) return parts.join(':');
    return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
  }
  return b.toString('hex');
}

function rdString(b: Buffer): string {
  const t = b.readUInt16BE(0);
  if (t === 0) return `${b.readUInt16BE(2)}:${b.readUInt32BE(4)}`;
  if (t === 1) return `${ipString(b.subarray(2, 6))}:${b.readUInt16BE(6)}`;
  if (t === 2) return `${b.readUInt32BE(2)}:${b.readUInt16BE(6)}`;
  return b.toString('hex');
}

function macString(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function decodeEvpnNlris(b: Buffer): EvpnNlri[] {
  const out: EvpnNlri[] = [];
  let o = 0;
  while (o + 2 <= b.length) {
    const routeType = b[o]!;
    const len = b[o + 1]!;
    const v = b.subarray(o + 2, o + 2 + len);
    o += 2 + len;
    const n: EvpnNlri = { routeType, rd: rdString(v.subarray(0, 8)), length: len };
    if (routeType === 1) n.etag = v.readUInt32BE(18);
    if (routeType === 2) {
      n.etag = v.readUInt32BE(18);
      n.mac = macString(v.subarray(23, 29));
      const ipLen = v[29]! / 8;
      if (ipLen > 0) n.ip = ipString(v.subarray(30, 30 + ipLen));
      n.esiZero = v.subarray(8, 18).every((x) => x === 0);
      n.labelsZero = v.subarray(30 + ipLen).every((x) => x === 0);
    }
    if (routeType === 3) {
      n.etag = v.readUInt32BE(8);
      n.ip = ipString(v.subarray(13, 13 + v[12]! / 8));
    }
    if (routeType === 4) n.ip = ipString(v.subarray(19, 19 + v[18]! / 8));
    if (routeType === 5) {
      n.etag = v.readUInt32BE(18);
      const plen = v[22]!;
      const alen = len === 34 ? 4 : 16;
      n.prefix = `${ipString(v.subarray(23, 23 + alen))}/${plen}`;
    }
    out.push(n);
  }
  return out;
}

function decodeUpdate(m: Buffer): UpdateInfo {
  const wlen = m.readUInt16BE(19);
  const alen = m.readUInt16BE(21 + wlen);
  const attrs = m.subarray(23 + wlen, 23 + wlen + alen);
  const info: UpdateInfo = { withdrawnRoutesLength: wlen, attrTypes: [], reach: [], unreach: [], endOfRib: false };
  let o = 0;
  while (o < attrs.length) {
    const flags = attrs[o]!;
    const type = attrs[o + 1]!;
    const ext = (flags & 0x10) !== 0;
    const l = ext ? attrs.readUInt16BE(o + 2) : attrs[o + 2]!;
    const v = attrs.subarray(o + (ext ? 4 : 3), o + (ext ? 4 : 3) + l);
    o += (ext ? 4 : 3) + l;
    info.attrTypes.push(type);
    if (type === 14) {
      info.afiSafi = `${v.readUInt16BE(0)}/${v[2]}`;
      const nhl = v[3]!;
      if (info.afiSafi === '25/70') info.reach = decodeEvpnNlris(v.subarray(5 + nhl));
    }
    if (type === 15) {
      info.afiSafi = `${v.readUInt16BE(0)}/${v[2]}`;
      if (info.afiSafi === '25/70') info.unreach = decodeEvpnNlris(v.subarray(3));
      if (v.length === 3) info.endOfRib = true;
    }
  }
  if (wlen === 0 && alen === 0 && m.length === 23) info.endOfRib = true;
  return info;
}

// ---------------------------------------------------------------------------------------
// Capture: tcpdump writes the pcap; tshark reads it back.

class Capture {
  readonly pcap: string;
  readonly tcpdump: LabProcess;
  private cache: BgpMsg[] = [];

  private constructor(pcap: string, tcpdump: LabProcess) {
    this.pcap = pcap;
    this.tcpdump = tcpdump;
  }

  static async start(lab: Lab, ns: Netns, ifname: string): Promise<Capture> {
    const pcap = lab.file('bgp.pcap');
    // -U: write each packet as it arrives, so the file can be read while capturing.
    const p = ns.spawn(['tcpdump', '-i', ifname, '-U', '-n', '-s', '0', '-w', pcap, 'tcp port 179'], { name: 'tcpdump' });
    await waitUntil(() => /listening on/.test(p.logTail()) || (!p.running && Promise.reject(new Error(p.logTail()))), {
      timeoutMs: 10_000,
      what: 'tcpdump to start',
    });
    return new Capture(pcap, p);
  }

  /** Every BGP message captured so far, in order. */
  async messages(): Promise<BgpMsg[]> {
    const r = await run(
      ['tshark', '-r', this.pcap, '-Y', 'tcp.len > 0', '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'tcp.seq_raw', '-e', 'tcp.payload'],
      { allowFail: true, timeoutMs: 60_000 },
    );
    // A read racing tcpdump may end in a truncated record: tshark then complains on stderr,
    // but every complete packet before it is on stdout.
    // One byte stream per TCP connection and direction (a session reset opens a new one).
    const flows = new Map<string, { next: number | undefined; buf: Buffer }>();
    const all: BgpMsg[] = [];
    for (const line of r.stdout.split('\n')) {
      const [t, src, sport, dst, dport, seqS, payloadHex] = line.split('|');
      if (t === undefined || src === undefined || seqS === undefined || payloadHex === undefined || payloadHex === '') continue;
      const from = src === LEAF_IP ? 'frr' : src === GB_IP ? 'gobgp' : undefined;
      if (from === undefined) continue;
      const key = `${src}:${sport}>${dst}:${dport}`;
      let f = flows.get(key);
      if (f === undefined) {
        f = { next: undefined, buf: Buffer.alloc(0) };
        flows.set(key, f);
      }
      let seq = Number(seqS);
      let payload = Buffer.from(payloadHex.replace(/:/g, ''), 'hex');
      if (f.next !== undefined && seq !== f.next) {
        const d = (seq - f.next + 2 ** 32) % 2 ** 32;
        if (d > 2 ** 31) {
          // retransmission of bytes we already have
          const overlap = 2 ** 32 - d;
          if (overlap >= payload.length) continue;
          payload = payload.subarray(overlap);
          seq = f.next;
        } else {
          throw new Error(`capture: gap in TCP stream ${key} (expected seq ${f.next}, got ${seq})`);
        }
      }
      f.next = (seq + payload.length) % 2 ** 32;
      f.buf = Buffer.concat([f.buf, payload]);
      while (f.buf.length >= 19) {
        if (!f.buf.subarray(0, 16).equals(Buffer.alloc(16, 0xff))) throw new Error(`capture: lost BGP framing in ${key}`);
        const len = f.buf.readUInt16BE(16);
        if (f.buf.length < len) break;
        const bytes = Buffer.from(f.buf.subarray(0, len));
        f.buf = f.buf.subarray(len);
        const type = MSG_TYPES[bytes[18]!] ?? `TYPE-${bytes[18]}`;
        const m: BgpMsg = { index: all.length, from, type, bytes, time: Number(t) };
        if (type === 'UPDATE') m.update = decodeUpdate(bytes);
        all.push(m);
      }
    }
    this.cache = all;
    return all;
  }

  /** Number of messages captured so far (a mark for since()). */
  async mark(): Promise<number> {
    return (await this.messages()).length;
  }

  /** Polls until `pick` finds what it wants among the messages captured after `mark`. */
  async waitSince<T>(mark: number, pick: (msgs: BgpMsg[]) => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
    return waitUntil(async () => pick((await this.messages()).slice(mark)), { timeoutMs, intervalMs: 300, what: `capture of ${what}` });
  }

  get last(): BgpMsg[] {
    return this.cache;
  }
}

// ---------------------------------------------------------------------------------------
// Daemon JSON helpers.

const VOLATILE = new Set(['age', 'lastUpdate', 'version', 'uptime', 'downtime', 'epoch', 'bgpTimerUpMsec', 'bgpTimerUpString', 'bgpTimerUpEstablishedEpoch', 'bgpTimerLastRead', 'bgpTimerLastWrite', 'bgpInUpdateElapsedTimeMsecs', 'lastResetTimerMsecs', 'messageStats', 'estimatedRttInMsecs', 'readThread', 'writeThread', 'connectRetryTimer', 'portLocal', 'portForeign', 'messages', 'queues']);

function clean(j: Json): Json {
  if (Array.isArray(j)) return j.map(clean);
  if (j !== null && typeof j === 'object') {
    const o: JsonObject = {};
    for (const [k, v] of Object.entries(j)) if (!VOLATILE.has(k)) o[k] = clean(v);
    return o;
  }
  return j;
}

function obj(j: Json | undefined): JsonObject {
  return j !== null && j !== undefined && typeof j === 'object' && !Array.isArray(j) ? j : {};
}

/** FRR `show bgp l2vpn evpn route detail json` as a map `<rd>|<prefix>` -> route entry. */
async function frrRoutes(frr: FrrInstance): Promise<Map<string, JsonObject>> {
  const j = await frr.vtyshJson<JsonObject>('show bgp l2vpn evpn route detail json');
  const m = new Map<string, JsonObject>();
  for (const [rd, v] of Object.entries(j)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
    for (const [prefix, r] of Object.entries(v)) {
      if (prefix === 'rd' || r === null || typeof r !== 'object' || Array.isArray(r)) continue;
      m.set(`${rd}|${prefix}`, r);
    }
  }
  return m;
}

/** GoBGP route JSON (`global rib -a evpn -j`, `neighbor X adj-in ... -j`) as key -> paths. */
async function gobgpRoutes(g: GobgpInstance, args: string[]): Promise<Map<string, Json[]>> {
  const j = await g.cliJson<Json>(args);
  const m = new Map<string, Json[]>();
  for (const [k, v] of Object.entries(obj(j))) if (Array.isArray(v)) m.set(k, v);
  return m;
}

function frrPrefixOf(n: EvpnNlri): string | undefined {
  if (n.routeType === 2) {
    const base = `[2]:[${n.etag ?? 0}]:[48]:[${n.mac}]`;
    return n.ip === undefined ? base : `${base}:[${n.ip.includes(':') ? 128 : 32}]:[${n.ip}]`;
  }
  if (n.routeType === 3) return `[3]:[${n.etag ?? 0}]:[32]:[${n.ip}]`;
  return undefined;
}

function gobgpKeyOf(n: EvpnNlri): string | undefined {
  if (n.routeType === 2) return `[type:macadv][rd:${n.rd}][etag:${n.etag ?? 0}][mac:${n.mac}][ip:${n.ip ?? '<nil>'}]`;
  if (n.routeType === 3) return `[type:multicast][rd:${n.rd}][etag:${n.etag ?? 0}][ip:${n.ip}]`;
  return undefined;
}

function newKeys<V>(before: Map<string, V>, after: Map<string, V>): string[] {
  return [...after.keys()].filter((k) => !before.has(k));
}

// ---------------------------------------------------------------------------------------

interface Vector {
  name: string;
  description: string;
  from: 'frr' | 'gobgp';
  type: string;
  hex: string;
  /**
   * What the daemons say about this message, in the shape of our codec's decoded message
   * (src/bgp/packet: BgpMessage), to be matched as a subset: built only from the daemons'
   * JSON below (GoBGP's view of the same route: received for FRR's messages, sent for its own).
   */
  expected?: JsonObject;
  /** The daemons' own JSON about the message's routes/session, volatile fields removed. */
  daemons?: JsonObject;
}

function vector(m: BgpMsg, name: string, description: string, daemons?: JsonObject, expected?: JsonObject): Vector {
  const v: Vector = { name, description, from: m.from, type: m.type, hex: m.bytes.toString('hex') };
  if (expected !== undefined) v.expected = expected;
  if (daemons !== undefined) v.daemons = daemons;
  return v;
}

// ---------------------------------------------------------------------------------------
// GoBGP JSON -> the codec's decoded shape. Anything GoBGP shows in a form we cannot map
// with certainty is left out of `expected` (the match is a subset match; arrays must match
// whole, so an ext-community list with one unmappable entry is left out entirely).

const ESI_ZERO_TEXT = '00:00:00:00:00:00:00:00:00:00';

function hexBytes(n: number, bytes: number): string {
  return n.toString(16).padStart(bytes * 2, '0');
}

function colonHex(h: string): string {
  return (h.match(/../g) ?? []).join(':');
}

function macHex(mac: string): string {
  return mac.replace(/:/g, '').toLowerCase();
}

function ipv4Hex(ip: string): string {
  return ip
    .split('.')
    .map((x) => hexBytes(Number(x), 1))
    .join('');
}

/** GoBGP's ESI text ("single-homed", "ESI_LACP | system mac .., port key ..", ...) -> 10 bytes. */
function esiFromGobgp(t: Json | undefined): string | undefined {
  if (typeof t !== 'string') return undefined;
  if (t === 'single-homed') return ESI_ZERO_TEXT;
  let m = /^ESI_ARBITRARY \| ((?:[0-9a-f]{2}:){8}[0-9a-f]{2})$/i.exec(t);
  if (m) return `00:${m[1]!.toLowerCase()}`;
  m = /^ESI_LACP \| system mac ([0-9a-f:]{17}), port key (\d+)$/i.exec(t);
  if (m) return colonHex(`01${macHex(m[1]!)}${hexBytes(Number(m[2]), 2)}00`);
  m = /^ESI_MSTP \| bridge mac ([0-9a-f:]{17}), priority (\d+)$/i.exec(t);
  if (m) return colonHex(`02${macHex(m[1]!)}${hexBytes(Number(m[2]), 2)}00`);
  m = /^ESI_MAC \| system mac ([0-9a-f:]{17}), local discriminator (\d+)$/i.exec(t);
  if (m) return colonHex(`03${macHex(m[1]!)}${hexBytes(Number(m[2]), 3)}`);
  m = /^ESI_ROUTERID \| router id ([\d.]+), local discriminator (\d+)$/i.exec(t);
  if (m) return colonHex(`04${ipv4Hex(m[1]!)}${hexBytes(Number(m[2]), 4)}00`);
  m = /^ESI_AS \| as (\d+), local discriminator (\d+)$/i.exec(t);
  if (m) return colonHex(`05${hexBytes(Number(m[1]), 4)}${hexBytes(Number(m[2]), 4)}00`);
  return undefined;
}

/** "64086.59904" (asdot) or "4200000000" -> number. */
function asNumber(x: Json | undefined): number | undefined {
  if (typeof x === 'number') return x;
  if (typeof x !== 'string') return undefined;
  const dot = /^(\d+)\.(\d+)$/.exec(x);
  if (dot) return Number(dot[1]) * 65536 + Number(dot[2]);
  return /^\d+$/.test(x) ? Number(x) : undefined;
}

/** GoBGP RD JSON {type, admin, assigned} -> the codec's RD text. */
function rdFromGobgp(rd: Json | undefined): string | undefined {
  const o = obj(rd);
  const t = o['type'];
  if (t === 1 && typeof o['admin'] === 'string') return `${o['admin']}:${o['assigned']}`;
  const asn = asNumber(o['admin']);
  if (asn === undefined) return undefined;
  if (t === 0) return `${asn}:${o['assigned']}`;
  if (t === 2) return `${asn}${asn <= 0xffff ? 'L' : ''}:${o['assigned']}`;
  return undefined;
}

/** One GoBGP NLRI JSON {type, value} -> the codec's EvpnRoute (or its identity fields). */
function routeFromGobgp(n: Json | undefined, identityOnly: boolean): JsonObject | undefined {
  const o = obj(n);
  const v = obj(o['value']);
  const type = o['type'];
  const rd = rdFromGobgp(v['rd']);
  if (typeof type !== 'number' || rd === undefined) return undefined;
  const r: JsonObject = { type, rd };
  const esi = esiFromGobgp(v['esi']);
  const put = (k: string, x: Json | undefined): void => {
    if (x !== undefined) r[k] = x;
  };
  switch (type) {
    case 1:
      put('ethernetTag', v['etag']);
      if (!identityOnly) {
        if (esi === undefined) return undefined;
        r['esi'] = esi;
        put('label', v['label']);
      }
      return r;
    case 2: {
      put('ethernetTag', v['etag']);
      put('mac', v['mac']);
      r['ip'] = v['ip'] === '<nil>' || v['ip'] === undefined ? null : v['ip']!;
      if (!identityOnly) {
        if (esi === undefined) return undefined;
        r['esi'] = esi;
        const labels = Array.isArray(v['labels']) ? v['labels'] : [];
        put('label1', labels[0]);
        r['label2'] = labels.length > 1 ? labels[1]! : null;
      }
      return r;
    }
    case 3:
      put('ethernetTag', v['etag']);
      put('originatorIp', v['ip']);
      return r;
    case 4:
      put('originatorIp', v['ip']);
      if (esi === undefined) return undefined;
      r['esi'] = esi;
      return r;
    case 5:
      put('ethernetTag', v['etag']);
      put('prefix', v['prefix']);
      if (!identityOnly) {
        if (esi === undefined) return undefined;
        r['esi'] = esi;
        put('gatewayIp', v['gateway']);
        put('label', v['label']);
      }
      return r;
    default:
      return undefined;
  }
}

/** GoBGP extended community JSON -> the codec's ExtCommunity, or undefined if unsure. */
function extCommFromGobgp(c: Json): JsonObject | undefined {
  const o = obj(c);
  const t = o['type'];
  const st = o['subtype'];
  const val = typeof o['value'] === 'string' ? o['value'] : undefined;
  if (st === 2 && val !== undefined && (t === 0 || t === 1 || t === 2)) {
    const i = val.lastIndexOf(':');
    const ga = val.slice(0, i);
    const local = Number(val.slice(i + 1));
    if (t === 1) return { kind: 'route-target', format: 'ipv4', ip: ga, local };
    const asn = asNumber(ga);
    if (asn === undefined) return undefined;
    return { kind: 'route-target', format: t === 0 ? 'as2' : 'as4', asn, local };
  }
  if (t === 3 && st === 12 && typeof o['tunnel_type'] === 'number') return { kind: 'encapsulation', tunnelType: o['tunnel_type'] };
  if (t === 3 && st === 13) return { kind: 'default-gateway' };
  if (t === 6 && st === 0 && typeof o['sequence'] === 'number') return { kind: 'mac-mobility', sequence: o['sequence'], sticky: o['is_sticky'] === true };
  if (t === 6 && st === 3 && typeof o['mac'] === 'string') return { kind: 'router-mac', mac: o['mac'] };
  // ESI Label (RFC 7432 section 7.5): flags, 2 reserved bytes, 24-bit label: opaque to the codec
  if (t === 6 && st === 1 && typeof o['label'] === 'number')
    return { kind: 'opaque', type: 6, subtype: 1, value: `${o['is_single_active'] === true ? '01' : '00'}0000${hexBytes(o['label'], 3)}` };
  // ES-Import route target (RFC 7432 section 7.6): the 6-byte MAC, opaque to the codec
  if (t === 6 && st === 2 && val !== undefined && /^[0-9a-f:]{17}$/i.test(val)) return { kind: 'opaque', type: 6, subtype: 2, value: macHex(val) };
  return undefined;
}

/**
 * A GoBGP path JSON ({nlri, attrs}) -> the decoded UPDATE that carried it, as far as GoBGP's
 * view can tell (MP_REACH_NLRI lists every NLRI of the UPDATE).
 */
function updateFromGobgpPath(path: Json | undefined): JsonObject | undefined {
  const attrs = obj(path)['attrs'];
  if (!Array.isArray(attrs)) return undefined;
  const a: JsonObject = {};
  let mpReach: JsonObject | undefined;
  for (const at of attrs) {
    const o = obj(at);
    switch (o['type']) {
      case 1:
        if (typeof o['value'] === 'number') a['origin'] = o['value'];
        break;
      case 2:
        if (Array.isArray(o['as_paths']) && o['as_paths'].length === 0) a['asPath'] = [];
        break;
      case 4:
        if (typeof o['metric'] === 'number') a['med'] = o['metric'];
        break;
      case 5:
        if (typeof o['value'] === 'number') a['localPref'] = o['value'];
        break;
      case 8:
        if (Array.isArray(o['communities'])) a['communities'] = o['communities'];
        break;
      case 16: {
        const list = Array.isArray(o['value']) ? o['value'].map(extCommFromGobgp) : [];
        if (list.every((x) => x !== undefined)) a['extCommunities'] = list as JsonObject[];
        break;
      }
      case 22:
        a['pmsiTunnel'] = { flags: o['is-leaf-info-required'] === true ? 1 : 0, tunnelType: o['tunnel-type'] ?? null, label: o['label'] ?? null, tunnelIdentifier: o['tunnel-id'] ?? null };
        break;
      case 32:
        if (Array.isArray(o['value'])) a['largeCommunities'] = o['value'].map((l) => [obj(l)['ASN'] ?? null, obj(l)['LocalData1'] ?? null, obj(l)['LocalData2'] ?? null]);
        break;
      case 14: {
        const routes = Array.isArray(o['value']) ? o['value'].map((n) => routeFromGobgp(n, false)) : [];
        mpReach = { afi: o['afi'] ?? null, safi: o['safi'] ?? null, nextHops: [o['nexthop'] ?? null] };
        if (routes.every((x) => x !== undefined)) mpReach['routes'] = routes as JsonObject[];
        break;
      }
      default:
        break;
    }
  }
  const u: JsonObject = { type: 'update', withdrawn: [], nlri: [], attributes: a };
  if (mpReach !== undefined) u['mpReach'] = mpReach;
  return u;
}

/** A withdraw: MP_UNREACH_NLRI with the identity fields of each withdrawn route. */
function withdrawFromGobgp(nlris: (Json | undefined)[]): JsonObject {
  const routes = nlris.map((n) => routeFromGobgp(n, true));
  const mp: JsonObject = { afi: 25, safi: 70 };
  if (routes.every((x) => x !== undefined)) mp['routes'] = routes as JsonObject[];
  return { type: 'update', withdrawn: [], nlri: [], mpReach: null, mpUnreach: mp };
}

function firstPath(paths: Json | undefined): Json | undefined {
  return Array.isArray(paths) ? paths[0] : undefined;
}

function nlriOfPath(path: Json | undefined): Json | undefined {
  return obj(path)['nlri'];
}

function nlriSummary(ns: EvpnNlri[]): string {
  return ns
    .map((n) => {
      const parts = [`type ${n.routeType}`, `rd ${n.rd}`];
      if (n.etag !== undefined) parts.push(`etag ${n.etag}`);
      if (n.mac !== undefined) parts.push(`mac ${n.mac}`);
      if (n.ip !== undefined) parts.push(`ip ${n.ip}`);
      if (n.prefix !== undefined) parts.push(`prefix ${n.prefix}`);
      parts.push(`NLRI length ${n.length}`);
      return parts.join(', ');
    })
    .join('; ');
}

function log(s: string): void {
  process.stdout.write(`[capture] ${s}\n`);
}

async function main(): Promise<void> {
  const outIdx = process.argv.indexOf('--out');
  const outDir = outIdx > 0 && process.argv[outIdx + 1] !== undefined ? path.resolve(process.argv[outIdx + 1]!) : path.resolve(__dirname, '../../../test/vectors');
  if (process.getuid?.() !== 0) throw new Error('capture needs root (network namespaces)');
  const pingBin = findPing();
  if (pingBin === null) throw new Error('ping is not installed (apt-get install iputils-ping)');

  const lab = new Lab('capture');
  try {
    const frrVectors: Vector[] = [];
    const gbVectors: Vector[] = [];

    // --- topology
    const leaf = await lab.addNamespace('leaf');
    const gb = await lab.addNamespace('gb');
    const h1 = await lab.addNamespace('h1');
    const h2 = await lab.addNamespace('h2');
    const peering = await lab.link(leaf, `${LEAF_IP}/24`, gb, `${GB_IP}/24`);
    await lab.addBridge(leaf, 'br1');
    await lab.addVxlan(leaf, { name: 'vx1', vni: 1, local: LEAF_IP, dstport: 4789, learning: false });
    await lab.attach(leaf, 'vx1', 'br1');
    await lab.addAddress(leaf, 'br1', `${SVI_IP}/24`);
    const p1 = await lab.link(h1, `${H1_IP}/24`, leaf, null, { aName: 'eth0', bName: 'h1p', aMac: H1_MAC });
    await lab.attach(leaf, p1.b, 'br1');
    const p2 = await lab.link(h2, `${H2_IP}/24`, leaf, null, { aName: 'eth0', bName: 'h2p', aMac: H2_MAC });
    await lab.attach(leaf, p2.b, 'br1');

    const cap = await Capture.start(lab, gb, peering.b);
    log(`capturing on ${gb.name}/${peering.b} into ${cap.pcap}`);

    // --- daemons
    const frr = await startFrr(lab, leaf, {
      name: 'leaf',
      bgpdConf: vtepBgpdConf({ asn: ASN, routerId: LEAF_IP, hostname: 'leaf', neighbors: [GB_IP], timers: { keepalive: 3, hold: 9 } }),
    });
    const g = await startGobgp(lab, gb, {
      asn: ASN,
      routerId: GB_IP,
      neighbors: [{ address: LEAF_IP, asn: ASN, families: ['l2vpn-evpn'], holdTime: 9, keepaliveInterval: 3, gracefulRestart: true }],
    });
    await frr.waitEstablished(GB_IP, 30_000);
    await g.waitEstablished(LEAF_IP, 30_000);
    log('session established');

    // --- OPEN, KEEPALIVE, End-of-RIB, IMET
    const opens = await cap.waitSince(
      0,
      (ms) => {
        const f = ms.find((m) => m.from === 'frr' && m.type === 'OPEN');
        const b = ms.find((m) => m.from === 'gobgp' && m.type === 'OPEN');
        return f && b ? { f, b } : undefined;
      },
      'both OPENs',
    );
    const frrNbr = obj(obj(await frr.vtyshJson<Json>(`show bgp neighbors ${GB_IP} json`))[GB_IP]);
    const gbNbr = obj(await g.cliJson<Json>(['neighbor', LEAF_IP]));
    const pick = (o: JsonObject, keys: string[]): JsonObject => {
      const r: JsonObject = {};
      for (const k of keys) if (o[k] !== undefined) r[k] = clean(o[k]!);
      return r;
    };
    frrVectors.push(
      vector(opens.f, 'frr-open', 'OPEN sent by FRR 8.4.4 (bgpd, AS 65000, router-id 10.250.0.1, `timers bgp 3 9`, l2vpn evpn activated) to GoBGP 3.10, captured on the peering veth.', {
        frr: pick(frrNbr, ['localAs', 'localRouterId', 'bgpVersion', 'bgpTimerConfiguredHoldTimeMsecs', 'bgpTimerConfiguredKeepAliveIntervalMsecs', 'neighborCapabilities', 'gracefulRestartInfo']),
        gobgpNeighbor: pick(obj(gbNbr['state']), ['router_id', 'peer_asn', 'remote_cap']),
        gobgpTimers: clean(obj(gbNbr['timers'])['state'] ?? null),
      }, {
        type: 'open',
        version: frrNbr['bgpVersion'] ?? null,
        myAs: frrNbr['localAs'] ?? null,
        holdTime: typeof frrNbr['bgpTimerConfiguredHoldTimeMsecs'] === 'number' ? frrNbr['bgpTimerConfiguredHoldTimeMsecs'] / 1000 : null,
        bgpId: frrNbr['localRouterId'] ?? null,
      }),
    );
    gbVectors.push(
      vector(opens.b, 'gobgp-open', 'OPEN sent by GoBGP 3.10 (AS 65000, router-id 10.250.0.2, hold-time 9, graceful-restart + mp-graceful-restart for l2vpn-evpn) to FRR 8.4.4.', {
        gobgp: { conf: clean(gbNbr['conf'] ?? null), local_cap: clean(obj(gbNbr['state'])['local_cap'] ?? null), timers: clean(obj(gbNbr['timers'])['config'] ?? null) },
        frrNeighbor: pick(frrNbr, ['remoteAs', 'remoteRouterId', 'bgpVersion', 'bgpTimerHoldTimeMsecs', 'bgpTimerKeepAliveIntervalMsecs', 'neighborCapabilities', 'hostname']),
      }, {
        type: 'open',
        version: frrNbr['bgpVersion'] ?? null,
        myAs: obj(gbNbr['conf'])['local_asn'] ?? null,
        holdTime: obj(obj(gbNbr['timers'])['config'])['hold_time'] ?? null,
        bgpId: frrNbr['remoteRouterId'] ?? null,
      }),
    );

    const kas = await cap.waitSince(
      0,
      (ms) => {
        const f = ms.find((m) => m.from === 'frr' && m.type === 'KEEPALIVE');
        const b = ms.find((m) => m.from === 'gobgp' && m.type === 'KEEPALIVE');
        return f && b ? { f, b } : undefined;
      },
      'KEEPALIVEs',
    );
    frrVectors.push(vector(kas.f, 'frr-keepalive', 'KEEPALIVE sent by FRR (19 bytes: marker, length 19, type 4).', { frr: pick(frrNbr, ['bgpTimerKeepAliveIntervalMsecs', 'bgpTimerHoldTimeMsecs']) }, { type: 'keepalive' }));
    gbVectors.push(vector(kas.b, 'gobgp-keepalive', 'KEEPALIVE sent by GoBGP (19 bytes).', { gobgp: { timers: clean(obj(gbNbr['timers'])['state'] ?? null) } }, { type: 'keepalive' }));

    const imet = await cap.waitSince(0, (ms) => ms.find((m) => m.from === 'frr' && m.update?.reach.some((n) => n.routeType === 3)), "FRR's Type-3");
    const eors = await cap.waitSince(
      0,
      (ms) => {
        const f = ms.find((m) => m.from === 'frr' && m.update?.endOfRib === true);
        const b = ms.find((m) => m.from === 'gobgp' && m.update?.endOfRib === true);
        return f && b ? { f, b } : undefined;
      },
      'End-of-RIB markers',
    );
    const frrNbr2 = obj(obj(await frr.vtyshJson<Json>(`show bgp neighbors ${GB_IP} json`))[GB_IP]);
    const grInfo = clean(frrNbr2['gracefulRestartInfo'] ?? null);
    // FRR's view: End-of-RIB sent to and received from GoBGP for l2vpn evpn
    const eorSent = obj(obj(grInfo)['endOfRibSend'])['l2VpnEvpn'] === true;
    const eorRecv = obj(obj(grInfo)['endOfRibRecv'])['l2VpnEvpn'] === true;
    const eorExpected = (ok: boolean): JsonObject | undefined => (ok ? { type: 'update', withdrawn: [], nlri: [], mpReach: null, mpUnreach: { afi: 25, safi: 70, routes: [] } } : undefined);
    frrVectors.push(
      vector(eors.f, 'frr-eor-l2vpn-evpn', `End-of-RIB marker for l2vpn evpn sent by FRR (UPDATE whose only attribute is an empty MP_UNREACH_NLRI with AFI 25 / SAFI 70, RFC 4724); FRR sent it once GoBGP's OPEN carried the graceful-restart capability (in an exploratory run without it, FRR sent no End-of-RIB). Attribute types: ${eors.f.update?.attrTypes.join(',')}.`, { afi: 25, safi: 70, frrGracefulRestartInfo: grInfo }, eorExpected(eorSent)),
    );
    gbVectors.push(
      vector(eors.b, 'gobgp-eor-l2vpn-evpn', `End-of-RIB marker for l2vpn evpn sent by GoBGP (graceful-restart enabled). Attribute types: ${eors.b.update?.attrTypes.join(',')}.`, { afi: 25, safi: 70, frrGracefulRestartInfo: grInfo }, eorExpected(eorRecv)),
    );

    // Expected data for FRR-originated routes: FRR's own entry and GoBGP's received view.
    // Returns [daemons, expected]; expected is GoBGP's received view of the UPDATE.
    const frrExpect = async (nlris: EvpnNlri[]): Promise<[JsonObject, JsonObject | undefined]> => {
      const fr = await frrRoutes(frr);
      const gr = await gobgpRoutes(g, ['neighbor', LEAF_IP, 'adj-in', '-a', 'evpn']);
      const routes: Json[] = [];
      const k0 = nlris[0] !== undefined ? gobgpKeyOf(nlris[0]) : undefined;
      const expected = k0 !== undefined ? updateFromGobgpPath(firstPath(gr.get(k0))) : undefined;
      for (const n of nlris) {
        const fp = frrPrefixOf(n);
        const gk = gobgpKeyOf(n);
        routes.push({
          frr: fp !== undefined ? clean(fr.get(`${n.rd}|${fp}`) ?? null) : null,
          gobgpAdjIn: gk !== undefined ? clean(gr.get(gk) ?? null) : null,
        });
      }
      return [{ routes }, expected];
    };

    await g.waitFor(async (x) => (await gobgpRoutes(x, ['neighbor', LEAF_IP, 'adj-in', '-a', 'evpn'])).size >= 1, 10_000, 'IMET in adj-in');
    frrVectors.push(
      vector(imet, 'frr-type3-imet', `FRR's Type-3 (Inclusive Multicast Ethernet Tag) UPDATE for VNI 1 (auto RD, auto RT 65000:1, encapsulation VXLAN, PMSI tunnel ingress replication label 1): ${nlriSummary(imet.update!.reach)}. Attribute types: ${imet.update!.attrTypes.join(',')}.`, ...(await frrExpect(imet.update!.reach))),
    );
    log('OPEN/KEEPALIVE/EoR/IMET captured');

    // --- Type-2 MAC only: h1 ARPs for an address nobody has; the bridge learns h1's MAC but
    // the leaf creates no neighbor entry (the target is not local).
    let mark = await cap.mark();
    await h1.exec([pingBin, '-c', '1', '-W', '1', NOBODY_IP], { allowFail: true });
    const macOnly = await cap.waitSince(mark, (ms) => ms.find((m) => m.from === 'frr' && m.update?.reach.some((n) => n.routeType === 2 && n.mac === H1_MAC && n.ip === undefined)), 'Type-2 MAC-only for h1');
    await g.waitFor(async (x) => (await gobgpRoutes(x, ['neighbor', LEAF_IP, 'adj-in', '-a', 'evpn'])).has(gobgpKeyOf(macOnly.update!.reach[0]!)!), 10_000, 'h1 MAC in adj-in');
    frrVectors.push(
      vector(macOnly, 'frr-type2-mac-only', `FRR's Type-2 MAC/IP Advertisement without IP for host h1 (MAC learned on bridge port h1p from an ARP request to an unused address): ${nlriSummary(macOnly.update!.reach)}. Attribute types: ${macOnly.update!.attrTypes.join(',')}.`, ...(await frrExpect(macOnly.update!.reach))),
    );

    // --- Type-2 MAC+IP: h1 pings the SVI address; the leaf's ARP entry gives zebra the IP.
    mark = await cap.mark();
    await h1.exec([pingBin, '-c', '1', '-W', '2', SVI_IP]);
    const macIp = await cap.waitSince(mark, (ms) => ms.find((m) => m.from === 'frr' && m.update?.reach.some((n) => n.routeType === 2 && n.mac === H1_MAC && n.ip === H1_IP)), 'Type-2 MAC+IP for h1');
    await g.waitFor(async (x) => (await gobgpRoutes(x, ['neighbor', LEAF_IP, 'adj-in', '-a', 'evpn'])).has(gobgpKeyOf(macIp.update!.reach.find((n) => n.ip === H1_IP)!)!), 10_000, 'h1 MAC+IP in adj-in');
    frrVectors.push(
      vector(macIp, 'frr-type2-mac-ip', `FRR's Type-2 MAC/IP Advertisement with IPv4 for h1 (ARP entry on the SVI br1 after h1 pinged 192.168.10.1): ${nlriSummary(macIp.update!.reach)}. Attribute types: ${macIp.update!.attrTypes.join(',')}.`, ...(await frrExpect(macIp.update!.reach))),
    );
    log('FRR Type-2 captured');

    // --- MAC move: GoBGP first advertises h2's MAC as a remote MAC (VNI 1 via RT 65000:1),
    // then h2 shows up locally: FRR advertises it with MAC Mobility sequence 1.
    const remoteCmd = ['global', 'rib', '-a', 'evpn', 'add', 'macadv', H2_MAC, '0.0.0.0', 'etag', '0', 'label', '1', 'rd', `${GB_IP}:1`, 'rt', `${ASN}:1`, 'encap', 'vxlan'];
    mark = await cap.mark();
    const gbRibBefore0 = await gobgpRoutes(g, ['global', 'rib', '-a', 'evpn']);
    const frrBefore0 = await frrRoutes(frr);
    await g.cli(remoteCmd);
    const remote = await cap.waitSince(mark, (ms) => ms.find((m) => m.from === 'gobgp' && m.update?.reach.some((n) => n.mac === H2_MAC)), 'GoBGP remote MAC for h2');
    await frr.waitFor(
      async (f) => obj(obj((await f.vtyshJson<JsonObject>('show evpn mac vni 1 json', 'zebra'))['macs'])[H2_MAC])['type'] === 'remote',
      10_000,
      'remote MAC of h2 in zebra',
    );
    gbVectors.push(await gobgpVector(g, frr, remote, 'gobgp-type2-mac-only-vxlan', remoteCmd, gbRibBefore0, frrBefore0, 'MAC-only Type-2 (the MAC of host h2, before h2 appears locally on the FRR leaf) with RT 65000:1 and encapsulation VXLAN; FRR imports it into VNI 1 as a remote MAC.'));
    const gbRibAfterRemote = await gobgpRoutes(g, ['global', 'rib', '-a', 'evpn']);

    mark = await cap.mark();
    await h2.exec([pingBin, '-c', '1', '-W', '1', NOBODY_IP], { allowFail: true });
    const moved = await cap.waitSince(mark, (ms) => ms.find((m) => m.from === 'frr' && m.update?.reach.some((n) => n.mac === H2_MAC && n.ip === undefined)), 'Type-2 with MAC mobility for h2');
    await g.waitFor(async (x) => (await gobgpRoutes(x, ['neighbor', LEAF_IP, 'adj-in', '-a', 'evpn'])).has(gobgpKeyOf(moved.update!.reach[0]!)!), 10_000, 'h2 MAC in adj-in');
    frrVectors.push(
      vector(moved, 'frr-type2-mac-only-mobility', `FRR's Type-2 (MAC only) for h2 after the MAC moved from the remote VTEP 10.250.0.2 (GoBGP's route, sequence 0) to local port h2p: carries the MAC Mobility extended community (type 0x06 sub-type 0x00) with sequence 1: ${nlriSummary(moved.update!.reach)}. Attribute types: ${moved.update!.attrTypes.join(',')}.`, ...(await frrExpect(moved.update!.reach))),
    );
    // GoBGP 3.10 withdraws its own (now superseded) route when a higher MAC Mobility sequence arrives.
    const gbImplicit = await cap.waitSince(mark, (ms) => ms.find((m) => m.from === 'gobgp' && m.update?.unreach.some((n) => n.mac === H2_MAC)), "GoBGP's withdraw of the superseded MAC", 10_000).catch(() => undefined);
    if (gbImplicit !== undefined) {
      await sleep(300);
      const ribNow = await gobgpRoutes(g, ['global', 'rib', '-a', 'evpn']);
      gbVectors.push(
        vector(gbImplicit, 'gobgp-withdraw-type2-superseded', `MP_UNREACH_NLRI sent by GoBGP on its own, when FRR advertised the same MAC with a higher MAC Mobility sequence: GoBGP withdraws its local route (${nlriSummary(gbImplicit.update!.unreach)}). Attribute types: ${gbImplicit.update!.attrTypes.join(',')}.`, {
          withdrawn: gbImplicit.update!.unreach.map((n) => {
            const k = gobgpKeyOf(n) ?? '';
            return { key: k, gobgpRibBefore: clean(gbRibAfterRemote.get(k) ?? null), gobgpRibAfter: clean(ribNow.get(k) ?? null) };
          }),
        }, withdrawFromGobgp(gbImplicit.update!.unreach.map((n) => nlriOfPath(firstPath(gbRibAfterRemote.get(gobgpKeyOf(n) ?? '')))))),
      );
    }
    mark = await cap.mark();
    await h2.exec([pingBin, '-c', '1', '-W', '2', SVI_IP]);
    const movedIp = await cap.waitSince(mark, (ms) => ms.find((m) => m.from === 'frr' && m.update?.reach.some((n) => n.mac === H2_MAC && n.ip === H2_IP)), 'Type-2 MAC+IP with MAC mobility for h2');
    await g.waitFor(async (x) => (await gobgpRoutes(x, ['neighbor', LEAF_IP, 'adj-in', '-a', 'evpn'])).has(gobgpKeyOf(movedIp.update!.reach.find((n) => n.ip === H2_IP)!)!), 10_000, 'h2 MAC+IP in adj-in');
    frrVectors.push(
      vector(movedIp, 'frr-type2-mac-ip-mobility', `FRR's Type-2 MAC+IP for h2 after the move (MAC Mobility sequence 1): ${nlriSummary(movedIp.update!.reach)}. Attribute types: ${movedIp.update!.attrTypes.join(',')}.`, ...(await frrExpect(movedIp.update!.reach))),
    );
    log('MAC mobility captured');

    // --- GoBGP originates every EVPN route type.
    const originate: Array<{ name: string; what: string; args: string[] }> = [
      { name: 'gobgp-type1-ad-single-homed', what: 'Type-1 Ethernet A-D, single-homed (ESI 0), etag 100, label 200, no extended communities', args: ['a-d', 'esi', '0', 'etag', '100', 'label', '200', 'rd', `${GB_IP}:101`] },
      // (GoBGP 3.10's CLI rejects `esi-label 400 single-active`: "esi-label should have one argument")
      { name: 'gobgp-type1-ad-lacp-esi-label', what: 'Type-1 Ethernet A-D with a type-1 (LACP) ESI, RT 65000:200, encapsulation VXLAN and an ESI Label extended community (label 400)', args: ['a-d', 'esi', 'LACP', 'aa:bb:cc:dd:ee:ff', '100', 'etag', '200', 'label', '300', 'rd', `${GB_IP}:102`, 'rt', '65000:200', 'encap', 'vxlan', 'esi-label', '400'] },
      { name: 'gobgp-type2-mac-ip-two-labels', what: 'Type-2 MAC+IPv4 with two labels (1 and 2), RT 65000:1, encapsulation VXLAN (NLRI length 40)', args: ['macadv', '02:00:00:00:aa:02', '192.168.10.202', 'etag', '0', 'label', '1,2', 'rd', `${GB_IP}:202`, 'rt', '65000:1', 'encap', 'vxlan'] },
      { name: 'gobgp-type2-esi-as-router-mac', what: 'Type-2 MAC+IPv4 with a type-5 (AS) ESI, two route targets, encapsulation VXLAN and a Router\'s MAC extended community', args: ['macadv', '02:00:00:00:aa:03', '192.168.10.203', 'esi', 'AS', '65000', '100', 'etag', '0', 'label', '1', 'rd', `${GB_IP}:203`, 'rt', '65000:1', '65000:3', 'encap', 'vxlan', 'router-mac', '02:00:00:00:aa:fe'] },
      { name: 'gobgp-type2-default-gateway', what: 'Type-2 MAC+IPv4 with the Default Gateway extended community: GoBGP 3.10\'s CLI puts it in the UPDATE twice (`default-gateway` is parsed both as a flag and as an extended community), so the attribute really holds a duplicate', args: ['macadv', '02:00:00:00:aa:04', '192.168.10.204', 'etag', '0', 'label', '1', 'rd', `${GB_IP}:204`, 'rt', '65000:1', 'default-gateway', 'encap', 'vxlan'] },
      { name: 'gobgp-type2-mac-ipv6', what: 'Type-2 MAC+IPv6 (NLRI length 49), RT 65000:1, encapsulation VXLAN', args: ['macadv', '02:00:00:00:aa:05', '2001:db8::205', 'etag', '0', 'label', '1', 'rd', `${GB_IP}:205`, 'rt', '65000:1', 'encap', 'vxlan'] },
      { name: 'gobgp-type2-path-attributes', what: 'Type-2 MAC-only with extra path attributes: ORIGIN IGP, MED 10, LOCAL_PREF 200, COMMUNITIES 65000:100, LARGE_COMMUNITIES 65000:1:2, and route targets in the three formats (two-octet AS 65000:1, IPv4 10.250.0.2:7, four-octet AS 4200000000:9 written in asdot as 64086.59904:9)', args: ['macadv', '02:00:00:00:aa:06', '0.0.0.0', 'etag', '0', 'label', '1', 'rd', `${GB_IP}:206`, 'rt', '65000:1', '10.250.0.2:7', '64086.59904:9', 'encap', 'vxlan', 'origin', 'igp', 'med', '10', 'local-pref', '200', 'community', '65000:100', 'large-community', '65000:1:2'] },
      { name: 'gobgp-type2-rt-asplain-clamped', what: 'Type-2 MAC-only whose route target was given as `4200000000:9` (asplain above 65535): GoBGP 3.10\'s CLI does not make a four-octet-AS route target of it but the two-octet-AS route target 65535:9 (bytes 00 02 ff ff 00 00 00 09); use asdot (64086.59904:9) for a real one', args: ['macadv', '02:00:00:00:aa:08', '0.0.0.0', 'etag', '0', 'label', '1', 'rd', `${GB_IP}:208`, 'rt', '4200000000:9', 'encap', 'vxlan'] },
      { name: 'gobgp-type2-rd-type0-etag', what: 'Type-2 MAC+IPv4 with a type-0 RD (65000:207) and a non-zero Ethernet Tag (7)', args: ['macadv', '02:00:00:00:aa:07', '192.168.10.207', 'etag', '7', 'label', '1', 'rd', '65000:207', 'rt', '65000:1', 'encap', 'vxlan'] },
      { name: 'gobgp-type2-rd-type2', what: 'Type-2 MAC+IPv4 with a type-2 RD (four-octet AS 4200000000, written in asdot as 64086.59904:209)', args: ['macadv', '02:00:00:00:aa:09', '192.168.10.209', 'etag', '0', 'label', '1', 'rd', '64086.59904:209', 'rt', '65000:1', 'encap', 'vxlan'] },
      { name: 'gobgp-type3-imet-pmsi', what: 'Type-3 Inclusive Multicast with RT 65000:1, encapsulation VXLAN and a PMSI Tunnel attribute (ingress replication, label 1, tunnel endpoint 10.250.0.2)', args: ['multicast', GB_IP, 'etag', '0', 'rd', `${GB_IP}:301`, 'rt', '65000:1', 'encap', 'vxlan', 'pmsi', 'ingress-repl', '1', GB_IP] },
      { name: 'gobgp-type3-imet-plain', what: 'Type-3 Inclusive Multicast with Ethernet Tag 100 and no extended communities or PMSI', args: ['multicast', '10.250.0.99', 'etag', '100', 'rd', `${GB_IP}:302`] },
      { name: 'gobgp-type4-es-mac', what: 'Type-4 Ethernet Segment route with a type-3 (MAC) ESI; GoBGP adds the ES-Import route target derived from the ESI', args: ['esi', GB_IP, 'esi', 'MAC', 'aa:bb:cc:dd:ee:ff', '100', 'rd', `${GB_IP}:401`, 'rt', '65000:1', 'encap', 'vxlan'] },
      { name: 'gobgp-type4-es-routerid', what: 'Type-4 Ethernet Segment route with a type-4 (router id) ESI', args: ['esi', GB_IP, 'esi', 'ROUTERID', '10.250.0.2', '7', 'rd', `${GB_IP}:402`] },
      { name: 'gobgp-type4-es-arbitrary', what: 'Type-4 Ethernet Segment route with a type-0 (arbitrary) ESI 00:11:22:33:44:55:66:77:88:99', args: ['esi', GB_IP, 'esi', 'ARBITRARY', '11:22:33:44:55:66:77:88:99', 'rd', `${GB_IP}:403`] },
      { name: 'gobgp-type5-ipv4-router-mac', what: 'Type-5 IP Prefix route (IPv4 10.99.0.0/24, label 5000, RT 65000:5000, encapsulation VXLAN, Router\'s MAC)', args: ['prefix', '10.99.0.0/24', 'etag', '0', 'label', '5000', 'rd', `${GB_IP}:501`, 'rt', '65000:5000', 'encap', 'vxlan', 'router-mac', '02:00:00:00:aa:fe'] },
      { name: 'gobgp-type5-ipv4-gw-esi', what: 'Type-5 IP Prefix route with a gateway address 10.250.0.2, a type-2 (MSTP) ESI and Ethernet Tag 200', args: ['prefix', '10.98.0.0/24', 'gw', GB_IP, 'esi', 'MSTP', 'aa:aa:aa:aa:aa:aa', '100', 'etag', '200', 'label', '300', 'rd', `${GB_IP}:502`, 'rt', '65000:200'] },
      { name: 'gobgp-type5-ipv6', what: 'Type-5 IP Prefix route for IPv6 2001:db8:1::/48 (NLRI length 58)', args: ['prefix', '2001:db8:1::/48', 'etag', '0', 'label', '5000', 'rd', `${GB_IP}:503`, 'rt', '65000:5000', 'encap', 'vxlan'] },
    ];
    for (const o of originate) {
      const cmd = ['global', 'rib', '-a', 'evpn', 'add', ...o.args];
      const ribBefore = await gobgpRoutes(g, ['global', 'rib', '-a', 'evpn']);
      const frrBefore = await frrRoutes(frr);
      const logFrom = logSize(frr.bgpd.logFile);
      mark = await cap.mark();
      await g.cli(cmd);
      const m = await cap.waitSince(mark, (ms) => ms.find((x) => x.from === 'gobgp' && (x.update?.reach.length ?? 0) > 0), o.name);
      // let FRR process it before reading its view
      await frr.waitFor(async (f) => newKeys(frrBefore, await frrRoutes(f)).length > 0, 5000, `${o.name} in FRR`).catch(() => undefined);
      const complaints = logSince(frr.bgpd.logFile, logFrom).filter((l) => /\[EC \d+\]|Invalid|withdraw/i.test(l));
      const what = complaints.length > 0 ? `${o.what}. FRR 8.4.4 logged on receipt: ${complaints.map((l) => l.replace(/^\S+ \S+ /, '')).join(' / ')}` : o.what;
      gbVectors.push(await gobgpVector(g, frr, m, o.name, cmd, ribBefore, frrBefore, what));
      log(`${o.name} captured`);
    }

    // --- GoBGP withdraws.
    const withdraws: Array<{ name: string; what: string; args: string[] }> = [
      { name: 'gobgp-withdraw-type2', what: 'withdraw of the Type-2 MAC+IP with two labels', args: ['macadv', '02:00:00:00:aa:02', '192.168.10.202', 'etag', '0', 'label', '1,2', 'rd', `${GB_IP}:202`] },
      { name: 'gobgp-withdraw-type3', what: 'withdraw of the Type-3 with PMSI', args: ['multicast', GB_IP, 'etag', '0', 'rd', `${GB_IP}:301`] },
      { name: 'gobgp-withdraw-type5', what: 'withdraw of the IPv4 Type-5', args: ['prefix', '10.99.0.0/24', 'etag', '0', 'label', '5000', 'rd', `${GB_IP}:501`] },
    ];
    for (const w of withdraws) {
      const cmd = ['global', 'rib', '-a', 'evpn', 'del', ...w.args];
      const ribBefore = await gobgpRoutes(g, ['global', 'rib', '-a', 'evpn']);
      const frrBefore = await frrRoutes(frr);
      mark = await cap.mark();
      await g.cli(cmd);
      const m = await cap.waitSince(mark, (ms) => ms.find((x) => x.from === 'gobgp' && (x.update?.unreach.length ?? 0) > 0), w.name);
      const ribAfter = await gobgpRoutes(g, ['global', 'rib', '-a', 'evpn']);
      await sleep(500);
      const frrAfter = await frrRoutes(frr);
      const gone = [...ribBefore.keys()].filter((k) => !ribAfter.has(k));
      const frrGone = [...frrBefore.keys()].filter((k) => !frrAfter.has(k));
      gbVectors.push(
        vector(m, w.name, `MP_UNREACH_NLRI sent by GoBGP after \`gobgp ${cmd.join(' ')}\`: ${w.what} (${nlriSummary(m.update!.unreach)}). Attribute types: ${m.update!.attrTypes.join(',')}.`, {
          cli: `gobgp ${cmd.join(' ')}`,
          withdrawn: gone.map((k) => ({ key: k, gobgpRibBefore: clean(ribBefore.get(k) ?? null) })),
          frrRemoved: frrGone.map((k) => ({ key: k, frrBefore: clean(frrBefore.get(k) ?? null) })),
        }, gone.length === 1 && m.update!.unreach.length === 1 ? withdrawFromGobgp([nlriOfPath(firstPath(ribBefore.get(gone[0]!)))]) : undefined),
      );
      log(`${w.name} captured`);
    }

    // --- FRR withdraws: the neighbor entry, then the MAC, then the whole VNI.
    const adjIn = (): Promise<Map<string, Json[]>> => gobgpRoutes(g, ['neighbor', LEAF_IP, 'adj-in', '-a', 'evpn']);
    const frrWithdrawStep = async (name: string, what: string, act: () => Promise<unknown>, want: (n: EvpnNlri) => boolean): Promise<void> => {
      const fb = await frrRoutes(frr);
      const gbb = await adjIn();
      mark = await cap.mark();
      await act();
      const msgs = await cap.waitSince(
        mark,
        (ms) => {
          const w = ms.filter((m) => m.from === 'frr' && (m.update?.unreach.length ?? 0) > 0);
          return w.some((m) => m.update!.unreach.some(want)) ? w : undefined;
        },
        name,
      );
      await sleep(1000); // let FRR finish (a VNI removal may take several UPDATEs)
      const all = (await cap.messages()).slice(mark).filter((m) => m.from === 'frr' && (m.update?.unreach.length ?? 0) > 0);
      const list = all.length > 0 ? all : msgs;
      list.forEach((m, i) => {
        const nm = list.length === 1 ? name : `${name}-${i + 1}`;
        const routes = m.update!.unreach.map((n) => {
          const fp = frrPrefixOf(n);
          const gk = gobgpKeyOf(n);
          return { frrBefore: fp !== undefined ? clean(fb.get(`${n.rd}|${fp}`) ?? null) : null, gobgpAdjInBefore: gk !== undefined ? clean(gbb.get(gk) ?? null) : null };
        });
        const t2 = m.update!.unreach.filter((n) => n.routeType === 2);
        const zeroed = t2.length > 0 && t2.every((n) => n.esiZero === true && n.labelsZero === true) ? ' The withdrawn Type-2 NLRIs carry a zero ESI and zero labels.' : '';
        const exp = withdrawFromGobgp(m.update!.unreach.map((n) => nlriOfPath(firstPath(gbb.get(gobgpKeyOf(n) ?? '')))));
        frrVectors.push(vector(m, nm, `MP_UNREACH_NLRI sent by FRR: ${what} (${nlriSummary(m.update!.unreach)}). Attribute types: ${m.update!.attrTypes.join(',')}.${zeroed}`, { withdrawn: routes }, exp));
      });
      log(`${name} captured (${list.length} message(s))`);
    };
    await frrWithdrawStep('frr-withdraw-type2-mac-ip', 'the MAC+IP route of h1 after `ip neigh del 192.168.10.11 dev br1` on the leaf', () => leaf.ip(['neigh', 'del', H1_IP, 'dev', 'br1']), (n) => n.mac === H1_MAC && n.ip === H1_IP);
    await frrWithdrawStep('frr-withdraw-type2-mac-only', 'the MAC-only route of h1 after `bridge fdb del 02:00:00:00:00:11 dev h1p master` on the leaf', () => leaf.exec(['bridge', 'fdb', 'del', H1_MAC, 'dev', 'h1p', 'master']), (n) => n.mac === H1_MAC && n.ip === undefined);
    await frrWithdrawStep('frr-withdraw-vni', 'the routes of VNI 1 after `ip link del vx1` on the leaf (Type-3 and the Type-2 routes of h2)', () => leaf.ip(['link', 'del', 'vx1']), (n) => n.routeType === 3);

    // --- NOTIFICATIONs: GoBGP administrative shutdown, then FRR's reset.
    mark = await cap.mark();
    const sd = await run(['gobgp', '--target', g.target, 'neighbor', LEAF_IP, 'shutdown', '--reason', 'evpn-mirror capture'], { allowFail: true });
    if (sd.code === 0) {
      const n = await cap.waitSince(mark, (ms) => ms.find((m) => m.from === 'gobgp' && m.type === 'NOTIFICATION'), 'GoBGP NOTIFICATION', 10_000);
      await sleep(500);
      const fn = obj(obj(await frr.vtyshJson<Json>(`show bgp neighbors ${GB_IP} json`))[GB_IP]);
      gbVectors.push(
        vector(n, 'gobgp-notification-admin-shutdown', 'NOTIFICATION sent by GoBGP on `gobgp neighbor 10.250.0.1 shutdown --reason "evpn-mirror capture"`: Cease (6) / Administrative Shutdown (2) with a shutdown communication (RFC 8203: length byte + UTF-8 text).', {
          cli: 'gobgp neighbor 10.250.0.1 shutdown --reason "evpn-mirror capture"',
          frrNeighbor: pick(fn, ['lastResetDueTo', 'lastResetCode', 'lastNotificationReason', 'lastShutdownDescription', 'lastErrorCodeSubcode']),
        }, notificationFrom(fn['lastErrorCodeSubcode'], fn['lastShutdownDescription'])),
      );
      log('GoBGP NOTIFICATION captured');
      await g.cli(['neighbor', LEAF_IP, 'enable']).catch(() => '');
    } else {
      log(`gobgp neighbor shutdown failed: ${sd.stderr.trim()}`);
    }
    await frr.waitEstablished(GB_IP, 30_000);
    mark = await cap.mark();
    const gbLogFrom = logSize(g.process.logFile);
    await frr.vtysh(`clear bgp ${GB_IP}`);
    const fnote = await cap.waitSince(mark, (ms) => ms.find((m) => m.from === 'frr' && m.type === 'NOTIFICATION'), 'FRR NOTIFICATION', 10_000);
    await sleep(300);
    const frrAfterClear = obj(obj(await frr.vtyshJson<Json>(`show bgp neighbors ${GB_IP} json`))[GB_IP]);
    // FRR's JSON only says "User reset"; GoBGP logs the code and subcode it received.
    const gbLine = logSince(g.process.logFile, gbLogFrom).find((l) => /received notification/.test(l));
    const gbm = gbLine !== undefined ? /Code=(\d+) .*Data="\[([^\]]*)\]".* Subcode=(\d+)/.exec(gbLine) : null;
    frrVectors.push(
      vector(fnote, 'frr-notification-admin-reset', `NOTIFICATION sent by FRR on \`clear bgp ${GB_IP}\`: Cease (6) / Administrative Reset (4), no data.`, {
        frr: pick(frrAfterClear, ['lastResetDueTo', 'lastResetCode', 'lastNotificationReason', 'lastErrorCodeSubcode']),
        gobgpLog: gbLine ?? null,
      }, gbm !== null && gbm[2] === '' ? { type: 'notification', code: Number(gbm[1]), subcode: Number(gbm[3]), data: '' } : undefined),
    );
    log('FRR NOTIFICATION captured');

    await g.stop();
    await frr.stop();
    await cap.tcpdump.stop();

    // sanity: every vector decodes as one whole BGP message
    for (const v of [...frrVectors, ...gbVectors]) {
      const b = Buffer.from(v.hex, 'hex');
      if (!b.subarray(0, 16).equals(Buffer.alloc(16, 0xff)) || b.readUInt16BE(16) !== b.length) throw new Error(`vector ${v.name} is not one whole BGP message`);
    }
    fs.mkdirSync(outDir, { recursive: true });
    const versions = await toolVersions();
    fs.writeFileSync(path.join(outDir, 'frr-8.4.json'), JSON.stringify(frrVectors, null, 2) + '\n');
    fs.writeFileSync(path.join(outDir, 'gobgp-3.10.json'), JSON.stringify(gbVectors, null, 2) + '\n');
    fs.writeFileSync(path.join(outDir, 'versions.json'), JSON.stringify({ capturedAt: new Date().toISOString(), ...versions }, null, 2) + '\n');
    const keep = process.env['EM_KEEP_LAB'] === '1' ? ` (pcap kept: ${cap.pcap})` : '';
    log(`wrote ${frrVectors.length} FRR vectors and ${gbVectors.length} GoBGP vectors to ${outDir}${keep}`);
  } finally {
    await lab.destroy();
  }
}

/** FRR's "lastErrorCodeSubcode" ("0602") and shutdown text -> the decoded NOTIFICATION. */
function notificationFrom(codeSub: Json | undefined, communication: Json | undefined): JsonObject | undefined {
  if (typeof codeSub !== 'string' || !/^[0-9a-f]{4}$/i.test(codeSub)) return undefined;
  const n: JsonObject = { type: 'notification', code: parseInt(codeSub.slice(0, 2), 16), subcode: parseInt(codeSub.slice(2), 16) };
  if (typeof communication === 'string') n['communication'] = communication;
  return n;
}

function logSize(file: string | undefined): number {
  try {
    return file === undefined ? 0 : fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Lines appended to a log file since byte offset `from`. */
function logSince(file: string | undefined, from: number): string[] {
  if (file === undefined) return [];
  try {
    return fs.readFileSync(file).subarray(from).toString('utf8').split('\n').filter((l) => l.trim() !== '');
  } catch {
    return [];
  }
}

/** A vector for a route GoBGP originated with `cmd`, with GoBGP's and FRR's JSON views. */
async function gobgpVector(g: GobgpInstance, frr: FrrInstance, m: BgpMsg, name: string, cmd: string[], ribBefore: Map<string, Json[]>, frrBefore: Map<string, JsonObject>, what: string): Promise<Vector> {
  const ribAfter = await gobgpRoutes(g, ['global', 'rib', '-a', 'evpn']);
  const adjOut = await gobgpRoutes(g, ['neighbor', LEAF_IP, 'adj-out', '-a', 'evpn']);
  const frrAfter = await frrRoutes(frr);
  const added = newKeys(ribBefore, ribAfter);
  const frrAdded = newKeys(frrBefore, frrAfter);
  return vector(m, name, `UPDATE sent by GoBGP after \`gobgp ${cmd.join(' ')}\`: ${what.replace(/\.$/, '')}. NLRI: ${nlriSummary(m.update!.reach)}. Attribute types: ${m.update!.attrTypes.join(',')}.${frrAdded.length === 0 ? ' FRR 8.4 kept no entry for it in its EVPN table.' : ''}`, {
    cli: `gobgp ${cmd.join(' ')}`,
    routes: added.map((k) => ({
      key: k,
      gobgpRib: clean(ribAfter.get(k) ?? null),
      gobgpAdjOut: clean(adjOut.get(k) ?? null),
    })),
    frrReceived: frrAdded.map((k) => ({ key: k, frr: clean(frrAfter.get(k) ?? null) })),
  }, added.length === 1 ? updateFromGobgpPath(firstPath(adjOut.get(added[0]!))) : undefined);
}

async function toolVersions(): Promise<JsonObject> {
  const v = async (cmd: string[]): Promise<string> => {
    const r = await run(cmd, { allowFail: true });
    return (r.stdout + r.stderr).split('\n').find((l) => l.trim() !== '' && !/Running as user/.test(l))?.trim() ?? '';
  };
  return {
    frr: await v(['/usr/lib/frr/bgpd', '--version']),
    gobgpd: await v(['gobgpd', '--version']),
    tshark: await v(['tshark', '--version']),
    tcpdump: await v(['tcpdump', '--version']),
    kernel: await v(['uname', '-r']),
  };
}

main().catch((e: unknown) => {
  process.stderr.write(`capture failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
