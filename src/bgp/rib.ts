// Adj-RIB-In, Loc-RIB and the decision process (RFC 4271 section 9.1), with the EVPN
// rules of RFC 7432 section 15 for MAC/IP routes.
//
// Route identity is the key computed by evpnRouteKey(): RD + Ethernet Tag + MAC + IP for
// Type-2 (FRR's withdraws zero the ESI and labels, so they cannot be part of it). Paths for
// one key compete in the decision process; the MAC index answers "every Type-2 best path
// for this MAC", across RDs, without a scan (GoBGP PR 2750 measured what a scan costs).
import { PathAttributes, Nlri, asPathLength } from './packet/attributes';
import { ipToBytes } from './packet/addr';
import { EvpnRoute, evpnRouteKey } from './packet/evpn';
import { EvpnRouteType } from './packet/constants';
import { ExtCommunity } from './packet/extcommunity';
import { FamilyName } from './config';

/** Who a path came from. One object per neighbor session, shared by its paths. */
export interface PathSource {
  /** Neighbor address, or LOCAL_SOURCE for routes this speaker originates. */
  readonly address: string;
  /** The peer's BGP Identifier (ours for local routes). */
  readonly routerId: string;
  readonly ibgp: boolean;
}

export const LOCAL_SOURCE_ADDRESS = 'local';

/** Attributes and next hop as received in one UPDATE: shared by all its routes (interned). */
export interface AttributeSet {
  readonly attrs: PathAttributes;
  readonly nextHop: string;
}

export interface Path {
  readonly key: string;
  readonly family: FamilyName;
  readonly route: Nlri;
  readonly attrSet: AttributeSet;
  readonly source: PathSource;
  /** Graceful restart: kept from a peer that went down, awaiting refresh (RFC 4724 section 4.2). */
  stale: boolean;
}

/**
 * One destination. Its candidate paths, at most one per source, are the Adj-RIBs-In of all
 * neighbors for this key (FRR keeps them the same way, one path list per destination), so a
 * million routes need one map, not one per neighbor plus the Loc-RIB.
 */
export interface RibEntry {
  readonly key: string;
  readonly route: Nlri;
  best: Path | undefined;
  /** Every candidate when there is more than one; undefined when `best` is the only one. */
  paths: Path[] | undefined;
}

/** A change of best path for one key. `best` undefined: the route is gone. */
export interface BestChange {
  readonly key: string;
  readonly family: FamilyName;
  readonly route: Nlri;
  readonly best: Path | undefined;
  readonly previous: Path | undefined;
}

export function routeKey(route: Nlri): string {
  return typeof route === 'string' ? `ipv4|${route}` : evpnRouteKey(route);
}

export function routeFamily(route: Nlri): FamilyName {
  return typeof route === 'string' ? 'ipv4-unicast' : 'l2vpn-evpn';
}

function isMacIp(route: Nlri): route is EvpnRoute & { type: EvpnRouteType.MacIpAdvertisement } {
  return typeof route !== 'string' && route.type === EvpnRouteType.MacIpAdvertisement;
}

/** MAC Mobility of a path: a route without the community has sequence 0 (RFC 7432 section 15). */
export function mobilityOf(attrs: PathAttributes): { sequence: number; sticky: boolean } {
  const list: ExtCommunity[] | undefined = attrs.extCommunities;
  if (list) for (const c of list) if (c.kind === 'mac-mobility') return c;
  return NO_MOBILITY;
}
const NO_MOBILITY = { sequence: 0, sticky: false } as const;

/** Numeric order of IP addresses (IPv4 before IPv6). */
export function compareIp(a: string, b: string): number {
  if (a === b) return 0;
  const x = ipToBytes(a);
  const y = ipToBytes(b);
  if (x.length !== y.length) return x.length - y.length;
  return x.compare(y);
}

/**
 * RFC 7432 section 15 between two MAC/IP paths (same key or same MAC under different RDs):
 * a sticky (static) MAC wins; else the higher sequence number; equal sequence: the lower
 * next-hop (PE) IP address (section 15.1). Returns < 0 when `a` is preferred, 0 if these
 * rules do not decide.
 */
export function compareMacMobility(a: Path, b: Path): number {
  const ma = mobilityOf(a.attrSet.attrs);
  const mb = mobilityOf(b.attrSet.attrs);
  if (ma.sticky !== mb.sticky) return ma.sticky ? -1 : 1;
  if (ma.sequence !== mb.sequence) return ma.sequence > mb.sequence ? -1 : 1;
  return compareIp(a.attrSet.nextHop, b.attrSet.nextHop);
}

function neighborAs(attrs: PathAttributes): number | undefined {
  const first = attrs.asPath?.find((s) => s.type === 2 || s.type === 1);
  return first?.asns[0];
}

/**
 * The decision process for two paths of the same key; < 0 when `a` is preferred.
 * RFC 4271 section 9.1.2.2 with RFC 4456 section 9 (ORIGINATOR_ID, CLUSTER_LIST) and,
 * first for Type-2 routes, RFC 7432 section 15 as FRR applies it.
 */
export function comparePaths(a: Path, b: Path): number {
  if (a === b) return 0;
  // A fresh path beats one kept stale by graceful restart.
  if (a.stale !== b.stale) return a.stale ? 1 : -1;
  if (isMacIp(a.route)) {
    const mm = compareMacMobility(a, b);
    if (mm !== 0) return mm;
  }
  const aa = a.attrSet.attrs;
  const ba = b.attrSet.attrs;
  const lpA = aa.localPref ?? 100;
  const lpB = ba.localPref ?? 100;
  if (lpA !== lpB) return lpB - lpA;
  const aLocal = a.source.address === LOCAL_SOURCE_ADDRESS;
  const bLocal = b.source.address === LOCAL_SOURCE_ADDRESS;
  if (aLocal !== bLocal) return aLocal ? -1 : 1;
  const plA = asPathLength(aa.asPath ?? []);
  const plB = asPathLength(ba.asPath ?? []);
  if (plA !== plB) return plA - plB;
  const oA = aa.origin ?? 2;
  const oB = ba.origin ?? 2;
  if (oA !== oB) return oA - oB;
  // MED only between paths from the same neighbouring AS (section 9.1.2.2(c)).
  if (neighborAs(aa) === neighborAs(ba)) {
    const mA = aa.med ?? 0;
    const mB = ba.med ?? 0;
    if (mA !== mB) return mA < mB ? -1 : 1;
  }
  if (a.source.ibgp !== b.source.ibgp) return a.source.ibgp ? 1 : -1;
  const idA = aa.originatorId ?? a.source.routerId;
  const idB = ba.originatorId ?? b.source.routerId;
  const id = compareIp(idA, idB);
  if (id !== 0) return id;
  const clA = aa.clusterList?.length ?? 0;
  const clB = ba.clusterList?.length ?? 0;
  if (clA !== clB) return clA - clB;
  return compareIp(a.source.address === LOCAL_SOURCE_ADDRESS ? '0.0.0.0' : a.source.address, b.source.address === LOCAL_SOURCE_ADDRESS ? '0.0.0.0' : b.source.address);
}

function selectBest(paths: Path[]): Path | undefined {
  let best: Path | undefined;
  for (const p of paths) if (!best || comparePaths(p, best) < 0) best = p;
  return best;
}

export class LocRib {
  private readonly entries = new Map<string, RibEntry>();
  /** Type-2 entries by MAC: the entry itself while a MAC has one (the common case), a set
   * when it has several. Built on the first MAC query, then kept up to date: a speaker
   * whose users never ask by MAC does not pay a second million-entry map on a full load. */
  private byMac: Map<string, RibEntry | Set<RibEntry>> | undefined;
  /** Paths per source address: the Adj-RIB-In sizes. */
  private readonly counts = new Map<string, number>();

  get size(): number {
    return this.entries.size;
  }

  get(key: string): RibEntry | undefined {
    return this.entries.get(key);
  }

  best(key: string): Path | undefined {
    return this.entries.get(key)?.best;
  }

  *bestPaths(family?: FamilyName): IterableIterator<Path> {
    for (const e of this.entries.values()) if (e.best && (!family || e.best.family === family)) yield e.best;
  }

  /** The path `sourceAddress` announced for `key` (its Adj-RIB-In entry). */
  pathFrom(key: string, sourceAddress: string): Path | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (!e.paths) return e.best?.source.address === sourceAddress ? e.best : undefined;
    return e.paths.find((p) => p.source.address === sourceAddress);
  }

  /** Every path from one source: its Adj-RIB-In (a scan; used on session events, not per route). */
  *pathsFrom(sourceAddress: string): IterableIterator<Path> {
    for (const e of this.entries.values()) {
      if (!e.paths) {
        if (e.best?.source.address === sourceAddress) yield e.best;
      } else for (const p of e.paths) if (p.source.address === sourceAddress) yield p;
    }
  }

  /** How many paths a source has in the RIB. */
  countFrom(sourceAddress: string): number {
    return this.counts.get(sourceAddress) ?? 0;
  }

  /** Every Type-2 entry for a MAC (any RD, Ethernet Tag or IP). */
  entriesForMac(mac: string): Iterable<RibEntry> {
    const v = this.macIndex().get(mac);
    if (!v) return EMPTY_SET;
    return v instanceof Set ? v : [v];
  }

  /**
   * The winning Type-2 best path for a MAC across all RDs, by RFC 7432 section 15, among the
   * paths `accept` admits (e.g. those of one VNI). Undefined when none.
   */
  macWinner(mac: string, accept: (p: Path) => boolean = () => true): Path | undefined {
    let winner: Path | undefined;
    for (const e of this.entriesForMac(mac)) {
      const p = e.best;
      if (!p || !accept(p)) continue;
      if (!winner || compareMacMobility(p, winner) < 0) winner = p;
    }
    return winner;
  }

  private count(address: string, delta: number): void {
    this.counts.set(address, (this.counts.get(address) ?? 0) + delta);
  }

  /** Adds or replaces the path of `path.source` for `path.key`. */
  upsert(path: Path): BestChange | undefined {
    const e = this.entries.get(path.key);
    const address = path.source.address;
    if (!e) {
      const created: RibEntry = { key: path.key, route: path.route, best: path, paths: undefined };
      this.entries.set(path.key, created);
      if (isMacIp(path.route)) this.indexMac(path.route.mac, created);
      this.count(address, 1);
      return { key: path.key, family: path.family, route: path.route, best: path, previous: undefined };
    }
    if (!e.paths) {
      const only = e.best!;
      if (only.source.address === address) {
        // Implicit withdraw of the previous path from the same source (RFC 4271 section 3.1).
        e.best = path;
        return { key: e.key, family: path.family, route: e.route, best: path, previous: only };
      }
      e.paths = [only, path];
      this.count(address, 1);
      return this.reselect(e);
    }
    const i = e.paths.findIndex((p) => p.source.address === address);
    if (i >= 0) e.paths[i] = path;
    else {
      e.paths.push(path);
      this.count(address, 1);
    }
    return this.reselect(e);
  }

  /** Removes the path of `sourceAddress` for `key`. */
  remove(key: string, sourceAddress: string): BestChange | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (!e.paths) {
      const only = e.best!;
      if (only.source.address !== sourceAddress) return undefined;
      e.best = undefined;
      this.drop(e);
      this.count(sourceAddress, -1);
      return { key, family: only.family, route: e.route, best: undefined, previous: only };
    }
    const i = e.paths.findIndex((p) => p.source.address === sourceAddress);
    if (i < 0) return undefined;
    e.paths.splice(i, 1);
    this.count(sourceAddress, -1);
    return this.reselect(e);
  }

  /** Re-runs the decision for a key (e.g. after a path was marked stale). */
  recompute(key: string): BestChange | undefined {
    const e = this.entries.get(key);
    return e ? this.reselect(e) : undefined;
  }

  private reselect(e: RibEntry): BestChange | undefined {
    const previous = e.best;
    const paths = e.paths ?? (e.best ? [e.best] : []);
    const best = paths.length === 1 ? paths[0] : selectBest(paths);
    e.best = best;
    if (paths.length <= 1) e.paths = undefined;
    if (!best) this.drop(e);
    if (best === previous) return undefined;
    const family = (best ?? previous)!.family;
    return { key: e.key, family, route: e.route, best, previous };
  }

  private drop(e: RibEntry): void {
    this.entries.delete(e.key);
    if (isMacIp(e.route)) this.unindexMac(e.route.mac, e);
  }

  private macIndex(): Map<string, RibEntry | Set<RibEntry>> {
    if (!this.byMac) {
      this.byMac = new Map();
      for (const e of this.entries.values()) if (isMacIp(e.route)) this.indexMac(e.route.mac, e);
    }
    return this.byMac;
  }

  private indexMac(mac: string, e: RibEntry): void {
    const index = this.byMac;
    if (!index) return;
    const v = index.get(mac);
    if (!v) index.set(mac, e);
    else if (v instanceof Set) v.add(e);
    else index.set(mac, new Set([v, e]));
  }

  private unindexMac(mac: string, e: RibEntry): void {
    const index = this.byMac;
    const v = index?.get(mac);
    if (!index || !v) return;
    if (!(v instanceof Set)) {
      if (v === e) index.delete(mac);
      return;
    }
    v.delete(e);
    if (v.size === 1) index.set(mac, v.values().next().value!);
  }
}

const EMPTY_SET: ReadonlySet<RibEntry> = new Set();

/**
 * Interns attribute sets so that routes from many UPDATEs with equal attributes share one
 * object (holo and FRR intern attributes the same way). Keyed by a canonical serialization;
 * weakly held, so a set disappears with the last path that uses it.
 */
export class AttributeInterner {
  private readonly sets = new Map<string, WeakRef<AttributeSet>>();
  private readonly registry = new FinalizationRegistry<string>((key) => {
    const ref = this.sets.get(key);
    if (ref && ref.deref() === undefined) this.sets.delete(key);
  });

  intern(attrs: PathAttributes, nextHop: string): AttributeSet {
    const key = nextHop + '\u0000' + JSON.stringify(attrs);
    const found = this.sets.get(key)?.deref();
    if (found) return found;
    const set: AttributeSet = { attrs, nextHop };
    this.sets.set(key, new WeakRef(set));
    this.registry.register(set, key);
    return set;
  }

  /** Number of keys held (some may be awaiting collection). */
  get size(): number {
    return this.sets.size;
  }
}
