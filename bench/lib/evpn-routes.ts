// Generates N EVPN Type-2 routes with distinct MACs and a realistic attribute mix, grouped
// into UPDATEs the way a route reflector sends them (routes sharing attributes together).
//
// Mix (deterministic): routes come in blocks of 100 that share attributes, the way a route
// reflector relays one leaf's MAC table (FRR's own measurement saw 103 routes per UPDATE).
// Block b: VTEP b mod 64, VNI 1000 + (b / 64) mod 256, RD = VTEP:VNI, label = VNI, RT ASN:VNI,
// encapsulation VXLAN; 1 block in 4 carries MAC Mobility sequence 1..3 (1 in 20 of those
// sticky); 1 in 50 are default gateways with a router MAC. 80% of routes carry an IPv4.
import { encodeUpdate } from '../../src/bgp/packet/message';
import { EvpnMacIp } from '../../src/bgp/packet/evpn';
import { ExtCommunity } from '../../src/bgp/packet/extcommunity';
import { ESI_ZERO } from '../../src/bgp/packet/rd';
import { MAX_MESSAGE_LENGTH } from '../../src/bgp/packet/constants';

export const VTEPS = 64;
export const VNIS = 256;

export interface GeneratedFeed {
  updates: Buffer[];
  routes: number;
  bytes: number;
}

function vtepIp(v: number): string {
  return `10.200.${v >> 8}.${(v & 255) + 1}`;
}

/** Attribute class of route i: routes of one class share attributes. */
export const BLOCK = 100;

function classOf(i: number): { vtep: number; vni: number; seq: number; sticky: boolean; gw: boolean } {
  const b = Math.floor(i / BLOCK);
  const vtep = b % VTEPS;
  const vni = 1000 + (Math.floor(b / VTEPS) % VNIS);
  const r = (b * 2654435761) >>> 0; // Knuth multiplicative hash: a fixed pseudo-random spread
  const mobile = r % 4 === 0;
  return { vtep, vni, seq: mobile ? 1 + (r % 3) : 0, sticky: mobile && r % 20 === 0, gw: r % 50 === 7 };
}

export function generateFeed(n: number, asn = 65000): GeneratedFeed {
  // Routes of one block share attributes.
  const groups: number[][] = [];
  for (let i = 0; i < n; i++) (groups[Math.floor(i / BLOCK)] ??= []).push(i);
  const updates: Buffer[] = [];
  let bytes = 0;
  for (const idx of groups) {
    const c = classOf(idx[0]!);
    const ext: ExtCommunity[] = [
      { kind: 'route-target', format: 'as2', asn, local: c.vni },
      { kind: 'encapsulation', tunnelType: 8 },
    ];
    if (c.seq) ext.push({ kind: 'mac-mobility', sequence: c.seq, sticky: c.sticky });
    if (c.gw) ext.push({ kind: 'default-gateway' }, { kind: 'router-mac', mac: `44:38:39:ff:00:${(c.vtep & 255).toString(16).padStart(2, '0')}` });
    const nh = vtepIp(c.vtep);
    const attributes = { origin: 0 as const, asPath: [], localPref: 100, extCommunities: ext };
    const routes: EvpnMacIp[] = idx.map((i) => {
      const r: EvpnMacIp = {
        type: 2,
        rd: `${nh}:${c.vni}`,
        esi: ESI_ZERO,
        ethernetTag: 0,
        mac: `02:${((i >>> 24) & 255).toString(16).padStart(2, '0')}:${((i >>> 16) & 255).toString(16).padStart(2, '0')}:${((i >>> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:01`,
        label1: c.vni,
      };
      if (i % 5 !== 0) r.ip = `172.${16 + ((i >>> 16) & 15)}.${(i >>> 8) & 255}.${i & 255}`;
      return r;
    });
    // Pack like a route reflector does: as many routes as fit in 4096 bytes.
    let chunk: EvpnMacIp[] = [];
    let used = 0;
    const base = encodeUpdate({ attributes, mpReach: { afi: 25, safi: 70, nextHops: [nh], routes: [] } }).length + 1;
    for (const r of routes) {
      const size = 2 + 30 + (r.ip ? 4 : 0) + 3;
      if (base + used + size > MAX_MESSAGE_LENGTH) {
        const u = encodeUpdate({ attributes, mpReach: { afi: 25, safi: 70, nextHops: [nh], routes: chunk } });
        updates.push(u);
        bytes += u.length;
        chunk = [];
        used = 0;
      }
      chunk.push(r);
      used += size;
    }
    if (chunk.length) {
      const u = encodeUpdate({ attributes, mpReach: { afi: 25, safi: 70, nextHops: [nh], routes: chunk } });
      updates.push(u);
      bytes += u.length;
    }
  }
  return { updates, routes: n, bytes };
}
