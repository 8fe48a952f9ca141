// One evpn-mirror agent: the parts wired in one direction (docs: shared architecture).
//
//   NETCONF commit --> MonitoringCore.applyConfig --> monitor routes --> BgpSpeaker
//   BgpSpeaker best-changes --> MonitoringCore (remote sessions, MAC locations)
//   FdbWatcher (bridge FDB) --> MAC locations
//   MonitoringCore entries --> Reconciler --> switch driver (nftables + VXLAN-GBP)
//
// Two MAC modes: alongside FRR (FRR advertises the tenant MACs; we only read them) and
// standalone (we advertise our local MACs as Type-2 routes with MAC Mobility sequence
// numbers, RFC 7432 section 15). State (roles, locations, entries, counters, peers) is read
// over NETCONF <get>; metrics over HTTP.
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { BgpSpeaker } from '../bgp/speaker';
import { EvpnMacIp } from '../bgp/packet/evpn';
import { ExtCommunity, TUNNEL_TYPE_VXLAN } from '../bgp/packet/extcommunity';
import { ESI_ZERO } from '../bgp/packet/rd';
import { BestChange } from '../bgp/rib';
import { MirrorDriver } from '../dataplane/driver';
import { MemoryDriver } from '../dataplane/memory';
import { LinuxMirrorDriver } from '../dataplane/linux/driver';
import { FdbWatcher, applyFdbEvent } from '../dataplane/linux/fdb-watch';
import { hostRunner } from '../dataplane/linux/runner';
import { MonitoringCore } from '../monitoring/core';
import { MacLocation, entryActionText, entryMatchText } from '../monitoring/entries';
import { MacMove } from '../monitoring/mac-table';
import { MonitoringRouteTarget, routeTargetText } from '../monitoring/monitor-route';
import { Reconciler } from '../monitoring/reconcile';
import { writeFileAtomic } from '../netconf/datastore';
import { AgentState, Location, StateList } from '../netconf/server';
import { NetconfService } from '../netconf/service';
import { NorthboundConfig } from '../netconf/validate';
import { Logger, silentLogger } from '../util/log';
import { AgentConfig, restartNeeded } from './config';
import { AgentMetrics } from './metrics';

export interface AgentOptions {
  logger?: Logger;
  /** Replaces the configured driver (tests). */
  driver?: MirrorDriver;
}

function location(l: MacLocation | undefined): Location {
  if (!l) return { kind: 'unknown' };
  return l.kind === 'local' ? { kind: 'local', port: l.port } : { kind: 'remote', vtep: l.vtep };
}

export class Agent {
  readonly core: MonitoringCore;
  readonly speaker: BgpSpeaker;
  readonly netconf: NetconfService;
  readonly driver: MirrorDriver;
  readonly reconciler: Reconciler;
  readonly metrics: AgentMetrics;
  private fdb: FdbWatcher | undefined;
  private readonly log: Logger;
  private config: AgentConfig;
  private routeTarget: MonitoringRouteTarget;
  private readonly rdFile: string;
  /** Standalone mode: route keys of the Type-2 routes we advertise for local MACs. */
  private readonly localRoutes = new Map<string, string>();
  private stopped = false;
  /** False until the start-up resync: until then entries from a previous run stay untouched. */
  private dataplaneReady = false;

  constructor(config: AgentConfig, opts: AgentOptions = {}) {
    this.config = config;
    this.log = opts.logger ?? silentLogger;
    mkdirSync(config.stateDir, { recursive: true });
    this.rdFile = join(config.stateDir, 'session-rd.json');
    this.routeTarget = config.monitoring.routeTarget;
    this.metrics = new AgentMetrics();
    this.core = new MonitoringCore({
      vtep: { vtepIp: config.vtepIp, mirrorVni: config.monitoring.mirrorVni },
      routerId: config.routerId,
      routeTarget: this.routeTarget,
      duplicateDetection: config.monitoring.duplicateDetection,
      rdIndexes: this.readRdIndexes(),
      logger: this.log.child({ component: 'monitoring' }),
    });
    this.speaker = new BgpSpeaker(config.bgp, { logger: this.log });
    this.driver =
      opts.driver ??
      (config.dataplane.driver === 'memory'
        ? new MemoryDriver()
        : new LinuxMirrorDriver({
            runner: hostRunner(),
            vtepIp: config.vtepIp,
            mirrorVni: config.monitoring.mirrorVni,
            mirrorPort: config.dataplane.mirrorPort,
            bridges: config.dataplane.bridges,
            healIntervalMs: config.dataplane.healIntervalMs,
            logger: this.log.child({ component: 'dataplane' }),
          }));
    this.reconciler = new Reconciler(this.driver, () => this.core.engine.desired(), { logger: this.log.child({ component: 'reconciler' }) });
    this.netconf = new NetconfService({
      stateDir: join(config.stateDir, 'netconf'),
      host: config.netconf.address,
      port: config.netconf.port,
      users: config.netconf.users,
      logger: this.log.child({ component: 'netconf' }),
      state: (want) => this.state(want),
    });
  }

  private readRdIndexes(): Record<string, number> {
    if (!existsSync(this.rdFile)) return {};
    try {
      return JSON.parse(readFileSync(this.rdFile, 'utf8')) as Record<string, number>;
    } catch (err) {
      this.log.warn('session RD file unreadable: sessions get new RDs', { file: this.rdFile, error: (err as Error).message });
      return {};
    }
  }

  private saveRdIndexes(): void {
    writeFileAtomic(this.rdFile, `${JSON.stringify(this.core.rdIndexes())}\n`);
  }

  async start(): Promise<{ netconfPort: number; metricsPort?: number }> {
    const c = this.config;
    // 1. What was committed before: applied before anything is advertised or installed.
    const startup = this.netconf.load();
    this.applyNorthbound(startup, 'startup');
    // 2. The data plane: its own checks (devices, table); the entries a previous run left stay
    //    in place for now: they are probably right, and they are what the F bit we advertise
    //    promises (RFC 4724 section 3). They are reconciled once we know where MACs are (5).
    if (this.driver instanceof LinuxMirrorDriver) await this.driver.start();
    // 3. Local MACs from the bridge FDB (the dump is applied before start() returns). The move
    //    listener comes first: in standalone mode the MACs of the dump must be advertised too.
    this.core.macs.on('move', (m) => this.onMove(m));
    if (c.dataplane.driver === 'linux' && !(this.driver instanceof MemoryDriver)) {
      this.fdb = new FdbWatcher({ runner: hostRunner(), bridges: c.dataplane.bridges, logger: this.log.child({ component: 'fdb' }) });
      this.fdb.on('event', (e) => {
        applyFdbEvent(this.core.macs, e);
        // Same port, static flag changed: no move, but the route's sticky bit changes.
        if (c.monitoring.macMode === 'standalone' && e.from?.kind === 'local' && e.to?.kind === 'local' && e.from.port === e.to.port) {
          const at = this.core.macs.locate(e.vni, e.mac);
          if (at?.kind === 'local') this.advertiseLocalMac({ vni: e.vni, mac: e.mac, from: at, to: at });
        }
        this.sync();
      });
      this.fdb.on('error', (err) => this.log.error('FDB watcher failed', { error: err.message }));
      await this.fdb.start();
    }
    // 4. BGP: monitor routes out, Type-2 routes in.
    this.core.setPublisher(this.speaker);
    this.speaker.on('best-changes', (changes) => this.onBgp(changes));
    this.speaker.on('peer-state', (e) => this.log.info('BGP peer state', { peer: e.address, from: e.from, to: e.to, reason: e.reason }));
    const initialRib = this.waitInitialRib(c.dataplane.startupHoldSeconds * 1000);
    await this.speaker.start();
    // 5. NETCONF (operators can connect while the agent converges), metrics.
    this.netconf.server.on('commit', (nb, reason) => {
      this.applyNorthbound(nb, reason);
    });
    const { port } = await this.netconf.start();
    const out: { netconfPort: number; metricsPort?: number } = { netconfPort: port };
    if (c.metrics) out.metricsPort = await this.metrics.listen(c.metrics.address, c.metrics.port, () => this.metricsSnapshot());
    // 6. End-of-RIB from every neighbor (RFC 4724 section 2), or the hold time: now the data
    //    plane is brought in line, in one resync against what the kernel holds.
    await initialRib;
    this.dataplaneReady = true;
    this.core.takeChanges();
    await this.reconciler.resync();
    this.log.info('agent started', { routerId: c.routerId, vtep: c.vtepIp, netconfPort: port, macMode: c.monitoring.macMode, entries: this.reconciler.installed().size });
    return out;
  }

  /** Resolves when every neighbor has sent End-of-RIB for L2VPN EVPN, or after `ms`. */
  private waitInitialRib(ms: number): Promise<void> {
    const pending = new Set(this.config.bgp.neighbors.map((n) => n.address));
    return new Promise((resolve) => {
      if (pending.size === 0 || ms === 0) return resolve();
      const onEor = (e: { address: string; family: string }) => {
        if (e.family !== 'l2vpn-evpn') return;
        pending.delete(e.address);
        if (pending.size === 0) finish();
      };
      const timer = setTimeout(() => {
        this.log.warn('no End-of-RIB from some neighbors: reconciling the data plane with what is known', { neighbors: [...pending], waitedMs: ms });
        finish();
      }, ms);
      const finish = () => {
        clearTimeout(timer);
        this.speaker.off('end-of-rib', onEor);
        resolve();
      };
      this.speaker.on('end-of-rib', onEor);
    });
  }

  /** Graceful: leave the data plane entries in place and ask BGP peers to keep our routes. */
  async stop(opts: { graceful?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const graceful = opts.graceful ?? false;
    this.log.info('agent stopping', { graceful });
    await this.netconf.stop().catch((e) => this.log.warn('NETCONF stop failed', { error: String(e) }));
    this.fdb?.stop();
    await this.speaker.stop({ graceful }).catch((e) => this.log.warn('BGP stop failed', { error: String(e) }));
    if (this.dataplaneReady) await this.reconciler.idle();
    this.reconciler.close();
    if (this.driver instanceof LinuxMirrorDriver) await this.driver.close({ keep: graceful });
    this.core.close();
    await this.metrics.close();
  }

  /** SIGHUP: what can change at run time does; the rest is reported as needing a restart. */
  reload(next: AgentConfig, setLogLevel?: (level: string) => void): string[] {
    const needRestart = restartNeeded(this.config, next);
    if (setLogLevel && next.log.level !== this.config.log.level) setLogLevel(next.log.level);
    this.netconf.ssh.setUsers(next.netconf.users);
    const before = new Map(this.config.bgp.neighbors.map((n) => [n.address, JSON.stringify(n)]));
    const after = new Map(next.bgp.neighbors.map((n) => [n.address, n]));
    for (const [addr, text] of before) {
      const n = after.get(addr);
      if (!n || JSON.stringify(n) !== text) this.speaker.removeNeighbor(addr);
    }
    for (const [addr, n] of after) if (!before.has(addr) || before.get(addr) !== JSON.stringify(n)) this.speaker.addNeighbor(n);
    this.config = { ...next, routerId: this.config.routerId, asn: this.config.asn, vtepIp: this.config.vtepIp };
    if (needRestart.length) this.log.warn('configuration reloaded; these changes need a restart', { keys: needRestart });
    else this.log.info('configuration reloaded');
    return needRestart;
  }

  /** Brings the data plane in line with what changed (asynchronously, in order). */
  private sync(): void {
    if (!this.dataplaneReady) return; // the start-up resync takes everything at once
    const changes = this.core.takeChanges();
    if (changes.size === 0) return;
    void this.reconciler.update(changes).then(() => this.metrics.entriesApplied(changes.size));
  }

  private applyNorthbound(nb: NorthboundConfig, reason: string): void {
    const rt = nb.routeTarget ?? this.config.monitoring.routeTarget;
    if (routeTargetText(rt) !== routeTargetText(this.routeTarget)) {
      this.routeTarget = rt;
      this.core.setRouteTarget(rt);
      // Routes already in the RIB were sorted by the old target: feed them again.
      const replay: BestChange[] = [];
      for (const p of this.speaker.locRib.bestPaths('l2vpn-evpn')) replay.push({ key: p.key, family: p.family, route: p.route, best: p, previous: undefined });
      this.core.handleBgp(replay);
    }
    try {
      this.core.applyConfig(nb.monitoring);
      this.saveRdIndexes();
      this.log.info('monitoring configuration applied', { reason, sessions: nb.monitoring.sessions.length });
    } catch (err) {
      // The northbound validated it with the same rules; this is a bug or a resource limit.
      this.log.error('committed configuration could not be applied', { reason, error: (err as Error).message });
    }
    this.sync();
  }

  private onBgp(changes: BestChange[]): void {
    const t0 = process.hrtime.bigint();
    this.core.handleBgp(changes);
    this.metrics.bgpChanges(changes.length);
    this.sync();
    this.metrics.observeDecision(Number(process.hrtime.bigint() - t0) / 1e9);
  }

  private onMove(m: MacMove): void {
    this.metrics.macMoved();
    if (this.config.monitoring.macMode === 'standalone') this.advertiseLocalMac(m);
    this.sync();
  }

  /** Standalone mode: our local MACs as RFC 7432 Type-2 routes with MAC Mobility (section 7.7). */
  private advertiseLocalMac(m: MacMove): void {
    const key = `${m.vni}|${m.mac}`;
    const old = this.localRoutes.get(key);
    if (m.to?.kind !== 'local') {
      if (old !== undefined) {
        this.speaker.withdraw(old);
        this.localRoutes.delete(key);
      }
      return;
    }
    const vnis = Object.keys(this.config.dataplane.bridges).map(Number).sort((a, b) => a - b);
    const route: EvpnMacIp = {
      type: 2,
      // FRR's auto RD: <VTEP IP>:<VNI index> (the index fits 16 bits; the VNI may not).
      rd: `${this.config.vtepIp}:${vnis.indexOf(m.vni) + 1}`,
      esi: ESI_ZERO,
      ethernetTag: 0,
      mac: m.mac,
      label1: m.vni,
    };
    const st = this.core.macs.status(m.vni, m.mac);
    const ext: ExtCommunity[] = [
      { kind: 'route-target', format: 'as2', asn: this.config.asn & 0xffff, local: m.vni },
      { kind: 'encapsulation', tunnelType: TUNNEL_TYPE_VXLAN },
    ];
    const seq = this.core.macs.localSequence(m.vni, m.mac) ?? 0;
    if (seq > 0 || st?.sticky) ext.push({ kind: 'mac-mobility', sequence: seq, sticky: st?.sticky ?? false });
    this.localRoutes.set(key, this.speaker.originate(route, { extCommunities: ext, nextHop: this.config.vtepIp }));
  }

  private async state(want: ReadonlySet<StateList> = new Set(['session', 'entry', 'mac', 'bgp-peer'])): Promise<AgentState> {
    const e = this.core.engine;
    // Counters cost an nft listing, MACs can be a hundred thousand: only what was asked for.
    const counters = want.has('entry') ? await this.driver.counters().catch(() => new Map<string, { packets: number; bytes: number }>()) : new Map();
    const st: AgentState = {
      sessions: [...(want.has('session') ? e.allSessions() : [])].map((s) => {
        const status = e.status(s.id)!;
        return {
          id: s.id,
          name: s.name,
          origin: s.origin,
          vni: s.vni,
          hostMac: s.host.mac,
          hostId: s.monitor.hostId,
          direction: s.direction,
          status: status.state,
          roles: status.entries,
          hostLocation: location(status.hostAt),
          monitorLocation: location(status.monitorAt),
        };
      }),
      entries: [...(want.has('entry') ? this.reconciler.installed().values() : [])].map((x) => {
        const c = counters.get(x.id);
        const out: AgentState['entries'][number] = {
          id: x.id,
          kind: x.kind,
          sessions: x.kind === 'third' ? x.sessions : [x.session],
          match: entryMatchText(x),
          action: entryActionText(x),
        };
        if (c) {
          out.packets = c.packets;
          out.bytes = c.bytes;
        }
        return out;
      }),
      bgpPeers: (want.has('bgp-peer') ? this.speaker.neighborStatus() : []).map((p) => ({ address: p.address, state: p.state, prefixesReceived: p.prefixesReceived })),
      macs: [...(want.has('mac') ? this.core.macs.all() : [])].map((m) => ({ vni: m.vni, mac: m.mac, location: location(m.location), sequence: m.sequence, sticky: m.sticky, duplicate: m.duplicate })),
    };
    return st;
  }

  private metricsSnapshot(): Parameters<AgentMetrics['update']>[0] {
    const e = this.core.engine;
    const sessions = { local: 0, remote: 0 };
    for (const s of e.allSessions()) sessions[s.origin]++;
    const entries = { first: 0, second: 0, third: 0 };
    for (const x of this.reconciler.installed().values()) entries[x.kind]++;
    const peers: Record<string, number> = {};
    for (const p of this.speaker.neighborStatus()) peers[p.state] = (peers[p.state] ?? 0) + 1;
    const rs = this.reconciler.status();
    return {
      sessions,
      entries,
      peers,
      bgp: this.speaker.counters(),
      netconfSessions: this.netconf.server.sessionCount,
      driverFailures: rs.failures,
      driverHealthy: this.driver.health().ok,
      duplicates: this.core.macs.duplicates().length,
      macs: this.core.macs.size,
    };
  }
}
