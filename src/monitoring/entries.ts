// Forwarding entries: the pure decision "which mirror entries must this VTEP hold", from the
// sessions and where every MAC is (shared/docs/method.md, "The three kinds of forwarding
// entry" and the role table):
//
//   this VTEP has H | has S | entries
//   yes             | no    | 1st: src H -> tunnel to S's VTEP
//   yes             | yes   | 1st: src H -> S's local port; 3rd
//   no              | no    | 2nd: dst H -> tunnel to S's VTEP
//   no              | yes   | 2nd: dst H -> S's local port; 3rd
//
// plus the required improvement: H's own VTEP also matches dst H on its *other* access
// ports, so a local host's packet to H is copied at the port where it enters. Each packet
// from/to H that enters through an access port is then copied once, at that port; a copy
// travels on the mirror VNI with HOST-ID as VXLAN-GBP Group Policy ID and is delivered by
// the 3rd entry on S's VTEP, never matched again (3rd entries act on the mirror tunnel only).
//
// 3rd entries are keyed by HOST-ID, not by session: two sessions copying to one monitor
// server share one delivery entry, or S would get each copy twice.
import { MonitoringSession } from './session';

export type MacLocation = { kind: 'local'; port: string } | { kind: 'remote'; vtep: string };

export function sameLocation(a: MacLocation | undefined, b: MacLocation | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.kind !== b.kind) return false;
  return a.kind === 'local' ? a.port === (b as { port: string }).port : a.vtep === (b as { vtep: string }).vtep;
}

export function locationText(l: MacLocation | undefined): string {
  if (!l) return 'unknown';
  return l.kind === 'local' ? `local port ${l.port}` : `remote VTEP ${l.vtep}`;
}

/** What this VTEP is: its tunnel address and the VNI that carries mirrored copies. */
export interface VtepContext {
  vtepIp: string;
  mirrorVni: number;
}

export type MirrorAction =
  /** Send the copy out of this local access port (the monitor server is here). */
  | { kind: 'local-port'; port: string }
  /** VXLAN-GBP encapsulate the copy on the mirror VNI with Group Policy ID = hostId to `vtep`. */
  | { kind: 'tunnel'; vtep: string; hostId: number; mirrorVni: number };

export interface AccessMatch {
  /** 'source': frames the host sends; 'destination': frames sent to it. */
  field: 'source' | 'destination';
  mac: string;
  /** The host's addresses: a routed frame (router MAC) matches by IP. A frame matching by MAC
   * and by IP is still one match: the driver copies it once per entry. */
  ipv4?: string;
  ipv6?: string;
  /** Frames entering through these access ports of the VNI are not matched (H's own port for
   * the improvement entry on H's VTEP); empty = every access port of the VNI. */
  exceptPorts: string[];
}

/** 1st and 2nd entries: on the access ports of a tenant VNI. */
export interface AccessEntry {
  id: string;
  kind: 'first' | 'second';
  session: string;
  vni: number;
  match: AccessMatch;
  action: MirrorAction;
}

/** 3rd entry: on the mirror tunnel, HOST-ID -> the monitor server's local port. */
export interface DeliveryEntry {
  id: string;
  kind: 'third';
  /** Every session whose copies this entry delivers (sorted). */
  sessions: string[];
  match: { hostId: number; mirrorVni: number };
  action: { kind: 'local-port'; port: string };
}

export type MirrorEntry = AccessEntry | DeliveryEntry;

export const firstEntryId = (session: string): string => `${session}|first`;
export const secondEntryId = (session: string): string => `${session}|second`;
export const thirdEntryId = (mirrorVni: number, hostId: number): string => `third|${mirrorVni}|${hostId}`;

/** Where a MAC of a VNI is, as this VTEP knows it. */
export type Locate = (vni: number, mac: string) => MacLocation | undefined;

/** A canonical text of an entry: two entries are the same iff their texts are. */
/** What an entry matches, as text (the left of entryText's arrow). */
export function entryMatchText(e: MirrorEntry): string {
  if (e.kind === 'third') return `third hostId=${e.match.hostId} mirrorVni=${e.match.mirrorVni}`;
  const m = e.match;
  return (
    `${e.kind} session=${e.session} vni=${e.vni} ${m.field === 'source' ? 'src' : 'dst'}=${m.mac}` +
    `${m.ipv4 ? `,${m.ipv4}` : ''}${m.ipv6 ? `,${m.ipv6}` : ''}` +
    `${m.exceptPorts.length ? ` except=${m.exceptPorts.join(',')}` : ''}`
  );
}

/** What an entry does with a match, as text (the right of entryText's arrow). */
export function entryActionText(e: MirrorEntry): string {
  if (e.kind === 'third') return `port ${e.action.port} sessions=${e.sessions.join(',')}`;
  const a = e.action;
  return a.kind === 'local-port' ? `port ${a.port}` : `tunnel ${a.vtep} hostId=${a.hostId} mirrorVni=${a.mirrorVni}`;
}

/** An entry as one line of text: "<match> -> <action>" (also its identity for sameEntry). */
export function entryText(e: MirrorEntry): string {
  return `${entryMatchText(e)} -> ${entryActionText(e)}`;
}

export function sameEntry(a: MirrorEntry, b: MirrorEntry): boolean {
  return a === b || entryText(a) === entryText(b);
}

function includesFrom(s: MonitoringSession): boolean {
  return s.direction !== 'to-host';
}
function includesTo(s: MonitoringSession): boolean {
  return s.direction !== 'from-host';
}

/** Why a session has (or lacks) entries on this VTEP; shown as its state. */
export type SessionState = 'active' | 'disabled' | 'monitor-unknown' | 'host-id-conflict';

/** The monitor-server identity a HOST-ID stands for. */
export function monitorIdentity(s: MonitoringSession): string {
  return `${s.monitor.vni}|${s.monitor.mac}`;
}

/**
 * One HOST-ID must mean one monitor server everywhere. Sessions from different agents can
 * disagree (each agent validates only its own config); the session with the lowest id wins
 * the HOST-ID and the others get no entries until the conflict is gone: every VTEP sees the
 * same routes and so makes the same choice.
 */
export function hostIdOwner(group: Iterable<MonitoringSession>): string | undefined {
  let owner: MonitoringSession | undefined;
  for (const s of group) if (s.enabled && (!owner || s.id < owner.id)) owner = s;
  return owner ? monitorIdentity(owner) : undefined;
}

export function sessionState(s: MonitoringSession, owner: string | undefined, monitorAt: MacLocation | undefined): SessionState {
  if (!s.enabled) return 'disabled';
  if (owner !== monitorIdentity(s)) return 'host-id-conflict';
  if (!monitorAt) return 'monitor-unknown';
  return 'active';
}

/** The 1st/2nd entries of one session on this VTEP (none unless the session is active). */
export function accessEntries(
  s: MonitoringSession,
  state: SessionState,
  hostAt: MacLocation | undefined,
  monitorAt: MacLocation | undefined,
  vtep: VtepContext,
): AccessEntry[] {
  if (state !== 'active' || !monitorAt) return [];
  const action: MirrorAction =
    monitorAt.kind === 'local'
      ? { kind: 'local-port', port: monitorAt.port }
      : { kind: 'tunnel', vtep: monitorAt.vtep, hostId: s.monitor.hostId, mirrorVni: vtep.mirrorVni };
  const match = (field: AccessMatch['field'], exceptPorts: string[]): AccessMatch => {
    const m: AccessMatch = { field, mac: s.host.mac, exceptPorts };
    if (s.host.ipv4 !== undefined) m.ipv4 = s.host.ipv4;
    if (s.host.ipv6 !== undefined) m.ipv6 = s.host.ipv6;
    return m;
  };
  const out: AccessEntry[] = [];
  if (hostAt?.kind === 'local') {
    if (includesFrom(s)) out.push({ id: firstEntryId(s.id), kind: 'first', session: s.id, vni: s.vni, match: match('source', []), action });
    // The improvement: local hosts' packets to H, on every access port but H's own.
    if (includesTo(s)) out.push({ id: secondEntryId(s.id), kind: 'second', session: s.id, vni: s.vni, match: match('destination', [hostAt.port]), action });
  } else if (includesTo(s)) {
    out.push({ id: secondEntryId(s.id), kind: 'second', session: s.id, vni: s.vni, match: match('destination', []), action });
  }
  return out;
}

/** The 3rd entry for one HOST-ID: present when its monitor server is on a local port. */
export function deliveryEntry(
  hostId: number,
  group: Iterable<MonitoringSession>,
  locate: Locate,
  vtep: VtepContext,
): DeliveryEntry | undefined {
  const members = [...group];
  const owner = hostIdOwner(members);
  if (owner === undefined) return undefined;
  const active = members.filter((s) => s.enabled && monitorIdentity(s) === owner).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const first = active[0]!;
  const at = locate(first.monitor.vni, first.monitor.mac);
  if (at?.kind !== 'local') return undefined;
  return {
    id: thirdEntryId(vtep.mirrorVni, hostId),
    kind: 'third',
    sessions: active.map((s) => s.id),
    match: { hostId, mirrorVni: vtep.mirrorVni },
    action: { kind: 'local-port', port: at.port },
  };
}

/**
 * From scratch: every entry this VTEP must hold. The incremental engine must always agree
 * with this function (the property tests check it after every step).
 */
export function computeEntries(sessions: Iterable<MonitoringSession>, locate: Locate, vtep: VtepContext): Map<string, MirrorEntry> {
  const groups = new Map<number, MonitoringSession[]>();
  const all = [...sessions];
  for (const s of all) {
    let g = groups.get(s.monitor.hostId);
    if (!g) groups.set(s.monitor.hostId, (g = []));
    g.push(s);
  }
  const owners = new Map<number, string | undefined>();
  for (const [hostId, g] of groups) owners.set(hostId, hostIdOwner(g));
  const out = new Map<string, MirrorEntry>();
  for (const s of all) {
    const monitorAt = locate(s.monitor.vni, s.monitor.mac);
    const state = sessionState(s, owners.get(s.monitor.hostId), monitorAt);
    for (const e of accessEntries(s, state, locate(s.vni, s.host.mac), monitorAt, vtep)) out.set(e.id, e);
  }
  for (const [hostId, g] of groups) {
    const e = deliveryEntry(hostId, g, locate, vtep);
    if (e) out.set(e.id, e);
  }
  return out;
}
