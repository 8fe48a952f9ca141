// An in-memory EVPN fabric for unit and property tests of the monitoring core: one
// MonitoringCore per VTEP, hosts on access ports, and BGP reduced to what the cores see of
// it — Type-2 best-path changes with MAC Mobility sequence numbers, delivered to every
// other VTEP in the order a route reflector would (advertise the new location, then the
// old VTEP gives the MAC up and withdraws). Monitor routes travel as the real encoded
// route and communities, through EvpnFeed.
//
// walkFrame() is the data plane reduced to the three entry kinds: a frame entering an
// access port is matched against that VTEP's 1st/2nd entries, each copy is delivered
// locally or tunnelled to a VTEP whose 3rd entries deliver it by HOST-ID.
import { EvpnMacIp, evpnRouteKey } from '../../src/bgp/packet/evpn';
import { ExtCommunity } from '../../src/bgp/packet/extcommunity';
import { BestChange, Path, PathSource } from '../../src/bgp/rib';
import { ManualClock } from '../../src/util/clock';
import { AccessEntry, MirrorEntry } from '../../src/monitoring/entries';
import { MonitoringCore } from '../../src/monitoring/core';
import { MonitoringRouteTarget, defaultMonitoringRouteTarget } from '../../src/monitoring/monitor-route';
import { Direction, MonitorServerConfig, MonitoringConfig, SessionConfig } from '../../src/monitoring/session';
import { RecordingLogger } from '../../src/util/log';

export const MIRROR_VNI = 16_000_000;

export interface SimHost {
  name: string;
  mac: string;
  ipv4: string;
  vni: number;
  vtep: string;
  port: string;
}

export interface Frame {
  src: SimHost;
  dst: SimHost;
}

export interface Copy {
  session: string;
  vtep: string;
  port: string;
}

function source(address: string): PathSource {
  return { address, routerId: address, ibgp: true };
}

export class SimFabric {
  readonly clock = new ManualClock();
  readonly cores = new Map<string, MonitoringCore>();
  readonly hosts = new Map<string, SimHost>();
  readonly logs = new Map<string, RecordingLogger>();
  readonly rt: MonitoringRouteTarget = defaultMonitoringRouteTarget(65000);
  /** Per agent: its local monitoring configuration. */
  readonly configs = new Map<string, MonitoringConfig>();
  /** The MAC Mobility sequence each host was last advertised with. */
  private readonly seq = new Map<string, number>();

  constructor(readonly vteps: string[]) {
    for (const vtep of vteps) {
      const logger = new RecordingLogger();
      this.logs.set(vtep, logger);
      const core = new MonitoringCore({
        vtep: { vtepIp: vtep, mirrorVni: MIRROR_VNI },
        routerId: vtep,
        routeTarget: this.rt,
        clock: this.clock,
        logger,
      });
      core.setPublisher({
        originate: (route: EvpnMacIp, opts: { extCommunities: ExtCommunity[] }) => {
          const key = evpnRouteKey(route);
          this.deliver(vtep, { key, route, nextHop: vtep, ext: opts.extCommunities });
          return key;
        },
        withdraw: (key: string) => this.deliverWithdraw(vtep, key),
      });
      this.cores.set(vtep, core);
      this.configs.set(vtep, { monitorServers: [], sessions: [] });
    }
  }

  core(vtep: string): MonitoringCore {
    return this.cores.get(vtep)!;
  }

  /** Which route key a host's Type-2 from `vtep` has (RD = VTEP:VNI as FRR's auto RD). */
  static macRouteKey(h: { mac: string; vni: number }, vtep: string): string {
    return evpnRouteKey(SimFabric.macRoute(h, vtep));
  }

  private static macRoute(h: { mac: string; vni: number }, vtep: string): EvpnMacIp {
    return { type: 2, rd: `${vtep}:${h.vni}`, esi: '00:00:00:00:00:00:00:00:00:00', ethernetTag: 0, mac: h.mac, label1: h.vni };
  }

  private path(key: string, route: EvpnMacIp, nextHop: string, ext: ExtCommunity[]): Path {
    return { key, family: 'l2vpn-evpn', route, attrSet: { attrs: { extCommunities: ext }, nextHop }, source: source(nextHop), stale: false };
  }

  private deliver(from: string, r: { key: string; route: EvpnMacIp; nextHop: string; ext: ExtCommunity[] }): void {
    const best = this.path(r.key, r.route, r.nextHop, r.ext);
    for (const [vtep, core] of this.cores) {
      if (vtep === from) continue;
      const change: BestChange = { key: r.key, family: 'l2vpn-evpn', route: r.route, best, previous: undefined };
      core.handleBgp([change]);
    }
  }

  private deliverWithdraw(from: string, key: string): void {
    for (const [vtep, core] of this.cores) {
      if (vtep === from) continue;
      // FRR's withdraws zero ESI and labels: the feed must find the route by key alone.
      const route = { type: 2, rd: 'rd-raw:0000000000000000', esi: '00:00:00:00:00:00:00:00:00:00', ethernetTag: 0, mac: '00:00:00:00:00:00', label1: 0 } as EvpnMacIp;
      core.handleBgp([{ key, family: 'l2vpn-evpn', route, best: undefined, previous: undefined }]);
    }
  }

  private advertiseMac(h: SimHost, vtep: string): void {
    const seq = this.seq.get(h.name) ?? 0;
    const ext: ExtCommunity[] = [
      { kind: 'route-target', format: 'as2', asn: 65000, local: h.vni },
      { kind: 'encapsulation', tunnelType: 8 },
    ];
    if (seq > 0) ext.push({ kind: 'mac-mobility', sequence: seq, sticky: false });
    const route = SimFabric.macRoute(h, vtep);
    this.deliver(vtep, { key: evpnRouteKey(route), route, nextHop: vtep, ext });
  }

  addHost(h: Omit<SimHost, 'ipv4'> & { ipv4?: string }): SimHost {
    const host: SimHost = { ipv4: `10.${h.vni}.${this.hosts.size >> 8}.${(this.hosts.size & 0xff) + 1}`, ...h };
    this.hosts.set(host.name, host);
    this.seq.set(host.name, 0);
    this.core(host.vtep).macs.localLearn(host.vni, host.mac, host.port);
    this.advertiseMac(host, host.vtep);
    return host;
  }

  /**
   * A host moves (RFC 7432 section 15): the new VTEP learns it and advertises sequence + 1;
   * the old VTEP sees the higher sequence, flushes its FDB entry and withdraws its route.
   */
  moveHost(name: string, vtep: string, port: string): void {
    const h = this.hosts.get(name)!;
    const old = { vtep: h.vtep, port: h.port };
    if (old.vtep === vtep) {
      h.port = port;
      this.core(vtep).macs.localLearn(h.vni, h.mac, port);
      return;
    }
    this.seq.set(name, this.seq.get(name)! + 1);
    h.vtep = vtep;
    h.port = port;
    this.core(vtep).macs.localLearn(h.vni, h.mac, port);
    this.advertiseMac(h, vtep);
    this.core(old.vtep).macs.localForget(h.vni, h.mac);
    this.deliverWithdraw(old.vtep, SimFabric.macRouteKey(h, old.vtep));
  }

  /** Replaces one agent's local configuration (throws, changing nothing, if invalid). */
  configure(vtep: string, config: MonitoringConfig): void {
    this.core(vtep).applyConfig(config);
    this.configs.set(vtep, config);
  }

  /** Convenience: a session on `vtep` monitoring host `h` with monitor host `s`. */
  static sessionConfig(name: string, h: SimHost, server: string, direction: Direction = 'both', enabled = true): SessionConfig {
    return { name, vni: h.vni, host: { mac: h.mac, ipv4: h.ipv4 }, monitorServer: server, direction, enabled };
  }

  static serverConfig(name: string, s: SimHost, hostId: number): MonitorServerConfig {
    return { name, mac: s.mac, ipv4: s.ipv4, hostId, vni: s.vni };
  }

  entries(vtep: string): ReadonlyMap<string, MirrorEntry> {
    return this.core(vtep).engine.desired();
  }
}

function matches(e: AccessEntry, mac: string, ip: string): boolean {
  return e.match.mac === mac || e.match.ipv4 === ip || e.match.ipv6 === ip;
}

/**
 * Where the copies of one frame go, given every VTEP's entries. A frame enters at its
 * sender's access port; copies made there are delivered to a local port or tunnelled, and
 * a tunnelled copy is delivered by the 3rd entry for its HOST-ID on the target VTEP (a copy
 * with no such entry is reported with port '(dropped)').
 */
export function walkFrame(frame: Frame, entriesAt: (vtep: string) => Iterable<MirrorEntry>): Copy[] {
  const copies: Copy[] = [];
  const { src, dst } = frame;
  for (const e of entriesAt(src.vtep)) {
    if (e.kind === 'third' || e.vni !== src.vni || e.match.exceptPorts.includes(src.port)) continue;
    const hit = e.match.field === 'source' ? matches(e, src.mac, src.ipv4) : matches(e, dst.mac, dst.ipv4);
    if (!hit) continue;
    const a = e.action;
    if (a.kind === 'local-port') {
      copies.push({ session: e.session, vtep: src.vtep, port: a.port });
      continue;
    }
    let delivered = false;
    for (const t of entriesAt(a.vtep))
      if (t.kind === 'third' && t.match.hostId === a.hostId && t.match.mirrorVni === a.mirrorVni) {
        copies.push({ session: e.session, vtep: a.vtep, port: t.action.port });
        delivered = true;
      }
    if (!delivered) copies.push({ session: e.session, vtep: a.vtep, port: '(dropped)' });
  }
  return copies;
}
