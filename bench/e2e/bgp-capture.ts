// Reads a tcpdump capture (classic pcap, Ethernet) of BGP sessions and returns every EVPN
// Type-2 advertisement and withdrawal in it, with the capture timestamp (microseconds, the
// kernel's CLOCK_REALTIME: the same clock as Date.now() and the agents' log timestamps).
// TCP is reassembled per direction (in-order bytes; retransmitted bytes are skipped) and the
// BGP messages are decoded with the project's own codec. A message is stamped with the
// segment that completed it.
import * as fs from 'node:fs';
import { EvpnRouteType } from '../../src/bgp/packet/constants';
import { EvpnRoute } from '../../src/bgp/packet/evpn';
import { MessageFramer, decodeMessage } from '../../src/bgp/packet/message';

export interface RouteEvent {
  /** Capture time, epoch milliseconds with microsecond fraction. */
  t: number;
  src: string;
  dst: string;
  reach: boolean;
  rd: string;
  mac: string;
  /** MAC Mobility sequence (advertisements that carry one). */
  seq?: number;
}

export interface CaptureStats {
  frames: number;
  bgpMessages: number;
  updates: number;
  /** Segments that skipped bytes (capture loss): the flow's framing restarts after them. */
  gaps: number;
  decodeErrors: number;
}

interface Flow {
  next: number | undefined;
  framer: MessageFramer;
  broken: boolean;
}

const ip4 = (b: Buffer, at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;

export function readBgpCapture(file: string): { events: RouteEvent[]; stats: CaptureStats } {
  const buf = fs.readFileSync(file);
  const stats: CaptureStats = { frames: 0, bgpMessages: 0, updates: 0, gaps: 0, decodeErrors: 0 };
  const events: RouteEvent[] = [];
  if (buf.length < 24) return { events, stats };
  const magic = buf.readUInt32LE(0);
  let le = true;
  let nano = false;
  if (magic === 0xa1b2c3d4) le = true;
  else if (magic === 0xa1b23c4d) nano = true;
  else if (magic === 0xd4c3b2a1) le = false;
  else if (magic === 0x4d3cb2a1) {
    le = false;
    nano = true;
  } else throw new Error(`${file}: not a classic pcap file (magic ${magic.toString(16)})`);
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const linkType = u32(20);
  if (linkType !== 1) throw new Error(`${file}: link type ${linkType}, expected Ethernet (1)`);
  const flows = new Map<string, Flow>();
  let at = 24;
  while (at + 16 <= buf.length) {
    const sec = u32(at);
    const frac = u32(at + 4);
    const incl = u32(at + 8);
    const pkt = buf.subarray(at + 16, at + 16 + incl);
    at += 16 + incl;
    stats.frames++;
    const t = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
    if (pkt.length < 14 + 20) continue;
    let off = 12;
    let etype = pkt.readUInt16BE(off);
    off += 2;
    while (etype === 0x8100 && pkt.length >= off + 4) {
      etype = pkt.readUInt16BE(off + 2);
      off += 4;
    }
    if (etype !== 0x0800) continue;
    const ihl = (pkt[off]! & 0x0f) * 4;
    if (pkt[off + 9] !== 6) continue;
    const totalLen = pkt.readUInt16BE(off + 2);
    const src = ip4(pkt, off + 12);
    const dst = ip4(pkt, off + 16);
    const tcp = off + ihl;
    if (pkt.length < tcp + 20) continue;
    const sport = pkt.readUInt16BE(tcp);
    const dport = pkt.readUInt16BE(tcp + 2);
    const seq = pkt.readUInt32BE(tcp + 4);
    const dataOff = (pkt[tcp + 12]! >> 4) * 4;
    const flags = pkt[tcp + 13]!;
    const payloadStart = tcp + dataOff;
    const payloadEnd = Math.min(pkt.length, off + totalLen);
    const key = `${src}:${sport}>${dst}:${dport}`;
    let flow = flows.get(key);
    if (flags & 0x02) {
      // SYN: a new connection on this 4-tuple.
      flows.set(key, { next: (seq + 1) >>> 0, framer: new MessageFramer(), broken: false });
      continue;
    }
    if (payloadEnd <= payloadStart) continue;
    let payload = pkt.subarray(payloadStart, payloadEnd);
    if (!flow) {
      // Capture began mid-connection: only a segment that starts a message can be used;
      // without a SYN we cannot know, so the flow is ignored.
      flows.set(key, (flow = { next: undefined, framer: new MessageFramer(), broken: true }));
      continue;
    }
    if (flow.broken || flow.next === undefined) continue;
    const delta = (seq - flow.next) | 0;
    if (delta > 0) {
      stats.gaps++;
      flow.broken = true;
      continue;
    }
    if (delta < 0) {
      if (-delta >= payload.length) continue; // pure retransmission
      payload = payload.subarray(-delta);
    }
    flow.next = (flow.next + payload.length) >>> 0;
    let msgs: Buffer[];
    try {
      msgs = flow.framer.push(Buffer.from(payload));
    } catch {
      stats.decodeErrors++;
      flow.broken = true;
      continue;
    }
    for (const m of msgs) {
      stats.bgpMessages++;
      if (m[18] !== 2) continue;
      stats.updates++;
      let u;
      try {
        u = decodeMessage(Buffer.from(m), { as4: true, ibgp: true });
      } catch {
        stats.decodeErrors++;
        continue;
      }
      if (u.type !== 'update') continue;
      let mm: number | undefined;
      for (const c of u.attributes.extCommunities ?? []) if (c.kind === 'mac-mobility') mm = c.sequence;
      for (const r of (u.mpReach?.routes ?? []) as EvpnRoute[]) {
        if (r.type !== EvpnRouteType.MacIpAdvertisement) continue;
        const e: RouteEvent = { t, src, dst, reach: true, rd: r.rd, mac: r.mac };
        if (mm !== undefined) e.seq = mm;
        events.push(e);
      }
      for (const r of (u.mpUnreach?.routes ?? []) as EvpnRoute[]) {
        if (r.type !== EvpnRouteType.MacIpAdvertisement) continue;
        events.push({ t, src, dst, reach: false, rd: r.rd, mac: r.mac });
      }
    }
  }
  return { events, stats };
}
