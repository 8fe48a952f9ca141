// The monitoring core of one agent, wired: local configuration and BGP in, desired entries
// out. It owns the MAC location table, the entry engine and the EVPN feed, and advertises
// the local sessions' monitor routes through a publisher (the BGP speaker).
//
//   applyConfig()  --> local sessions --> engine           (and monitor routes --> BGP)
//   BGP changes    --> EvpnFeed --> remote sessions --> engine
//                               --> MAC table --(moves)--> engine
//   FDB events     --> MAC table --(moves)--> engine
//   engine.takeChanges() / desired() --> Reconciler --> driver
import { EvpnMacIp } from '../bgp/packet/evpn';
import { ExtCommunity } from '../bgp/packet/extcommunity';
import { BestChange } from '../bgp/rib';
import { Clock } from '../util/clock';
import { Logger, silentLogger } from '../util/log';
import { VtepContext } from './entries';
import { EntryChanges, EntryEngine } from './engine';
import { EvpnFeed } from './evpn-feed';
import { DuplicateDetectionConfig, MacTable } from './mac-table';
import { MonitoringRouteTarget, encodeMonitorRoute } from './monitor-route';
import { MonitoringConfig, MonitoringSession, SessionRdAllocator, resolveMonitoringConfig, sameSession } from './session';

/** What the core needs from a BGP speaker to advertise monitor routes. */
export interface RoutePublisher {
  /** Advertises (or re-advertises) a route; returns its RIB key. */
  originate(route: EvpnMacIp, opts: { extCommunities: ExtCommunity[] }): string;
  withdraw(key: string): void;
}

export interface MonitoringCoreOptions {
  vtep: VtepContext;
  routerId: string;
  routeTarget: MonitoringRouteTarget;
  publisher?: RoutePublisher;
  duplicateDetection?: Partial<DuplicateDetectionConfig>;
  /** Session name -> RD index, as persisted by the agent (see rdIndexes()). */
  rdIndexes?: Record<string, number>;
  clock?: Clock;
  logger?: Logger;
}

export class MonitoringCore {
  readonly macs: MacTable;
  readonly engine: EntryEngine;
  readonly feed: EvpnFeed;
  private readonly rds: SessionRdAllocator;
  private readonly log: Logger;
  private routeTarget: MonitoringRouteTarget;
  private publisher: RoutePublisher | undefined;
  /** Local sessions by id, and the key of the monitor route each one has out. */
  private readonly local = new Map<string, MonitoringSession>();
  private readonly advertised = new Map<string, string>();

  constructor(opts: MonitoringCoreOptions) {
    this.log = opts.logger ?? silentLogger;
    this.routeTarget = opts.routeTarget;
    this.publisher = opts.publisher;
    const macOpts: ConstructorParameters<typeof MacTable>[0] = { selfVtep: opts.vtep.vtepIp, logger: this.log };
    if (opts.duplicateDetection) macOpts.duplicateDetection = opts.duplicateDetection;
    if (opts.clock) macOpts.clock = opts.clock;
    this.macs = new MacTable(macOpts);
    this.engine = new EntryEngine(opts.vtep, this.macs.locate);
    this.macs.on('move', (m) => this.engine.macMoved(m.vni, m.mac));
    this.rds = new SessionRdAllocator(opts.routerId, opts.rdIndexes);
    this.feed = new EvpnFeed(this.routeTarget, this.macs, this.remoteSink, this.log);
  }

  /** Sessions learned from other agents must not shadow local ones (same RD = same agent). */
  private readonly remoteSink = {
    upsertSession: (s: MonitoringSession) => {
      if (this.local.has(s.id)) {
        this.log.warn('ignoring a remote monitor route with the RD of a local session (another agent with our router id?)', { session: s.id });
        return;
      }
      this.engine.upsertSession(s);
    },
    removeSession: (id: string) => {
      if (!this.local.has(id)) this.engine.removeSession(id);
    },
  };

  /** The RD index of every local session, for the agent to persist. */
  rdIndexes(): Record<string, number> {
    return this.rds.snapshot();
  }

  localSessions(): MonitoringSession[] {
    return [...this.local.values()];
  }

  /**
   * Validates a whole configuration and makes it the local one: sessions are added,
   * changed or removed, and their monitor routes advertised or withdrawn. Throws
   * SessionConfigError (and changes nothing) when anything in it is invalid.
   */
  applyConfig(config: MonitoringConfig): void {
    // Allocate RDs on a copy first, so a rejected config leaves no trace.
    const trial = new SessionRdAllocator(this.rds.routerId, this.rds.snapshot());
    const sessions = resolveMonitoringConfig(config, { sessionId: (n) => trial.rd(n) });
    trial.retain(sessions.map((s) => s.name));
    for (const s of sessions) this.rds.rd(s.name);
    const next = new Map(sessions.map((s) => [s.id, s]));
    this.engine.batch(() => {
      for (const [id] of this.local) if (!next.has(id)) this.removeLocal(id);
      for (const s of sessions) {
        const cur = this.local.get(s.id);
        if (cur && sameSession(cur, s)) continue;
        this.local.set(s.id, s);
        this.engine.upsertSession(s);
        this.advertise(s);
      }
    });
    this.rds.retain(sessions.map((s) => s.name));
  }

  /** Changes the monitoring route target: every local monitor route is re-advertised. */
  setRouteTarget(rt: MonitoringRouteTarget): void {
    this.routeTarget = rt;
    this.feed.setRouteTarget(rt);
    for (const s of this.local.values()) this.advertise(s);
  }

  /** Connects (or replaces) the publisher and advertises every local session through it. */
  setPublisher(p: RoutePublisher | undefined): void {
    this.publisher = p;
    this.advertised.clear();
    for (const s of this.local.values()) this.advertise(s);
  }

  handleBgp(changes: readonly BestChange[]): void {
    this.engine.batch(() => this.feed.handle(changes));
  }

  takeChanges(): EntryChanges {
    return this.engine.takeChanges();
  }

  close(): void {
    this.macs.close();
  }

  private removeLocal(id: string): void {
    this.local.delete(id);
    this.engine.removeSession(id);
    const key = this.advertised.get(id);
    if (key !== undefined) {
      this.advertised.delete(id);
      this.publisher?.withdraw(key);
    }
  }

  /** Make-before-break: the new route goes out before a changed key is withdrawn. */
  private advertise(s: MonitoringSession): void {
    if (!this.publisher) return;
    const old = this.advertised.get(s.id);
    if (!s.enabled) {
      if (old !== undefined) this.publisher.withdraw(old);
      this.advertised.delete(s.id);
      return;
    }
    const r = encodeMonitorRoute(s, this.routeTarget);
    const key = this.publisher.originate(r.route, { extCommunities: r.extCommunities });
    this.advertised.set(s.id, key);
    if (old !== undefined && old !== key) this.publisher.withdraw(old);
  }
}
