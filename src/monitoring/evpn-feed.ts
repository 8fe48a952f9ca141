// What the monitoring core takes from BGP: the speaker's Loc-RIB best-path changes, split
// into the two things EVPN Type-2 routes mean here.
//  - A route carrying the monitoring route target is another agent's monitoring session: it
//    is decoded into a session (or logged and ignored when malformed: nothing installed).
//  - Any other Type-2 is a tenant MAC behind a VTEP: (VNI = label 1, RFC 8365 section 5.1.3;
//    MAC; VTEP = next hop; MAC Mobility) goes to the MAC location table.
// Route identity is the RIB key (RD + Ethernet Tag + MAC + IP), since FRR's withdraws carry
// zeroed labels: what a key meant is remembered here so its withdraw undoes exactly that.
import { BestChange, LOCAL_SOURCE_ADDRESS, mobilityOf } from '../bgp/rib';
import { EvpnRouteType } from '../bgp/packet/constants';
import { EvpnRoute } from '../bgp/packet/evpn';
import { Logger, silentLogger } from '../util/log';
import { MacTable } from './mac-table';
import { MonitoringRouteTarget, decodeMonitorRoute, hasRouteTarget } from './monitor-route';
import { MonitoringSession, VNI_MAX } from './session';

export interface SessionSink {
  upsertSession(s: MonitoringSession): void;
  removeSession(id: string): void;
}

export interface EvpnFeedCounters {
  monitorRoutes: number;
  malformedMonitorRoutes: number;
  macRoutes: number;
  ignoredRoutes: number;
}

export class EvpnFeed {
  private readonly log: Logger;
  /** Route key -> the (vni, mac) it was given to the MAC table as. */
  private readonly macKeys = new Map<string, { vni: number; mac: string }>();
  /** Route key -> session id (RD) for monitor routes that decoded. */
  private readonly sessionKeys = new Map<string, string>();
  /** Session id -> the route key that currently defines it. */
  private readonly sessionRoute = new Map<string, string>();
  /** Route keys reported malformed, so a repeated advertisement is not logged again. */
  private readonly malformed = new Map<string, string>();
  readonly counters: EvpnFeedCounters = { monitorRoutes: 0, malformedMonitorRoutes: 0, macRoutes: 0, ignoredRoutes: 0 };

  constructor(
    private rt: MonitoringRouteTarget,
    private readonly macs: MacTable,
    private readonly sessions: SessionSink,
    logger: Logger = silentLogger,
  ) {
    this.log = logger;
  }

  /**
   * Routes already in the RIB were sorted by the old target: the caller re-feeds the
   * Loc-RIB after this (the agent replays its Type-2 best paths).
   */
  setRouteTarget(rt: MonitoringRouteTarget): void {
    this.rt = rt;
  }

  /** Malformed monitor routes now in the RIB: route key -> reason. */
  malformedRoutes(): ReadonlyMap<string, string> {
    return this.malformed;
  }

  handle(changes: readonly BestChange[]): void {
    for (const c of changes) {
      if (c.family !== 'l2vpn-evpn') continue;
      const route = c.route as EvpnRoute;
      if (route.type !== EvpnRouteType.MacIpAdvertisement) continue;
      // Our own routes (monitor routes of local sessions, local MACs in standalone mode) are
      // not news from the fabric: a key whose best path is local means nothing here.
      if (!c.best || c.best.source.address === LOCAL_SOURCE_ADDRESS) {
        this.forget(c.key);
        continue;
      }
      const attrs = c.best.attrSet.attrs;
      if (hasRouteTarget(attrs.extCommunities, this.rt)) this.monitorRoute(c.key, c.best.route as EvpnRoute, attrs.extCommunities);
      else this.macRoute(c.key, c.best.route as EvpnRoute, c.best.attrSet.nextHop, attrs);
    }
  }

  private forget(key: string): void {
    this.dropMac(key);
    this.dropSession(key);
    this.malformed.delete(key);
  }

  private dropMac(key: string): void {
    const m = this.macKeys.get(key);
    if (!m) return;
    this.macKeys.delete(key);
    this.macs.remoteWithdraw(m.vni, m.mac, key);
  }

  private dropSession(key: string): void {
    const id = this.sessionKeys.get(key);
    if (id === undefined) return;
    this.sessionKeys.delete(key);
    // A newer route may already define the session (an update that changed the host MAC
    // arrives as a new key before the old key's withdraw).
    if (this.sessionRoute.get(id) === key) {
      this.sessionRoute.delete(id);
      this.sessions.removeSession(id);
    }
  }

  private monitorRoute(key: string, route: EvpnRoute, ext: Parameters<typeof decodeMonitorRoute>[1]): void {
    this.dropMac(key);
    const d = decodeMonitorRoute(route, ext);
    if (!d.ok) {
      this.counters.malformedMonitorRoutes++;
      this.dropSession(key);
      if (this.malformed.get(key) !== d.reason) this.log.warn('ignoring malformed monitor route', { route: key, reason: d.reason });
      this.malformed.set(key, d.reason);
      return;
    }
    this.malformed.delete(key);
    this.counters.monitorRoutes++;
    const id = d.session.id;
    const prevKey = this.sessionRoute.get(id);
    if (prevKey !== undefined && prevKey !== key) this.sessionKeys.delete(prevKey);
    this.sessionKeys.set(key, id);
    this.sessionRoute.set(id, key);
    this.sessions.upsertSession(d.session);
  }

  private macRoute(key: string, route: EvpnRoute, nextHop: string, attrs: Parameters<typeof mobilityOf>[0]): void {
    this.dropSession(key);
    if (route.type !== EvpnRouteType.MacIpAdvertisement) return;
    const vni = route.label1;
    if (vni < 1 || vni > VNI_MAX) {
      this.counters.ignoredRoutes++;
      this.dropMac(key);
      return;
    }
    const prev = this.macKeys.get(key);
    if (prev && (prev.vni !== vni || prev.mac !== route.mac)) this.dropMac(key);
    this.macKeys.set(key, { vni, mac: route.mac });
    this.counters.macRoutes++;
    const mm = mobilityOf(attrs);
    this.macs.remoteUpdate(vni, route.mac, key, { vtep: nextHop, sequence: mm.sequence, sticky: mm.sticky });
  }
}
