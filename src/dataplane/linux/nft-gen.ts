// The nftables ruleset of the Linux mirror driver, as pure functions: entries -> `nft -f`
// script text. Nothing here runs a command; the driver (driver.ts) runs the scripts and the
// read-back (readback.ts) parses what the kernel holds.
//
// One table, `netdev evpn_mirror`, owned by evpn-mirror. Per-packet path (docs/dataplane.md):
//
//   port_<p> (ingress hook on each access port p of VNI v)
//     -> goto v<v>_s:  ether saddr vmap @v<v>_smac   (hit: jump v<v>_sm_<mac>, then on)
//                      goto v<v>_si
//        v<v>_si:      ip saddr vmap @v<v>_sip4 ; ip6 saddr vmap @v<v>_sip6 ; goto v<v>_d
//        v<v>_d:       ether daddr vmap @v<v>_dmac ; goto v<v>_di
//        v<v>_di:      ip daddr vmap @v<v>_dip4 ; ip6 daddr vmap @v<v>_dip6   (end: accept)
//   key chains (one per monitored MAC / IP and side) hold one copy rule per entry; the map
//   elements `jump` to them, so the frame returns to its stage afterwards: a frame costs six
//   hash lookups plus its own copies, whatever the number of entries. A rule in an IP chain
//   carries `ether saddr != <mac>` (daddr on the destination side): a frame that matched the
//   entry by MAC was copied in the MAC chain, so every entry copies a frame at most once even
//   when MAC and IP both match.
//   A copy rule counts and jumps to the shared chain of its action (one per monitor port or
//   per remote VTEP and HOST-ID), which makes the copy:
//     ap_<port>:            dup to "<port>"                       (monitor server is local)
//     at_<vtep hex>_<H>:    meta mark set meta mark ^ H dup to "<tx dev>" meta mark set meta mark ^ H
//   the gbp device sends the mark's low 16 bits as the Group Policy ID, and the XOR undoes
//   itself, so the original frame leaves our chains with exactly the mark it had. Keeping the
//   copy statements out of the per-entry rules halves what the kernel has to dump on a
//   read-back (docs/dataplane.md), and a recreated transmit device means rewriting one chain.
//   rx (ingress hook on the mirror receive device): meta mark (= the VXLAN-GBP Group Policy
//     ID) vmap @deliver -> goto dlv_<hostId>: fwd to the monitor server's port; else drop.
//
// Read-back: each entry n has a named counter c<n>, its copy rules carry comment "e<n>", and
// the exact entry is kept as comments of elements `n . k` of the set @catalog, in chunks of
// at most 128 characters (nft's comment limit): a compact text (`~A ...` / `~D ...`, usually
// one chunk: the kernel's set dump is quadratic in the number of elements, see
// docs/dataplane.md) or, for an entry that text cannot carry exactly, base64 of its JSON.
import { AccessEntry, DeliveryEntry, MirrorAction, MirrorEntry } from '../../monitoring/entries';

export const DEFAULT_TABLE = 'evpn_mirror';
export const COMMENT_MAX = 128;

export interface NftContext {
  /** Table name (family netdev). */
  table: string;
  /** The mirror receive device (its ingress chain delivers by HOST-ID). */
  rxDevice: string;
  /** VNI -> access ports of that VNI's bridge (ports that get an ingress chain). */
  ports: ReadonlyMap<number, readonly string[]>;
  /** Name of the transmit device toward a remote monitor VTEP. */
  txDevice(vtep: string): string;
}

/** An entry as the driver holds it: with its number n (counter c<n>, rule comment e<n>). */
export interface NumberedEntry {
  n: number;
  entry: MirrorEntry;
}

/** One place an entry's copy rule lives: a key chain and the map element that leads to it. */
export interface KeyRef {
  chain: string;
  map: string;
  /** The map element's key as nft text. */
  key: string;
  /** 'mac': copy rules match on MAC alone; 'ip': they exclude the entry's MAC. */
  kind: 'mac' | 'ip' | 'deliver';
  side: 's' | 'd' | 'rx';
  vni: number;
}

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function validIfname(name: string): boolean {
  return IFNAME_RE.test(name);
}

/** Expands an IPv6 address to 32 hex digits; undefined if it is not one. */
export function ipv6Hex(a: string): string | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(a)) return undefined;
  let s = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    if (!IPV4_RE.test(v4[1]!)) return undefined;
    const h = ipv4Hex(v4[1]!);
    s = s.slice(0, -v4[1]!.length) + `${h.slice(0, 4)}:${h.slice(4)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (x: string): string[] => (x === '' ? [] : x.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.map((g) => g.toLowerCase().padStart(4, '0')).join('');
}

const ipv6HexSafe = ipv6Hex;

/** The text nft prints for an IPv6 address (RFC 5952: lower case, longest zero run as ::). */
export function canonicalIpv6(a: string): string | undefined {
  const hex = ipv6Hex(a);
  if (hex === undefined) return undefined;
  const g = Array.from({ length: 8 }, (_, i) => parseInt(hex.slice(i * 4, i * 4 + 4), 16).toString(16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return g.join(':');
  return `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
}

function ipv4Hex(a: string): string {
  return a
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('');
}

/** Transmit device name toward an IPv4 VTEP: emtx-<8 hex digits> (13 characters). */
export function txDeviceName(vtep: string): string {
  if (!IPV4_RE.test(vtep)) throw new Error(`mirror tunnel toward ${vtep}: only IPv4 VTEP addresses are supported`);
  return `emtx-${ipv4Hex(vtep)}`;
}

export const portChain = (port: string): string => `port_${port}`;
const stage = (vni: number, s: 's' | 'si' | 'd' | 'di'): string => `v${vni}_${s}`;
const mapName = (vni: number, side: 's' | 'd', what: 'mac' | 'ip4' | 'ip6'): string => `v${vni}_${side}${what}`;
export const counterName = (n: number): string => `c${n}`;
export const ruleTag = (n: number): string => `e${n}`;

/** Why an entry cannot be installed, or undefined when it can. */
export function entryProblem(e: MirrorEntry, ctx: Pick<NftContext, 'ports'>, mirrorVni: number): string | undefined {
  if (typeof e.id !== 'string' || e.id === '') return 'entry without id';
  if (e.kind === 'third') {
    const h = e.match.hostId;
    if (!Number.isInteger(h) || h < 1 || h > 0xffff) return `entry ${e.id}: HOST-ID ${h} is not 1..65535 (it travels as the 16-bit Group Policy ID)`;
    if (e.match.mirrorVni !== mirrorVni) return `entry ${e.id}: mirror VNI ${e.match.mirrorVni} is not this driver's ${mirrorVni}`;
    if (!validIfname(e.action.port)) return `entry ${e.id}: bad port name ${JSON.stringify(e.action.port)}`;
    return undefined;
  }
  if (!ctx.ports.has(e.vni)) return `entry ${e.id}: VNI ${e.vni} has no bridge in the driver configuration`;
  const m = e.match;
  if (!MAC_RE.test(m.mac)) return `entry ${e.id}: bad MAC ${JSON.stringify(m.mac)} (lower-case aa:bb:.. expected)`;
  if (m.ipv4 !== undefined && !IPV4_RE.test(m.ipv4)) return `entry ${e.id}: bad IPv4 ${JSON.stringify(m.ipv4)}`;
  if (m.ipv6 !== undefined && ipv6HexSafe(m.ipv6) === undefined) return `entry ${e.id}: bad IPv6 ${JSON.stringify(m.ipv6)}`;
  for (const p of m.exceptPorts) if (!validIfname(p)) return `entry ${e.id}: bad port name ${JSON.stringify(p)}`;
  const a = e.action;
  if (a.kind === 'local-port') {
    if (!validIfname(a.port)) return `entry ${e.id}: bad port name ${JSON.stringify(a.port)}`;
  } else {
    if (!IPV4_RE.test(a.vtep)) return `entry ${e.id}: only IPv4 monitor VTEPs are supported (${a.vtep})`;
    if (!Number.isInteger(a.hostId) || a.hostId < 1 || a.hostId > 0xffff) return `entry ${e.id}: HOST-ID ${a.hostId} is not 1..65535`;
    if (a.mirrorVni !== mirrorVni) return `entry ${e.id}: mirror VNI ${a.mirrorVni} is not this driver's ${mirrorVni}`;
  }
  return undefined;
}

/** The key chains an entry's copy rules live in (one per MAC / IPv4 / IPv6, or its HOST-ID). */
export function entryKeys(e: MirrorEntry): KeyRef[] {
  if (e.kind === 'third') {
    const h = e.match.hostId;
    return [{ chain: `dlv_${h}`, map: 'deliver', key: String(h), kind: 'deliver', side: 'rx', vni: e.match.mirrorVni }];
  }
  const side = e.match.field === 'source' ? 's' : 'd';
  const v = e.vni;
  const out: KeyRef[] = [{ chain: `v${v}_${side}m_${e.match.mac.replace(/:/g, '')}`, map: mapName(v, side, 'mac'), key: e.match.mac, kind: 'mac', side, vni: v }];
  if (e.match.ipv4 !== undefined)
    out.push({ chain: `v${v}_${side}4_${ipv4Hex(e.match.ipv4)}`, map: mapName(v, side, 'ip4'), key: e.match.ipv4, kind: 'ip', side, vni: v });
  if (e.match.ipv6 !== undefined)
    out.push({ chain: `v${v}_${side}6_${ipv6HexSafe(e.match.ipv6)}`, map: mapName(v, side, 'ip6'), key: canonicalIpv6(e.match.ipv6)!, kind: 'ip', side, vni: v });
  return out;
}

/** The key of a key chain, from its name (the inverse of entryKeys' naming). */
export function keyFromChain(chain: string): KeyRef | undefined {
  const d = /^dlv_(\d+)$/.exec(chain);
  if (d) return { chain, map: 'deliver', key: String(Number(d[1])), kind: 'deliver', side: 'rx', vni: 0 };
  const m = /^v(\d+)_([sd])(m|4|6)_([0-9a-f]+)$/.exec(chain);
  if (!m) return undefined;
  const vni = Number(m[1]);
  const side = m[2] as 's' | 'd';
  const hex = m[4]!;
  if (m[3] === 'm' && hex.length === 12) return { chain, map: mapName(vni, side, 'mac'), key: hex.match(/../g)!.join(':'), kind: 'mac', side, vni };
  if (m[3] === '4' && hex.length === 8) return { chain, map: mapName(vni, side, 'ip4'), key: hex.match(/../g)!.map((h) => parseInt(h, 16)).join('.'), kind: 'ip', side, vni };
  if (m[3] === '6' && hex.length === 32) return { chain, map: mapName(vni, side, 'ip6'), key: canonicalIpv6(hex.match(/..../g)!.join(':'))!, kind: 'ip', side, vni };
  return undefined;
}

/** The device a copy of this entry is sent to (what `dup to` / `fwd to` names). */
export function copyTarget(e: MirrorEntry, ctx: Pick<NftContext, 'txDevice'>): string {
  if (e.kind === 'third') return e.action.port;
  return e.action.kind === 'local-port' ? e.action.port : ctx.txDevice(e.action.vtep);
}

const q = (s: string): string => `"${s}"`;

/** A shared action chain: what it is called, the device it copies to and, for a tunnel, the
 * HOST-ID it XORs into the mark around the copy. */
export interface ActionRef {
  chain: string;
  target: string;
  hostId?: number;
}

export const isActionChain = (chain: string): boolean => /^a[tp]_/.test(chain);

export function actionRef(a: MirrorAction, ctx: Pick<NftContext, 'txDevice'>): ActionRef {
  if (a.kind === 'local-port') return { chain: `ap_${a.port}`, target: a.port };
  return { chain: `at_${ipv4Hex(a.vtep)}_${a.hostId}`, target: ctx.txDevice(a.vtep), hostId: a.hostId };
}

/** The one rule of an action chain (without `add rule T chain`). */
export function actionRule(r: ActionRef): string {
  if (r.hostId === undefined) return `dup to ${q(r.target)}`;
  const h = `0x${r.hostId.toString(16).padStart(4, '0')}`;
  return `meta mark set meta mark ^ ${h} dup to ${q(r.target)} meta mark set meta mark ^ ${h}`;
}

/** The copy rule (without `add rule T chain`) of entry n in key chain `k`. */
export function copyRule(ne: NumberedEntry, k: KeyRef, ctx: Pick<NftContext, 'txDevice'>): string {
  const e = ne.entry;
  const parts: string[] = [];
  if (e.kind === 'third') {
    parts.push(`counter name ${q(counterName(ne.n))}`, `fwd to ${q(e.action.port)}`);
  } else {
    const ae = e as AccessEntry;
    if (k.kind === 'ip') parts.push(`ether ${k.side === 's' ? 'saddr' : 'daddr'} != ${ae.match.mac}`);
    if (ae.match.exceptPorts.length) parts.push(`iifname != { ${[...ae.match.exceptPorts].sort().map(q).join(', ')} }`);
    parts.push(`counter name ${q(counterName(ne.n))}`, `jump ${actionRef(ae.action, ctx).chain}`);
  }
  parts.push(`comment ${q(ruleTag(ne.n))}`);
  return parts.join(' ');
}

/** The verdict of a key's map element: key chains of access entries are jumped to (the frame
 * comes back to its stage), the delivery chain is gone to (its `fwd` ends the frame). */
export function keyVerdict(k: KeyRef): 'jump' | 'goto' {
  return k.kind === 'deliver' ? 'goto' : 'jump';
}

/** Characters a compact-catalog token keeps as they are; anything else is %XX (UTF-8). */
const SAFE_CHAR = /[A-Za-z0-9._:|@/=+-]/;

function tok(v: string): string | undefined {
  if (v === '') return undefined;
  if (v === '-') return '%2D';
  if (v === '*') return '%2A';
  let out = '';
  for (const ch of v) out += SAFE_CHAR.test(ch) ? ch : [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  return out;
}

function untok(t: string): string {
  return decodeURIComponent(t);
}

function numTok(v: unknown): string | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : undefined;
}

function listTok(v: readonly string[]): string | undefined {
  if (v.length === 0) return '-';
  const parts = v.map(tok);
  return parts.some((p) => p === undefined) ? undefined : parts.join(',');
}

const untokList = (t: string): string[] => (t === '-' ? [] : t.split(',').map(untok));
const optTok = (v: string | undefined): string | undefined => (v === undefined ? '-' : tok(v));
const defaultId = (e: MirrorEntry): string => (e.kind === 'third' ? `third|${e.match.mirrorVni}|${e.match.hostId}` : `${e.session}|${e.kind}`);

/** Canonical JSON (sorted keys): two entries are the same object iff these are equal. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * The compact catalog text of an entry, or undefined when it cannot carry this entry exactly
 * (an empty string, an unexpected field or value): the caller then stores base64 JSON.
 *   ~A <f|s kind> <s|d field> <id|*> <session> <vni> <mac> <ipv4|-> <ipv6|-> <except,..|-> L <port>
 *   ~A ...                                                                           T <vtep> <hostId> <mirrorVni>
 *   ~D <id|*> <hostId> <mirrorVni> <port> <session,..|->
 * Tokens are %-escaped (space, comma, quote, ...); `*` = the id the entry kind implies.
 */
export function compactEntry(e: MirrorEntry): string | undefined {
  let parts: (string | undefined)[];
  const id = e.id === defaultId(e) ? '*' : tok(e.id);
  if (e.kind === 'third') {
    parts = ['~D', id, numTok(e.match.hostId), numTok(e.match.mirrorVni), tok(e.action.port), listTok(e.sessions)];
  } else {
    const m = e.match;
    const a = e.action;
    parts = [
      '~A',
      e.kind === 'first' ? 'f' : e.kind === 'second' ? 's' : undefined,
      m.field === 'source' ? 's' : m.field === 'destination' ? 'd' : undefined,
      id,
      tok(e.session),
      numTok(e.vni),
      tok(m.mac),
      optTok(m.ipv4),
      optTok(m.ipv6),
      Array.isArray(m.exceptPorts) ? listTok(m.exceptPorts) : undefined,
      ...(a.kind === 'local-port' ? ['L', tok(a.port)] : a.kind === 'tunnel' ? ['T', tok(a.vtep), numTok(a.hostId), numTok(a.mirrorVni)] : [undefined]),
    ];
  }
  if (parts.some((p) => p === undefined)) return undefined;
  const text = parts.join(' ');
  try {
    // Exactness: what is read back must be this very entry (no field added, lost or changed).
    if (canonicalJson(decodeCompact(text)) !== canonicalJson(e)) return undefined;
  } catch {
    return undefined;
  }
  return text;
}

/** The inverse of compactEntry (throws on malformed text). */
export function decodeCompact(text: string): MirrorEntry {
  const t = text.split(' ');
  const need = (n: number) => {
    if (t.length !== n) throw new Error(`compact catalog entry has ${t.length} fields, not ${n}`);
  };
  const int = (s: string | undefined): number => {
    if (!s || !/^\d+$/.test(s)) throw new Error(`compact catalog entry: bad number ${JSON.stringify(s)}`);
    return Number(s);
  };
  if (t[0] === '~D') {
    need(6);
    const hostId = int(t[2]);
    const mirrorVni = int(t[3]);
    return {
      id: t[1] === '*' ? `third|${mirrorVni}|${hostId}` : untok(t[1]!),
      kind: 'third',
      sessions: untokList(t[5]!),
      match: { hostId, mirrorVni },
      action: { kind: 'local-port', port: untok(t[4]!) },
    };
  }
  if (t[0] !== '~A') throw new Error(`compact catalog entry of unknown kind ${JSON.stringify(t[0])}`);
  const kind = t[1] === 'f' ? 'first' : t[1] === 's' ? 'second' : undefined;
  const field = t[2] === 's' ? 'source' : t[2] === 'd' ? 'destination' : undefined;
  if (!kind || !field) throw new Error('compact catalog entry: bad kind or field');
  let action: MirrorAction;
  if (t[10] === 'L') {
    need(12);
    action = { kind: 'local-port', port: untok(t[11]!) };
  } else if (t[10] === 'T') {
    need(14);
    action = { kind: 'tunnel', vtep: untok(t[11]!), hostId: int(t[12]), mirrorVni: int(t[13]) };
  } else throw new Error('compact catalog entry: bad action');
  const session = untok(t[4]!);
  const match: AccessEntry['match'] = { field, mac: untok(t[6]!), exceptPorts: untokList(t[9]!) };
  if (t[7] !== '-') match.ipv4 = untok(t[7]!);
  if (t[8] !== '-') match.ipv6 = untok(t[8]!);
  return { id: t[3] === '*' ? `${session}|${kind}` : untok(t[3]!), kind, session, vni: int(t[5]), match, action };
}

/** The catalog chunks of an entry (COMMENT_MAX characters each): its compact text, or base64
 * of its JSON when the compact text cannot carry it exactly. */
export function catalogChunks(e: MirrorEntry): string[] {
  const b = compactEntry(e) ?? Buffer.from(JSON.stringify(e), 'utf8').toString('base64');
  const out: string[] = [];
  for (let i = 0; i < b.length; i += COMMENT_MAX) out.push(b.slice(i, i + COMMENT_MAX));
  return out;
}

export function decodeCatalog(chunks: readonly string[]): MirrorEntry {
  const text = chunks.join('');
  if (text.startsWith('~')) return decodeCompact(text);
  return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as MirrorEntry;
}

/** The fixed part: table, per-VNI stage chains and maps, the receive chain, access-port chains.
 * Idempotent (`add` of what exists is a no-op; base/stage chains are flushed and refilled). */
export function skeletonScript(ctx: NftContext, removePorts: readonly string[] = []): string {
  const T = `netdev ${ctx.table}`;
  const L: string[] = [];
  L.push(`add table ${T}`);
  L.push(`add counter ${T} foreign_mark`);
  L.push(`add counter ${T} rx_undelivered`);
  L.push(`add set ${T} catalog { type mark . mark; }`);
  L.push(`add map ${T} deliver { type mark : verdict; }`);
  for (const vni of [...ctx.ports.keys()].sort((a, b) => a - b)) {
    for (const side of ['s', 'd'] as const) {
      L.push(`add map ${T} ${mapName(vni, side, 'mac')} { type ether_addr : verdict; }`);
      L.push(`add map ${T} ${mapName(vni, side, 'ip4')} { type ipv4_addr : verdict; }`);
      L.push(`add map ${T} ${mapName(vni, side, 'ip6')} { type ipv6_addr : verdict; }`);
    }
    for (const s of ['s', 'si', 'd', 'di'] as const) {
      L.push(`add chain ${T} ${stage(vni, s)}`);
      L.push(`flush chain ${T} ${stage(vni, s)}`);
    }
    const addr = (side: 's' | 'd') => (side === 's' ? 'saddr' : 'daddr');
    for (const side of ['s', 'd'] as const) {
      L.push(`add rule ${T} ${stage(vni, side)} ether ${addr(side)} vmap @${mapName(vni, side, 'mac')}`);
      L.push(`add rule ${T} ${stage(vni, side)} goto ${stage(vni, side === 's' ? 'si' : 'di')}`);
      const ipStage = stage(vni, side === 's' ? 'si' : 'di');
      L.push(`add rule ${T} ${ipStage} ip ${addr(side)} vmap @${mapName(vni, side, 'ip4')}`);
      L.push(`add rule ${T} ${ipStage} ip6 ${addr(side)} vmap @${mapName(vni, side, 'ip6')}`);
    }
    L.push(`add rule ${T} ${stage(vni, 'si')} goto ${stage(vni, 'd')}`);
  }
  L.push(`add chain ${T} rx { type filter hook ingress device ${q(ctx.rxDevice)} priority 0; policy drop; }`);
  L.push(`flush chain ${T} rx`);
  L.push(`add rule ${T} rx meta mark vmap @deliver`);
  L.push(`add rule ${T} rx counter name "rx_undelivered" drop`);
  L.push(...portScript(ctx, removePorts));
  return L.join('\n') + '\n';
}

/** Ingress chains for the access ports of ctx, and removal of the chains of `removePorts`. */
export function portScript(ctx: NftContext, removePorts: readonly string[]): string[] {
  const T = `netdev ${ctx.table}`;
  const L: string[] = [];
  for (const p of removePorts) {
    L.push(`flush chain ${T} ${portChain(p)}`);
    L.push(`delete chain ${T} ${portChain(p)}`);
  }
  for (const [vni, ports] of [...ctx.ports].sort((a, b) => a[0] - b[0]))
    for (const p of [...ports].sort()) {
      const c = portChain(p);
      L.push(`add chain ${T} ${c} { type filter hook ingress device ${q(p)} priority 0; policy accept; }`);
      L.push(`flush chain ${T} ${c}`);
      // A frame whose mark has low bits set would carry them into the Group Policy ID
      // (XOR); such frames are counted, so it is visible (never seen on a plain VTEP).
      L.push(`add rule ${T} ${c} meta mark and 0x0000ffff != 0 counter name "foreign_mark"`);
      L.push(`add rule ${T} ${c} goto ${stage(vni, 's')}`);
    }
  return L;
}

/** What the driver holds: entries by id and, per key chain, the ids whose rules it carries. */
export class EntryIndex {
  readonly byId = new Map<string, NumberedEntry>();
  readonly byChain = new Map<string, { key: KeyRef; ids: Set<string> }>();
  /** Catalog chunk count per n (what must be deleted when the entry goes). */
  readonly chunks = new Map<number, number>();
  /** Action chains the entries use, with how many entries use each. */
  readonly actions = new Map<string, { ref: ActionRef; users: number }>();

  clone(): EntryIndex {
    const c = new EntryIndex();
    for (const [id, ne] of this.byId) c.byId.set(id, ne);
    for (const [ch, v] of this.byChain) c.byChain.set(ch, { key: v.key, ids: new Set(v.ids) });
    for (const [n, k] of this.chunks) c.chunks.set(n, k);
    for (const [a, v] of this.actions) c.actions.set(a, { ref: v.ref, users: v.users });
    return c;
  }

  /** Action chains used by entries copying to device `dev`. */
  actionsTargeting(dev: string): string[] {
    return [...this.actions.values()].filter((a) => a.ref.target === dev).map((a) => a.ref.chain);
  }

  add(ne: NumberedEntry, chunks: number): string[] {
    this.byId.set(ne.entry.id, ne);
    this.chunks.set(ne.n, chunks);
    if (ne.entry.kind !== 'third') {
      const ref = actionRef(ne.entry.action, { txDevice: txDeviceName });
      const a = this.actions.get(ref.chain);
      if (a) a.users++;
      else this.actions.set(ref.chain, { ref, users: 1 });
    }
    const touched: string[] = [];
    for (const k of entryKeys(ne.entry)) {
      let slot = this.byChain.get(k.chain);
      if (!slot) this.byChain.set(k.chain, (slot = { key: k, ids: new Set() }));
      slot.ids.add(ne.entry.id);
      touched.push(k.chain);
    }
    return touched;
  }

  remove(id: string): string[] {
    const ne = this.byId.get(id);
    if (!ne) return [];
    this.byId.delete(id);
    this.chunks.delete(ne.n);
    if (ne.entry.kind !== 'third') {
      const name = actionRef(ne.entry.action, { txDevice: txDeviceName }).chain;
      const a = this.actions.get(name);
      if (a && --a.users === 0) this.actions.delete(name);
    }
    const touched: string[] = [];
    for (const k of entryKeys(ne.entry)) {
      const slot = this.byChain.get(k.chain);
      if (slot) {
        slot.ids.delete(id);
        if (slot.ids.size === 0) this.byChain.delete(k.chain);
      }
      touched.push(k.chain);
    }
    return touched;
  }

  members(chain: string): NumberedEntry[] {
    const slot = this.byChain.get(chain);
    if (!slot) return [];
    return [...slot.ids].map((id) => this.byId.get(id)!).sort((a, b) => a.n - b.n);
  }

  /** Lowest numbers not in use, `count` of them. */
  freeNumbers(count: number): number[] {
    const used = new Set<number>();
    for (const ne of this.byId.values()) used.add(ne.n);
    const out: number[] = [];
    for (let n = 1; out.length < count; n++) if (!used.has(n)) out.push(n);
    return out;
  }
}

export interface Transition {
  before: EntryIndex;
  after: EntryIndex;
  /** Key chains to rewrite (regenerated from `after`; deleted when `after` has none), and
   * action chains to rewrite (e.g. their device was recreated). Action chains are also
   * created when `after` needs one `before` did not have, and deleted when no longer used. */
  chains: Iterable<string>;
  /** Entries whose catalog elements and counter go (n, chunk count before). */
  dropped: { n: number; chunks: number }[];
  /** Entries whose catalog elements are (re)written. */
  written: NumberedEntry[];
  /** Counters to create (new entries). */
  newCounters: number[];
  /** Entries whose counter goes (removed entries, not modified ones). */
  goneCounters: number[];
  /** What the kernel holds, when known better than `before` (repairs after a read-back). */
  kernel?: {
    chains: ReadonlySet<string>;
    maps: ReadonlyMap<string, ReadonlyMap<string, string>>;
    /** map -> key -> the element's verdict kind. */
    mapVerdicts?: ReadonlyMap<string, ReadonlyMap<string, 'jump' | 'goto'>>;
  };
}

/** One transaction that takes the table from `before` to `after` for the touched chains. */
export function transitionScript(ctx: NftContext, t: Transition): string {
  const T = `netdev ${ctx.table}`;
  const L: string[] = [];
  const touched = new Set(t.chains);
  for (const n of t.newCounters) L.push(`add counter ${T} ${counterName(n)}`);
  // Action chains first: the copy rules jump to them.
  const had = t.kernel ? new Set([...t.kernel.chains].filter(isActionChain)) : new Set(t.before.actions.keys());
  for (const [name, a] of [...t.after.actions].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    if (had.has(name) && !touched.has(name)) continue;
    L.push(`add chain ${T} ${name}`);
    L.push(`flush chain ${T} ${name}`);
    L.push(`add rule ${T} ${name} ${actionRule(a.ref)}`);
  }
  for (const chain of [...touched].sort()) {
    if (isActionChain(chain)) continue;
    const members = t.after.members(chain);
    const key = t.after.byChain.get(chain)?.key ?? t.before.byChain.get(chain)?.key ?? keyFromChain(chain);
    if (!key) continue;
    const existed = t.kernel ? t.kernel.chains.has(chain) : t.before.byChain.has(chain);
    // The element leads to this chain with the right verdict (a kernel element that leads
    // elsewhere or with the other verdict is replaced).
    const present = t.kernel ? t.kernel.maps.get(key.map)?.has(key.key) === true : existed;
    const linked = t.kernel
      ? t.kernel.maps.get(key.map)?.get(key.key) === chain && (t.kernel.mapVerdicts?.get(key.map)?.get(key.key) ?? keyVerdict(key)) === keyVerdict(key)
      : existed;
    if (members.length === 0) {
      if (present) L.push(`delete element ${T} ${key.map} { ${key.key} }`);
      if (!existed) continue;
      L.push(`flush chain ${T} ${chain}`);
      L.push(`delete chain ${T} ${chain}`);
      continue;
    }
    L.push(`add chain ${T} ${chain}`);
    L.push(`flush chain ${T} ${chain}`);
    for (const ne of members) L.push(`add rule ${T} ${chain} ${copyRule(ne, key, ctx)}`);
    if (!linked) {
      if (present) L.push(`delete element ${T} ${key.map} { ${key.key} }`);
      L.push(`add element ${T} ${key.map} { ${key.key} : ${keyVerdict(key)} ${chain} }`);
    }
  }
  const del: string[] = [];
  for (const d of t.dropped) for (let k = 0; k < d.chunks; k++) del.push(`${d.n} . ${k}`);
  for (let i = 0; i < del.length; i += 500) L.push(`delete element ${T} catalog { ${del.slice(i, i + 500).join(', ')} }`);
  const add: string[] = [];
  for (const ne of t.written) catalogChunks(ne.entry).forEach((c, k) => add.push(`${ne.n} . ${k} comment ${q(c)}`));
  for (let i = 0; i < add.length; i += 500) L.push(`add element ${T} catalog { ${add.slice(i, i + 500).join(', ')} }`);
  for (const n of t.goneCounters) L.push(`delete counter ${T} ${counterName(n)}`);
  // Action chains no entry uses any more (their copy rules are gone above).
  for (const name of [...had].sort()) {
    if (t.after.actions.has(name)) continue;
    L.push(`flush chain ${T} ${name}`);
    L.push(`delete chain ${T} ${name}`);
  }
  return L.length ? L.join('\n') + '\n' : '';
}

/** Everything of an index from scratch (after the skeleton): used when the table was lost. */
export function fullScript(ctx: NftContext, index: EntryIndex): string {
  const empty = new EntryIndex();
  const all = [...index.byId.values()];
  return transitionScript(ctx, {
    before: empty,
    after: index,
    chains: index.byChain.keys(),
    dropped: [],
    written: all,
    newCounters: all.map((ne) => ne.n),
    goneCounters: [],
  });
}

export function isDelivery(e: MirrorEntry): e is DeliveryEntry {
  return e.kind === 'third';
}
