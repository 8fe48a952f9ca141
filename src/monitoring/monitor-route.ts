// The monitor route: how one agent tells every VTEP about a monitoring session.
//
// It is an ordinary RFC 7432 section 7.2 MAC/IP Advertisement route, because FRR 8.4 drops
// EVPN NLRI of unknown route types without a word (measured, see shared/docs/method.md):
//   RD            <originating agent router id>:<session index>  (unique per agent+session)
//   ESI, Eth Tag  0
//   MAC, IP       the monitored host (IP: its IPv4 if it has one, else its IPv6, else none)
//   Label 1       the host's VNI (RFC 8365 section 5.1.3)
// with these extended communities (RFC 4360):
//   route target  the monitoring RT, AS:N with N > 2^24 - 1, so that no VTEP's auto-derived
//                 AS:VNI target imports it into a MAC-VRF
//   encapsulation VXLAN (RFC 9012 section 4.1), as every EVPN-VXLAN route carries
//   0x8e/xx       evpn-mirror's own, in the experimental transitive range of RFC 4360
//                 section 3 / RFC 7153 (FRR reflects 0x80-0x8f unchanged; 0x80-0x82 are
//                 taken by flowspec actions, so we stay clear of them):
//     0x01 SESSION       HOST-ID (2) | direction (1) | monitor server VNI (3)
//     0x02 MONITOR-MAC   MAC (6)
//     0x03 MONITOR-IPV4  0 (2) | IPv4 (4)
//     0x10..0x12 MONITOR-IPV6 fragments: bytes 0-5, 6-11, then 0 (2) | bytes 12-15
//     0x14..0x16 HOST-IPV6 fragments, same layout (only when the host has both families)
// Each community says what it is by its sub-type, so decoding does not depend on order, and
// no two of ours are ever equal, so FRR's de-duplication cannot lose one. Unknown sub-types
// of 0x8e are ignored (room for later versions); a route that lacks a required part or
// carries two different values for one part is malformed: it is reported, never installed.
import { isIPv4 } from 'node:net';
import { canonicalMac, hex, ipv4ToBytes, ipv4ToString, ipv6ToBytes, ipv6ToString, macToBytes, macToString } from '../bgp/packet/addr';
import { EvpnRouteType } from '../bgp/packet/constants';
import { EvpnMacIp, EvpnRoute } from '../bgp/packet/evpn';
import { ExtCommunity, RouteTarget, TUNNEL_TYPE_VXLAN } from '../bgp/packet/extcommunity';
import { ESI_ZERO } from '../bgp/packet/rd';
import { Direction, HOST_ID_MAX, MonitoringSession, VNI_MAX, unicastMacProblem } from './session';

export const MONITOR_EC_TYPE = 0x8e;
export const enum MonitorSubtype {
  Session = 0x01,
  MonitorMac = 0x02,
  MonitorIpv4 = 0x03,
  MonitorIpv6 = 0x10, // .. 0x12
  HostIpv6 = 0x14, // .. 0x16
}

/** Sub-types this version reads; others are skipped, even repeated (a later version's). */
const KNOWN_SUBTYPES = new Set([1, 2, 3, 0x10, 0x11, 0x12, 0x14, 0x15, 0x16]);

const DIRECTION_CODE: Record<Direction, number> = { both: 0, 'from-host': 1, 'to-host': 2 };
const CODE_DIRECTION: readonly Direction[] = ['both', 'from-host', 'to-host'];

/** Route-target local values up to this one can be an auto-derived AS:VNI target. */
const RT_AUTO_MAX = VNI_MAX;
export const DEFAULT_MONITORING_RT_LOCAL = 0x10000000; // 268435456

export type MonitoringRouteTarget = Extract<RouteTarget, { format: 'as2' }>;

/**
 * Parses "ASN:N" (2-octet AS, N above 2^24 - 1). Only the 2-octet-AS format has a local
 * value wide enough to sit above every VNI; RFC 4360 section 4 types 0x00/0x02 otherwise.
 */
export function parseMonitoringRouteTarget(text: string): MonitoringRouteTarget {
  const m = /^(\d{1,5}):(\d{1,10})$/.exec(text.trim());
  if (!m) throw new RangeError(`monitoring route target '${text}' must be ASN:N (a 2-octet AS and a number)`);
  const asn = Number(m[1]);
  const local = Number(m[2]);
  if (asn > 0xffff) throw new RangeError(`monitoring route target '${text}': AS ${asn} does not fit 2 octets`);
  if (local <= RT_AUTO_MAX || local > 0xffffffff)
    throw new RangeError(
      `monitoring route target '${text}': N must be ${RT_AUTO_MAX + 1}..4294967295, above every VNI, so no VTEP's auto-derived AS:VNI target imports it`,
    );
  return { kind: 'route-target', format: 'as2', asn, local };
}

/** The default for an agent in AS `localAs`: `<AS>:268435456` (AS_TRANS 23456 for a 4-octet AS). */
export function defaultMonitoringRouteTarget(localAs: number): MonitoringRouteTarget {
  return { kind: 'route-target', format: 'as2', asn: localAs <= 0xffff ? localAs : 23456, local: DEFAULT_MONITORING_RT_LOCAL };
}

export function routeTargetText(rt: MonitoringRouteTarget): string {
  return `${rt.asn}:${rt.local}`;
}

function ours(subtype: number, value: Buffer): ExtCommunity {
  return { kind: 'opaque', type: MONITOR_EC_TYPE, subtype, value: hex(value) };
}

function ipv6Fragments(first: number, ip: string): ExtCommunity[] {
  const b = ipv6ToBytes(ip);
  const last = Buffer.alloc(6);
  b.copy(last, 2, 12, 16);
  return [ours(first, b.subarray(0, 6)), ours(first + 1, b.subarray(6, 12)), ours(first + 2, last)];
}

export interface MonitorRoute {
  route: EvpnMacIp;
  extCommunities: ExtCommunity[];
}

/** The monitor route of an enabled session (RFC 7432 section 7.2 layout, see above). */
export function encodeMonitorRoute(session: MonitoringSession, rt: MonitoringRouteTarget): MonitorRoute {
  const { host, monitor } = session;
  const route: EvpnMacIp = {
    type: EvpnRouteType.MacIpAdvertisement,
    rd: session.id,
    esi: ESI_ZERO,
    ethernetTag: 0,
    mac: host.mac,
    label1: session.vni,
  };
  const ip = host.ipv4 ?? host.ipv6;
  if (ip !== undefined) route.ip = ip;
  const sessionValue = Buffer.alloc(6);
  sessionValue.writeUInt16BE(monitor.hostId, 0);
  sessionValue[2] = DIRECTION_CODE[session.direction];
  sessionValue.writeUIntBE(monitor.vni, 3, 3);
  const ext: ExtCommunity[] = [
    rt,
    { kind: 'encapsulation', tunnelType: TUNNEL_TYPE_VXLAN },
    ours(MonitorSubtype.Session, sessionValue),
    ours(MonitorSubtype.MonitorMac, macToBytes(monitor.mac)),
  ];
  if (monitor.ipv4 !== undefined) {
    const v = Buffer.alloc(6);
    ipv4ToBytes(monitor.ipv4).copy(v, 2);
    ext.push(ours(MonitorSubtype.MonitorIpv4, v));
  }
  if (monitor.ipv6 !== undefined) ext.push(...ipv6Fragments(MonitorSubtype.MonitorIpv6, monitor.ipv6));
  if (host.ipv4 !== undefined && host.ipv6 !== undefined) ext.push(...ipv6Fragments(MonitorSubtype.HostIpv6, host.ipv6));
  return { route, extCommunities: ext };
}

export function hasRouteTarget(list: readonly ExtCommunity[] | undefined, rt: MonitoringRouteTarget): boolean {
  if (!list) return false;
  for (const c of list) if (c.kind === 'route-target' && c.format === 'as2' && c.asn === rt.asn && c.local === rt.local) return true;
  return false;
}

export type MonitorRouteDecode = { ok: true; session: MonitoringSession } | { ok: false; reason: string };

/**
 * Reads a session back from a route that carries the monitoring route target. Every
 * problem is returned as a reason (the caller logs it and installs nothing); never throws.
 */
export function decodeMonitorRoute(route: EvpnRoute, extCommunities: readonly ExtCommunity[] | undefined): MonitorRouteDecode {
  const fail = (reason: string): MonitorRouteDecode => ({ ok: false, reason: `monitor route ${route.rd}: ${reason}` });
  if (route.type !== EvpnRouteType.MacIpAdvertisement) return fail(`route type ${route.type} is not a MAC/IP advertisement`);
  // Values by sub-type; a second, different value for one sub-type is a conflict.
  const parts = new Map<number, string>();
  for (const c of extCommunities ?? []) {
    if (c.kind !== 'opaque' || c.type !== MONITOR_EC_TYPE || !KNOWN_SUBTYPES.has(c.subtype)) continue;
    const seen = parts.get(c.subtype);
    if (seen !== undefined && seen !== c.value) return fail(`two different values for community 0x8e/0x${c.subtype.toString(16).padStart(2, '0')}`);
    parts.set(c.subtype, c.value);
  }
  const sessionHex = parts.get(MonitorSubtype.Session);
  if (sessionHex === undefined) return fail('no SESSION community (0x8e/0x01)');
  const macHex = parts.get(MonitorSubtype.MonitorMac);
  if (macHex === undefined) return fail('no MONITOR-MAC community (0x8e/0x02)');
  const sv = Buffer.from(sessionHex, 'hex');
  const hostId = sv.readUInt16BE(0);
  if (hostId < 1 || hostId > HOST_ID_MAX) return fail(`HOST-ID ${hostId} is out of range 1..${HOST_ID_MAX}`);
  const direction = CODE_DIRECTION[sv[2]!];
  if (direction === undefined) return fail(`unknown direction code ${sv[2]}`);
  const monitorVni = sv.readUIntBE(3, 3);
  if (monitorVni < 1) return fail('monitor server VNI 0');
  if (route.label1 < 1 || route.label1 > VNI_MAX) return fail(`VNI (label 1) ${route.label1} is out of range`);
  const monitorMac = macToString(Buffer.from(macHex, 'hex'));
  const hostMac = canonicalMac(route.mac);
  const macProblem = unicastMacProblem(hostMac) ?? unicastMacProblem(monitorMac);
  if (macProblem) return fail(macProblem);
  if (monitorMac === hostMac) return fail('the monitor server has the monitored host MAC');

  const v4Hex = parts.get(MonitorSubtype.MonitorIpv4);
  let monitorIpv4: string | undefined;
  if (v4Hex !== undefined) {
    const v = Buffer.from(v4Hex, 'hex');
    if (v.readUInt16BE(0) !== 0) return fail('MONITOR-IPV4 reserved octets are not zero');
    monitorIpv4 = ipv4ToString(v, 2);
  }
  const monitorIpv6 = readIpv6(parts, MonitorSubtype.MonitorIpv6);
  if (monitorIpv6 instanceof Error) return fail(`MONITOR-IPV6 ${monitorIpv6.message}`);
  if (monitorIpv4 === undefined && monitorIpv6 === undefined) return fail('no monitor server IP (0x8e/0x03 or 0x8e/0x10-0x12)');
  const extraHostIpv6 = readIpv6(parts, MonitorSubtype.HostIpv6);
  if (extraHostIpv6 instanceof Error) return fail(`HOST-IPV6 ${extraHostIpv6.message}`);

  const host: { mac: string; ipv4?: string; ipv6?: string } = { mac: hostMac };
  if (route.ip !== undefined) {
    if (isIPv4(route.ip)) host.ipv4 = route.ip;
    else host.ipv6 = route.ip;
  }
  if (extraHostIpv6 !== undefined) {
    if (host.ipv4 === undefined) return fail('HOST-IPV6 communities on a route without a host IPv4');
    host.ipv6 = extraHostIpv6;
  }
  const monitor: { mac: string; ipv4?: string; ipv6?: string; hostId: number; vni: number } = { mac: monitorMac, hostId, vni: monitorVni };
  if (monitorIpv4 !== undefined) monitor.ipv4 = monitorIpv4;
  if (monitorIpv6 !== undefined) monitor.ipv6 = monitorIpv6;
  return {
    ok: true,
    session: { id: route.rd, name: route.rd, origin: 'remote', vni: route.label1, host, monitor, direction, enabled: true },
  };
}

function readIpv6(parts: Map<number, string>, first: number): string | undefined | Error {
  const a = parts.get(first);
  const b = parts.get(first + 1);
  const c = parts.get(first + 2);
  if (a === undefined && b === undefined && c === undefined) return undefined;
  if (a === undefined || b === undefined || c === undefined) return new Error('address is incomplete (needs all three fragments)');
  if (!c.startsWith('0000')) return new Error('reserved octets are not zero');
  return ipv6ToString(Buffer.from(a + b + c.slice(4), 'hex'));
}
