// The BGP speaker the agent uses: neighbors, RIBs, origination and the programmatic API.
//
//   const speaker = new BgpSpeaker({ routerId, localAs, neighbors: [...] });
//   speaker.on('best-changes', (changes) => ...);   // Loc-RIB best path changes, per UPDATE
//   speaker.on('peer-state', (e) => ...);
//   await speaker.start();
//   speaker.originate(type2Route, { extCommunities: [...] });
//   speaker.withdraw(type2Route);
//
// The speaker is an iBGP client (of FRR route reflectors) or a plain peer: it advertises only
// the routes it originates, never re-advertises learned ones.
import * as net from 'node:net';
import { Clock, Timer, systemClock } from '../util/clock';
import { TypedEmitter } from '../util/events';
import { Logger, silentLogger } from '../util/log';
import {
  FAMILIES,
  FamilyName,
  NeighborConfig,
  ResolvedSpeakerConfig,
  SpeakerConfig,
  ConfigError,
  familyName,
  resolveNeighbor,
  resolveSpeakerConfig,
} from './config';
import { LocalIdentity, Negotiated, Neighbor, NeighborStatus, SessionState } from './neighbor';
import { AttributeInterner, AttributeSet, BestChange, LOCAL_SOURCE_ADDRESS, LocRib, Path, PathSource, routeFamily, routeKey } from './rib';
import { LargeCommunity, Nlri, PathAttributes, PmsiTunnel, RawAttribute } from './packet/attributes';
import { AsPathSegmentType, Origin } from './packet/attributes';
import { Afi, CeaseSubcode, MAX_MESSAGE_LENGTH, Safi } from './packet/constants';
import { ExtCommunity } from './packet/extcommunity';
import { EvpnRoute, evpnRouteSize } from './packet/evpn';
import { UpdateMessage, encodeRouteRefresh, encodeUpdate } from './packet/message';
import { ipv4PrefixSize } from './packet/prefix';
import { isIPv4 } from 'node:net';

/** Attributes a caller may set on a route it originates. */
export interface OriginateOptions {
  extCommunities?: ExtCommunity[];
  largeCommunities?: LargeCommunity[];
  communities?: number[];
  /** Defaults to the speaker's nextHop. */
  nextHop?: string;
  localPref?: number;
  med?: number;
  pmsiTunnel?: PmsiTunnel;
  /** Extra optional attributes, sent as given. */
  unknown?: RawAttribute[];
}

export interface PeerStatus extends NeighborStatus {
  /** Paths in this neighbor's Adj-RIB-In. */
  prefixesReceived: number;
}

export interface PeerStateEvent {
  address: string;
  from: SessionState;
  to: SessionState;
  reason?: string;
}

export interface SpeakerEvents {
  /** Loc-RIB best-path changes caused by one input (an UPDATE, a session loss, a local change). */
  'best-changes': (changes: BestChange[]) => void;
  'peer-state': (e: PeerStateEvent) => void;
  /** End-of-RIB from a neighbor (RFC 4724 section 2). */
  'end-of-rib': (e: { address: string; family: FamilyName }) => void;
  /** An UPDATE was handled with RFC 7606 treat-as-withdraw or attribute discard. */
  'update-error': (e: { address: string; action: 'treat-as-withdraw' | 'attribute-discard'; reasons: string[] }) => void;
}

interface LocalRoute {
  route: Nlri;
  family: FamilyName;
  attrSet: AttributeSet;
}

interface GracefulRestartState {
  /** Families whose stale paths wait for End-of-RIB. */
  pending: Set<FamilyName>;
  restartTimer: Timer;
  staleTimer: Timer;
}

export interface SpeakerOptions {
  clock?: Clock;
  logger?: Logger;
  /** How outgoing connections are made (tests inject failures). */
  dial?: (opts: net.NetConnectOpts) => net.Socket;
}

export class BgpSpeaker extends TypedEmitter<SpeakerEvents> {
  readonly config: ResolvedSpeakerConfig;
  readonly locRib = new LocRib();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly dial: ((opts: net.NetConnectOpts) => net.Socket) | undefined;
  private readonly neighbors = new Map<string, Neighbor>();
  private readonly sources = new Map<string, PathSource>();
  /** What was last sent to each neighbor, by route key. */
  private readonly adjOut = new Map<string, Map<string, LocalRoute>>();
  private readonly grState = new Map<string, GracefulRestartState>();
  private readonly localRoutes = new Map<string, LocalRoute>();
  private readonly localSource: PathSource;
  private readonly interner = new AttributeInterner();
  private readonly outAttrCache = new WeakMap<AttributeSet, { ibgp?: PathAttributes; ebgp?: PathAttributes }>();
  private dirty = new Set<string>();
  private flushScheduled = false;
  private server: net.Server | undefined;
  private running = false;
  private warnedFamilies = new Set<string>();
  private stats = { updatesIn: 0, updatesOut: 0, routesIn: 0, withdrawsIn: 0 };

  constructor(config: SpeakerConfig, opts: SpeakerOptions = {}) {
    super();
    this.config = resolveSpeakerConfig(config);
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child({ component: 'bgp' });
    this.dial = opts.dial;
    this.localSource = { address: LOCAL_SOURCE_ADDRESS, routerId: this.config.routerId, ibgp: true };
    for (const n of this.config.neighbors) this.createNeighbor(n);
  }

  // ------------------------------------------------------------------ lifecycle

  /** Starts listening (when a listen address is set) and starts every neighbor. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.config.listenAddress !== undefined) {
      const server = net.createServer((socket) => this.onIncoming(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.config.listenAddress, port: this.config.listenPort }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.log.error('listener error', { error: err.message }));
      this.server = server;
      this.log.info('listening', { address: this.config.listenAddress, port: this.listenPort });
    }
    for (const n of this.neighbors.values()) n.start();
  }

  /** The port actually listened on (useful with listenPort 0). */
  get listenPort(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /**
   * Stops everything. `graceful`: close sessions without a NOTIFICATION so that peers with
   * graceful restart keep our routes while we restart (RFC 4724 section 4); otherwise send
   * Cease/Administrative Shutdown (RFC 4486) and peers withdraw our routes at once.
   */
  async stop(opts: { graceful?: boolean; communication?: string } = {}): Promise<void> {
    this.running = false;
    for (const n of this.neighbors.values()) {
      if (opts.graceful) n.abort('speaker stopped for a graceful restart');
      else n.stop(CeaseSubcode.AdministrativeShutdown, opts.communication);
    }
    for (const gr of this.grState.values()) {
      gr.restartTimer.stop();
      gr.staleTimer.stop();
    }
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ------------------------------------------------------------------ neighbors

  private createNeighbor(cfg: ReturnType<typeof resolveNeighbor>): Neighbor {
    const local: LocalIdentity = {
      routerId: this.config.routerId,
      localAs: this.config.localAs,
      gracefulRestart: {
        restartTime: this.config.gracefulRestart.restartTime,
        restarting: this.config.restarting,
        forwardingState: this.config.gracefulRestart.preserveForwarding,
      },
    };
    const n = new Neighbor(
      cfg,
      local,
      this.clock,
      this.log,
      {
        state: (nb, from, to, reason) => this.emit('peer-state', reason === undefined ? { address: nb.address, from, to } : { address: nb.address, from, to, reason }),
        established: (nb) => this.onEstablished(nb),
        update: (nb, msg) => this.onUpdate(nb, msg),
        routeRefresh: (nb, family) => this.onRouteRefresh(nb, family),
        down: (nb, reason, graceful, negotiated) => this.onDown(nb, reason, graceful, negotiated),
      },
      this.dial,
    );
    this.neighbors.set(cfg.address, n);
    return n;
  }

  addNeighbor(config: NeighborConfig): void {
    const cfg = resolveNeighbor(config, this.neighbors.size);
    if (this.neighbors.has(cfg.address)) throw new ConfigError('neighbor.address', `${cfg.address} is already configured`);
    const n = this.createNeighbor(cfg);
    if (this.running) n.start();
  }

  /** Removes a neighbor: Cease/Peer De-configured (RFC 4486), its routes are withdrawn. */
  removeNeighbor(address: string): boolean {
    const n = this.neighbors.get(address);
    if (!n) return false;
    n.stop(CeaseSubcode.PeerDeconfigured);
    this.neighbors.delete(address);
    this.clearGr(address);
    this.emitChanges(this.removeAllPaths(address));
    this.adjOut.delete(address);
    return true;
  }

  neighborStatus(): PeerStatus[] {
    return [...this.neighbors.values()].map((n) => ({ ...n.status(), prefixesReceived: this.locRib.countFrom(n.address) }));
  }

  neighbor(address: string): Neighbor | undefined {
    return this.neighbors.get(address);
  }

  /** A neighbor's Adj-RIB-In: the paths it announced (held in the Loc-RIB's entries). */
  adjRibIn(address: string): Path[] {
    return [...this.locRib.pathsFrom(address)];
  }

  /** Asks a neighbor to resend its routes of a family (RFC 2918). */
  requestRefresh(address: string, family: FamilyName = 'l2vpn-evpn'): boolean {
    const n = this.neighbors.get(address);
    if (!n?.negotiated?.routeRefresh || !n.negotiated.families.includes(family)) return false;
    const f = FAMILIES[family];
    return n.sendMessage(encodeRouteRefresh(f.afi, f.safi));
  }

  counters(): Readonly<typeof this.stats> {
    return { ...this.stats };
  }

  private onIncoming(socket: net.Socket): void {
    let remote = socket.remoteAddress ?? '';
    if (remote.startsWith('::ffff:')) remote = remote.slice(7);
    const n = this.neighbors.get(remote);
    if (!n) {
      // Not a configured neighbor: refuse the connection (RFC 4271 section 8: only
      // configured peers have an FSM).
      this.log.warn('connection from an unconfigured address refused', { remote });
      socket.destroy();
      return;
    }
    n.acceptIncoming(socket);
  }

  // ------------------------------------------------------------------ receive side

  private onEstablished(n: Neighbor): void {
    const neg = n.negotiated!;
    this.sources.set(n.address, { address: n.address, routerId: neg.remoteRouterId, ibgp: neg.ibgp });
    // Our R bit was for this first session after the restart only.
    if (n.local.gracefulRestart) n.local.gracefulRestart.restarting = false;

    const gr = this.grState.get(n.address);
    if (gr) {
      gr.restartTimer.stop();
      // RFC 4724 section 4.2: families the peer no longer preserves (no GR capability, or
      // F bit clear) lose their stale routes now; the others wait for End-of-RIB.
      const changes: BestChange[] = [];
      for (const fam of [...gr.pending]) {
        const keep = neg.gracefulRestart?.families.get(fam) === true;
        if (!keep) {
          gr.pending.delete(fam);
          changes.push(...this.sweepStale(n.address, fam));
        }
      }
      this.emitChanges(changes);
      if (gr.pending.size) gr.staleTimer.start(this.config.gracefulRestart.stalePathTime * 1000);
      else this.clearGr(n.address);
    }

    // Send our whole Adj-RIB-Out, then End-of-RIB for every family (RFC 4724 section 4.1).
    this.adjOut.set(n.address, new Map());
    this.syncNeighbor(n, this.localRoutes.keys());
    for (const fam of neg.families) this.sendEndOfRib(n, fam);
  }

  private onDown(n: Neighbor, reason: string, graceful: boolean, negotiated: Negotiated): void {
    this.adjOut.delete(n.address);
    const changes: BestChange[] = [];
    const grFamilies = graceful ? negotiated.gracefulRestart?.families : undefined;
    if (grFamilies && grFamilies.size > 0 && negotiated.gracefulRestart!.restartTime > 0) {
      // RFC 4724 section 4.2 (helper): keep the families the peer preserves, marked stale,
      // for at most its Restart Time; drop the others.
      const pending = new Set(grFamilies.keys());
      for (const p of [...this.locRib.pathsFrom(n.address)]) {
        if (pending.has(p.family)) {
          p.stale = true;
          const c = this.locRib.recompute(p.key);
          if (c) changes.push(c);
        } else {
          const c = this.locRib.remove(p.key, n.address);
          if (c) changes.push(c);
        }
      }
      this.clearGr(n.address);
      const state: GracefulRestartState = {
        pending,
        restartTimer: new Timer(this.clock, () => this.grExpired(n.address, 'restart time expired')),
        staleTimer: new Timer(this.clock, () => this.grExpired(n.address, 'stale path time expired')),
      };
      state.restartTimer.start(negotiated.gracefulRestart!.restartTime * 1000);
      this.grState.set(n.address, state);
      this.log.info('graceful restart helper: keeping routes as stale', {
        neighbor: n.address,
        families: [...pending].join(','),
        restartTime: negotiated.gracefulRestart!.restartTime,
        reason,
      });
    } else {
      this.clearGr(n.address);
      changes.push(...this.removeAllPaths(n.address));
    }
    this.emitChanges(changes);
  }

  private grExpired(address: string, why: string): void {
    const gr = this.grState.get(address);
    if (!gr) return;
    this.log.warn('graceful restart: deleting stale routes', { neighbor: address, reason: why });
    const changes: BestChange[] = [];
    for (const fam of gr.pending) changes.push(...this.sweepStale(address, fam));
    this.clearGr(address);
    this.emitChanges(changes);
  }

  private clearGr(address: string): void {
    const gr = this.grState.get(address);
    if (!gr) return;
    gr.restartTimer.stop();
    gr.staleTimer.stop();
    this.grState.delete(address);
  }

  private sweepStale(address: string, family: FamilyName): BestChange[] {
    const changes: BestChange[] = [];
    for (const p of [...this.locRib.pathsFrom(address)]) {
      if (!p.stale || p.family !== family) continue;
      const c = this.locRib.remove(p.key, address);
      if (c) changes.push(c);
    }
    return changes;
  }

  private removeAllPaths(address: string): BestChange[] {
    const changes: BestChange[] = [];
    for (const p of [...this.locRib.pathsFrom(address)]) {
      const c = this.locRib.remove(p.key, address);
      if (c) changes.push(c);
    }
    return changes;
  }

  private negotiatedFamily(n: Neighbor, afi: number, safi: number): FamilyName | undefined {
    const fam = familyName(afi, safi);
    if (fam && n.negotiated?.families.includes(fam)) return fam;
    // RFC 4760 section 7 asks for an AFI/SAFI the peer did not negotiate to be ignored.
    const tag = `${n.address}|${afi}|${safi}`;
    if (!this.warnedFamilies.has(tag)) {
      this.warnedFamilies.add(tag);
      this.log.warn('routes of a family not negotiated are ignored', { neighbor: n.address, afi, safi });
    }
    return undefined;
  }

  private onUpdate(n: Neighbor, msg: UpdateMessage): void {
    this.stats.updatesIn++;
    const address = n.address;
    const source = this.sources.get(address)!;
    const changes: BestChange[] = [];
    const withdraw = (route: Nlri) => {
      const c = this.locRib.remove(routeKey(route), address);
      if (c) changes.push(c);
    };

    // End-of-RIB (RFC 4724 section 2).
    const noAttrs = Object.keys(msg.attributes).length === 0;
    if (noAttrs && !msg.mpReach && !msg.nlri.length && !msg.withdrawn.length) {
      if (!msg.mpUnreach) return this.onEndOfRib(n, 'ipv4-unicast');
      if (!msg.mpUnreach.routes.length && !msg.mpUnreach.rawNlri) {
        const fam = familyName(msg.mpUnreach.afi, msg.mpUnreach.safi);
        if (fam) return this.onEndOfRib(n, fam);
      }
    }

    if (msg.withdrawn.length && this.negotiatedFamily(n, Afi.Ipv4, Safi.Unicast)) for (const p of msg.withdrawn) withdraw(p);
    if (msg.mpUnreach && this.negotiatedFamily(n, msg.mpUnreach.afi, msg.mpUnreach.safi)) {
      this.stats.withdrawsIn += msg.mpUnreach.routes.length;
      for (const r of msg.mpUnreach.routes) withdraw(r);
    }

    const announced: { routes: Nlri[]; nextHop: string; family: FamilyName }[] = [];
    if (msg.nlri.length && this.negotiatedFamily(n, Afi.Ipv4, Safi.Unicast) && msg.attributes.nextHop)
      announced.push({ routes: msg.nlri, nextHop: msg.attributes.nextHop, family: 'ipv4-unicast' });
    else if (msg.nlri.length && !msg.attributes.nextHop) for (const p of msg.nlri) withdraw(p);
    if (msg.mpReach) {
      const fam = this.negotiatedFamily(n, msg.mpReach.afi, msg.mpReach.safi);
      if (fam) announced.push({ routes: msg.mpReach.routes, nextHop: msg.mpReach.nextHops[0]!, family: fam });
    }

    if (msg.discarded) {
      this.log.warn('UPDATE attributes discarded (RFC 7606)', { neighbor: address, reasons: msg.discarded });
      this.emit('update-error', { address, action: 'attribute-discard', reasons: msg.discarded });
    }

    let ignoreReason: string | undefined;
    if (msg.treatAsWithdraw) {
      ignoreReason = `treat-as-withdraw: ${msg.treatAsWithdraw.join('; ')}`;
      this.log.warn('malformed UPDATE handled as withdraw (RFC 7606)', { neighbor: address, reasons: msg.treatAsWithdraw });
      this.emit('update-error', { address, action: 'treat-as-withdraw', reasons: msg.treatAsWithdraw });
    } else if (msg.attributes.originatorId === this.config.routerId) {
      // RFC 4456 section 8: a route reflected back to its originator is ignored.
      ignoreReason = 'ORIGINATOR_ID is our router id';
    } else if (!source.ibgp && msg.attributes.asPath?.some((s) => s.asns.includes(this.config.localAs))) {
      ignoreReason = 'AS path loop'; // RFC 4271 section 9.1.2
    }

    for (const a of announced) {
      if (ignoreReason !== undefined) {
        for (const r of a.routes) withdraw(r);
        continue;
      }
      this.stats.routesIn += a.routes.length;
      const attrSet = this.interner.intern(msg.attributes, a.nextHop);
      for (const route of a.routes) {
        const key = routeKey(route);
        const path: Path = { key, family: a.family, route, attrSet, source, stale: false };
        const c = this.locRib.upsert(path);
        if (c) changes.push(c);
      }
    }
    this.emitChanges(changes);
  }

  private onEndOfRib(n: Neighbor, family: FamilyName): void {
    this.log.debug('End-of-RIB received', { neighbor: n.address, family });
    const gr = this.grState.get(n.address);
    if (gr?.pending.delete(family)) {
      this.emitChanges(this.sweepStale(n.address, family));
      if (gr.pending.size === 0) this.clearGr(n.address);
    }
    this.emit('end-of-rib', { address: n.address, family });
  }

  private onRouteRefresh(n: Neighbor, family: FamilyName): void {
    // RFC 2918 section 4: re-advertise the Adj-RIB-Out of that family.
    const out = this.adjOut.get(n.address);
    if (!out) return;
    const keys: string[] = [];
    for (const [key, lr] of this.localRoutes) if (lr.family === family) keys.push(key);
    for (const k of keys) out.delete(k);
    this.syncNeighbor(n, keys);
    this.sendEndOfRib(n, family);
  }

  private emitChanges(changes: BestChange[]): void {
    if (changes.length) this.emit('best-changes', changes);
  }

  // ------------------------------------------------------------------ origination

  /**
   * Originates (or replaces) a route. Every value is validated by encoding it before
   * anything is stored: an invalid route throws RangeError and changes nothing.
   * Returns the route key.
   */
  originate(route: Nlri, opts: OriginateOptions = {}): string {
    const family = routeFamily(route);
    const nextHop = opts.nextHop ?? this.config.nextHop;
    const attrs: PathAttributes = { origin: Origin.Igp, asPath: [] };
    if (opts.med !== undefined) attrs.med = opts.med;
    if (opts.localPref !== undefined) attrs.localPref = opts.localPref;
    if (opts.communities?.length) attrs.communities = [...opts.communities];
    if (opts.extCommunities?.length) attrs.extCommunities = opts.extCommunities.map((c) => ({ ...c }));
    if (opts.largeCommunities?.length) attrs.largeCommunities = opts.largeCommunities.map((l) => [l[0], l[1], l[2]] as const);
    if (opts.pmsiTunnel) attrs.pmsiTunnel = { ...opts.pmsiTunnel };
    if (opts.unknown?.length) attrs.unknown = opts.unknown.map((u) => ({ ...u, value: Buffer.from(u.value) }));
    if (family === 'ipv4-unicast' && !isIPv4(nextHop)) throw new RangeError(`IPv4 unicast route needs an IPv4 next hop, got '${nextHop}'`);
    // Interned: routes originated with equal attributes share one set and one UPDATE.
    const attrSet = this.interner.intern(attrs, nextHop);
    // Validate by encoding exactly what peers will get (never emit a malformed NLRI).
    for (const out of this.updatesFor([route], attrSet, family, true)) void out;
    const key = routeKey(route);
    this.localRoutes.set(key, { route, family, attrSet });
    const c = this.locRib.upsert({ key, family, route, attrSet, source: this.localSource, stale: false });
    if (c) this.emitChanges([c]);
    this.markDirty(key);
    return key;
  }

  /** Withdraws a route we originated (by route or key). Returns false if we had none. */
  withdraw(route: Nlri | string): boolean {
    // A string with '|' is a route key; any other string is an IPv4 prefix.
    const key = typeof route === 'string' && route.includes('|') ? route : routeKey(route);
    if (!this.localRoutes.delete(key)) return false;
    const c = this.locRib.remove(key, LOCAL_SOURCE_ADDRESS);
    if (c) this.emitChanges([c]);
    this.markDirty(key);
    return true;
  }

  localRouteList(): { key: string; route: Nlri; attrs: PathAttributes; nextHop: string }[] {
    return [...this.localRoutes].map(([key, r]) => ({ key, route: r.route, attrs: r.attrSet.attrs, nextHop: r.attrSet.nextHop }));
  }

  private markDirty(key: string): void {
    this.dirty.add(key);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const keys = this.dirty;
    this.dirty = new Set();
    for (const n of this.neighbors.values()) if (n.isEstablished && this.adjOut.has(n.address)) this.syncNeighbor(n, keys);
  }

  /** The attributes a neighbor gets for a local route (RFC 4271 section 5.1). */
  private outboundAttrs(set: AttributeSet, ibgp: boolean): PathAttributes {
    let cached = this.outAttrCache.get(set);
    if (!cached) this.outAttrCache.set(set, (cached = {}));
    const hit = ibgp ? cached.ibgp : cached.ebgp;
    if (hit) return hit;
    const a: PathAttributes = { ...set.attrs };
    if (ibgp) {
      a.asPath = [];
      a.localPref = set.attrs.localPref ?? 100; // section 5.1.5: to internal peers
      cached.ibgp = a;
    } else {
      a.asPath = [{ type: AsPathSegmentType.Sequence, asns: [this.config.localAs] }];
      delete a.localPref; // section 5.1.5: not sent to external peers
      cached.ebgp = a;
    }
    return a;
  }

  /** Encoded UPDATEs announcing `routes` with one attribute set, packed up to 4096 bytes. */
  private *updatesFor(routes: Nlri[], set: AttributeSet, family: FamilyName, ibgp: boolean): Generator<Buffer> {
    const attrs = this.outboundAttrs(set, ibgp);
    if (family === 'ipv4-unicast') {
      const a = { ...attrs, nextHop: set.nextHop };
      const room = MAX_MESSAGE_LENGTH - encodeUpdate({ attributes: a }).length;
      yield* pack(routes, (r) => ipv4PrefixSize(r as string), room, (chunk) => encodeUpdate({ attributes: a, nlri: chunk as string[] }));
      return;
    }
    const f = FAMILIES[family];
    const empty = encodeUpdate({ attributes: attrs, mpReach: { ...f, nextHops: [set.nextHop], routes: [] } });
    // +1: the MP_REACH_NLRI length may grow to two bytes (extended length).
    const room = MAX_MESSAGE_LENGTH - empty.length - 1;
    yield* pack(routes, (r) => evpnRouteSize(r as EvpnRoute), room, (chunk) =>
      encodeUpdate({ attributes: attrs, mpReach: { ...f, nextHops: [set.nextHop], routes: chunk } }),
    );
  }

  private *withdrawalsFor(routes: Nlri[], family: FamilyName): Generator<Buffer> {
    if (family === 'ipv4-unicast') {
      const room = MAX_MESSAGE_LENGTH - encodeUpdate({}).length;
      yield* pack(routes, (r) => ipv4PrefixSize(r as string), room, (chunk) => encodeUpdate({ withdrawn: chunk as string[] }));
      return;
    }
    const f = FAMILIES[family];
    const room = MAX_MESSAGE_LENGTH - encodeUpdate({ mpUnreach: { ...f, routes: [] } }).length - 1;
    yield* pack(routes, (r) => evpnRouteSize(r as EvpnRoute), room, (chunk) => encodeUpdate({ mpUnreach: { ...f, routes: chunk } }));
  }

  /** Brings a neighbor's Adj-RIB-Out in line with the local routes for `keys`. */
  private syncNeighbor(n: Neighbor, keys: Iterable<string>): void {
    const out = this.adjOut.get(n.address);
    const neg = n.negotiated;
    if (!out || !neg) return;
    const announce = new Map<AttributeSet, Map<FamilyName, Nlri[]>>();
    const withdrawals = new Map<FamilyName, Nlri[]>();
    for (const key of keys) {
      const local = this.localRoutes.get(key);
      const sent = out.get(key);
      if (local) {
        if (!neg.families.includes(local.family) || sent?.attrSet === local.attrSet) continue;
        let byFam = announce.get(local.attrSet);
        if (!byFam) announce.set(local.attrSet, (byFam = new Map()));
        const list = byFam.get(local.family) ?? [];
        list.push(local.route);
        byFam.set(local.family, list);
        out.set(key, local);
      } else if (sent) {
        out.delete(key);
        const list = withdrawals.get(sent.family) ?? [];
        list.push(sent.route);
        withdrawals.set(sent.family, list);
      }
    }
    for (const [fam, routes] of withdrawals) for (const buf of this.withdrawalsFor(routes, fam)) this.send(n, buf);
    for (const [set, byFam] of announce) for (const [fam, routes] of byFam) for (const buf of this.updatesFor(routes, set, fam, neg.ibgp)) this.send(n, buf);
  }

  private send(n: Neighbor, buf: Buffer): void {
    this.stats.updatesOut++;
    n.sendMessage(buf);
  }

  private sendEndOfRib(n: Neighbor, family: FamilyName): void {
    const f = FAMILIES[family];
    this.send(n, family === 'ipv4-unicast' ? encodeUpdate({}) : encodeUpdate({ mpUnreach: { ...f, routes: [] } }));
  }
}

/** Splits routes into chunks whose encoded sizes fit `room`, encoding each chunk. */
function* pack(routes: Nlri[], size: (r: Nlri) => number, room: number, encode: (chunk: Nlri[]) => Buffer): Generator<Buffer> {
  let chunk: Nlri[] = [];
  let used = 0;
  for (const r of routes) {
    const s = size(r);
    if (s > room) throw new RangeError('a single route does not fit in a BGP message');
    if (used + s > room && chunk.length) {
      yield encode(chunk);
      chunk = [];
      used = 0;
    }
    chunk.push(r);
    used += s;
  }
  if (chunk.length) yield encode(chunk);
}
