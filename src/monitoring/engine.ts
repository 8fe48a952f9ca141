// The incremental form of computeEntries(): keeps this VTEP's desired entries up to date as
// sessions change and MACs move, recomputing only what an input touches.
//
//  - a MAC move of (vni, mac) touches the sessions monitoring that host and the sessions
//    whose monitor server has that MAC (and the 3rd entry of their HOST-IDs);
//  - a session change touches that session and every session sharing its HOST-ID (the
//    owner of a HOST-ID can change, see hostIdOwner()). Inside batch(), that group work is
//    done once per HOST-ID at the end: loading g sessions of one monitor server (a config
//    commit, a full table from the route reflector) costs O(g), not O(g^2).
// Indexes by "vni|mac" and by HOST-ID make each of these a lookup, never a scan. The result
// is the same map computeEntries() builds from scratch; the property tests hold it to that.
import {
  AccessEntry,
  Locate,
  MacLocation,
  MirrorEntry,
  SessionState,
  VtepContext,
  accessEntries,
  deliveryEntry,
  hostIdOwner,
  sameEntry,
  sessionState,
  thirdEntryId,
} from './entries';
import { MonitoringSession } from './session';

/** Entry id -> its new desired value, or undefined when it is no longer desired. */
export type EntryChanges = Map<string, MirrorEntry | undefined>;

export interface SessionStatus {
  session: MonitoringSession;
  state: SessionState;
  /** 'monitored-host' and/or 'monitor-server' when they are on this VTEP. */
  hostAt: MacLocation | undefined;
  monitorAt: MacLocation | undefined;
  /** The role-table row: which kinds of entry this VTEP holds for the session. */
  entries: MirrorEntry['kind'][];
}

const macKey = (vni: number, mac: string): string => `${vni}|${mac}`;

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (s && s.delete(v) && s.size === 0) m.delete(k);
}

export class EntryEngine {
  private readonly sessions = new Map<string, MonitoringSession>();
  private readonly byHost = new Map<string, Set<string>>();
  private readonly byMonitor = new Map<string, Set<string>>();
  private readonly byHostId = new Map<number, Set<string>>();
  private readonly entries = new Map<string, MirrorEntry>();
  /** Access entry ids each session holds now. */
  private readonly held = new Map<string, string[]>();
  private readonly states = new Map<string, SessionState>();
  private pending: EntryChanges = new Map();
  /** Whole HOST-ID group recomputations so far (each costs the size of the group). */
  groupRecomputations = 0;
  private batching = 0;
  /** HOST-IDs whose group must be recomputed when the outermost batch() ends. */
  private readonly dirtyGroups = new Set<number>();

  constructor(
    readonly vtep: VtepContext,
    private readonly locate: Locate,
  ) {}

  get sessionCount(): number {
    return this.sessions.size;
  }

  session(id: string): MonitoringSession | undefined {
    return this.sessions.get(id);
  }

  allSessions(): IterableIterator<MonitoringSession> {
    return this.sessions.values();
  }

  /** Every entry this VTEP must hold now. */
  desired(): ReadonlyMap<string, MirrorEntry> {
    return this.entries;
  }

  /** Entries changed since the last call (what the reconciler has to look at). */
  takeChanges(): EntryChanges {
    const out = this.pending;
    this.pending = new Map();
    return out;
  }

  status(id: string): SessionStatus | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    return {
      session: s,
      state: this.states.get(id) ?? 'disabled',
      hostAt: this.locate(s.vni, s.host.mac),
      monitorAt: this.locate(s.monitor.vni, s.monitor.mac),
      entries: this.entryKinds(id, s.monitor.hostId),
    };
  }

  private entryKinds(id: string, hostId: number): MirrorEntry['kind'][] {
    const kinds = (this.held.get(id) ?? []).map((e) => this.entries.get(e)!.kind);
    const third = this.entries.get(thirdEntryId(this.vtep.mirrorVni, hostId));
    // The 3rd entry lists exactly the active sessions of the HOST-ID (same owner, so the same
    // monitor server): a state lookup, not a scan of a list that can hold every session.
    if (third?.kind === 'third' && this.states.get(id) === 'active') kinds.push('third');
    return kinds;
  }

  /** Adds or replaces a session (same id). */
  upsertSession(s: MonitoringSession): void {
    const old = this.sessions.get(s.id);
    if (old) this.unindex(old);
    this.sessions.set(s.id, s);
    addTo(this.byHost, macKey(s.vni, s.host.mac), s.id);
    addTo(this.byMonitor, macKey(s.monitor.vni, s.monitor.mac), s.id);
    addTo(this.byHostId, s.monitor.hostId, s.id);
    if (old && old.monitor.hostId !== s.monitor.hostId) this.touchGroup(old.monitor.hostId);
    this.touchGroup(s.monitor.hostId);
  }

  /**
   * Runs `fn` (session upserts and removals, MAC moves) with the recomputation of HOST-ID
   * groups deferred to its end; nested calls join the outermost one. The entries are the same
   * as without it, once it returns (or throws).
   */
  batch<T>(fn: () => T): T {
    this.batching++;
    try {
      return fn();
    } finally {
      if (--this.batching === 0) {
        const groups = [...this.dirtyGroups];
        this.dirtyGroups.clear();
        for (const h of groups) this.recomputeGroup(h);
      }
    }
  }

  private touchGroup(hostId: number): void {
    if (this.batching) this.dirtyGroups.add(hostId);
    else this.recomputeGroup(hostId);
  }

  removeSession(id: string): void {
    const old = this.sessions.get(id);
    if (!old) return;
    this.unindex(old);
    this.sessions.delete(id);
    this.states.delete(id);
    this.setAccess(id, []);
    this.touchGroup(old.monitor.hostId);
  }

  /** Where (vni, mac) is has changed: recompute what depends on it. */
  macMoved(vni: number, mac: string): void {
    const k = macKey(vni, mac);
    // A move does not change who owns a HOST-ID: each group's owner is computed once here,
    // not once per session (a monitor server's move touches all of its g sessions).
    const owners = new Map<number, string | undefined>();
    const ownerOf = (hostId: number) => {
      if (!owners.has(hostId)) owners.set(hostId, hostIdOwner(this.groupOf(hostId)));
      return owners.get(hostId);
    };
    const hosts = this.byHost.get(k);
    if (hosts) for (const id of hosts) this.recomputeSession(id, ownerOf(this.sessions.get(id)!.monitor.hostId));
    const monitors = this.byMonitor.get(k);
    if (monitors) {
      const hostIds = new Set<number>();
      for (const id of monitors) {
        const h = this.sessions.get(id)!.monitor.hostId;
        this.recomputeSession(id, ownerOf(h));
        hostIds.add(h);
      }
      for (const h of hostIds) this.recomputeDelivery(h);
    }
  }

  private unindex(s: MonitoringSession): void {
    removeFrom(this.byHost, macKey(s.vni, s.host.mac), s.id);
    removeFrom(this.byMonitor, macKey(s.monitor.vni, s.monitor.mac), s.id);
    removeFrom(this.byHostId, s.monitor.hostId, s.id);
  }

  private groupOf(hostId: number): MonitoringSession[] {
    const ids = this.byHostId.get(hostId);
    return ids ? [...ids].map((id) => this.sessions.get(id)!) : [];
  }

  /** Every session of a HOST-ID (its owner may have changed) and the HOST-ID's 3rd entry. */
  private recomputeGroup(hostId: number): void {
    this.groupRecomputations++;
    const group = this.groupOf(hostId);
    const owner = hostIdOwner(group);
    for (const s of group) this.recomputeSession(s.id, owner);
    this.recomputeDelivery(hostId, group);
  }

  private recomputeSession(id: string, owner: string | undefined): void {
    const s = this.sessions.get(id)!;
    const monitorAt = this.locate(s.monitor.vni, s.monitor.mac);
    const state = sessionState(s, owner, monitorAt);
    this.states.set(id, state);
    this.setAccess(id, accessEntries(s, state, this.locate(s.vni, s.host.mac), monitorAt, this.vtep));
  }

  private setAccess(sessionId: string, wanted: AccessEntry[]): void {
    const before = this.held.get(sessionId) ?? [];
    for (const e of wanted) this.setEntry(e);
    for (const id of before) if (!wanted.some((e) => e.id === id)) this.removeEntry(id);
    if (wanted.length) this.held.set(sessionId, wanted.map((e) => e.id));
    else this.held.delete(sessionId);
  }

  private recomputeDelivery(hostId: number, group = this.groupOf(hostId)): void {
    const e = deliveryEntry(hostId, group, this.locate, this.vtep);
    if (e) this.setEntry(e);
    else this.removeEntry(thirdEntryId(this.vtep.mirrorVni, hostId));
  }

  private setEntry(e: MirrorEntry): void {
    const cur = this.entries.get(e.id);
    if (cur && sameEntry(cur, e)) return;
    this.entries.set(e.id, e);
    this.pending.set(e.id, e);
  }

  private removeEntry(id: string): void {
    if (!this.entries.delete(id)) return;
    this.pending.set(id, undefined);
  }
}
