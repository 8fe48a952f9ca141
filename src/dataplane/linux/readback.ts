// Read-back of the driver's nftables table, pure: `nft list table netdev evpn_mirror` (text,
// what the driver reads: nft 1.0.6 prints it with less CPU than its JSON, see
// docs/dataplane.md) or `nft -j list table` (JSON). Reconstructs the installed entries from
// the @catalog set and checks each one against the rules the kernel really holds: its
// counter, one tagged copy rule in each of its key chains jumping to the right action chain
// (or, for a 3rd entry, forwarding to the right port), the map element leading there with the
// right verdict, and the action chain itself (its one rule copies to the right device with
// the right HOST-ID; nft prints a target whose device was deleted as a bare ifindex).
import { MirrorEntry } from '../../monitoring/entries';
import { ActionRef, EntryIndex, NftContext, NumberedEntry, actionRef, copyTarget, decodeCatalog, entryKeys, isActionChain, keyFromChain, keyVerdict } from './nft-gen';

type Json = Record<string, unknown>;

export interface TableRule {
  chain: string;
  handle: number;
  comment?: string;
  /** Device of a `dup to` / `fwd to` statement, as nft prints it. */
  target?: string;
  /** Chain of a `jump` / `goto` statement. */
  jump?: string;
  /** Constant of a `meta mark set meta mark ^ C` statement (the HOST-ID of a tunnel copy). */
  xor?: number;
}

export interface TableState {
  exists: boolean;
  chains: Set<string>;
  /** Base chains (name -> hook), e.g. port_<p> and rx. */
  baseChains: Set<string>;
  counters: Map<string, { packets: number; bytes: number }>;
  /** map name -> (element key text -> goto/jump target chain). */
  maps: Map<string, Map<string, string>>;
  /** map name -> (element key text -> verdict kind). */
  mapVerdicts: Map<string, Map<string, 'jump' | 'goto'>>;
  /** n -> chunks (index k -> text). */
  catalog: Map<number, Map<number, string>>;
  rules: TableRule[];
}

export function emptyTableState(): TableState {
  return { exists: false, chains: new Set(), baseChains: new Set(), counters: new Map(), maps: new Map(), mapVerdicts: new Map(), catalog: new Map(), rules: [] };
}

function keyText(v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (v && typeof v === 'object' && 'concat' in (v as Json)) return ((v as Json).concat as unknown[]).map(keyText).join(' . ');
  if (v && typeof v === 'object' && 'elem' in (v as Json)) return keyText(((v as Json).elem as Json).val);
  return JSON.stringify(v);
}

/** What a rule's JSON expressions do that verification looks at. */
function exprFacts(expr: unknown[], r: TableRule): void {
  for (const x of expr) {
    if (!x || typeof x !== 'object') continue;
    const o = x as Json;
    const d = (o.dup ?? o.fwd) as Json | undefined;
    if (d && typeof d === 'object' && r.target === undefined) {
      const t = d.dev ?? d.addr;
      if (t !== undefined) r.target = String(t);
    }
    const j = (o.jump ?? o.goto) as Json | undefined;
    if (j && typeof j === 'object' && j.target !== undefined && r.jump === undefined) r.jump = String(j.target);
    const m = o.mangle as Json | undefined;
    const xv = ((m?.value as Json | undefined)?.['^'] as unknown[] | undefined)?.[1];
    if (typeof xv === 'number' && r.xor === undefined) r.xor = xv;
  }
}

/** Parses `nft -j list table` output (or '' for a missing table). */
export function parseTable(jsonText: string): TableState {
  const st = emptyTableState();
  if (jsonText.trim() === '') return st;
  const doc = JSON.parse(jsonText) as { nftables?: Json[] };
  for (const item of doc.nftables ?? []) {
    if (item.table) st.exists = true;
    const chain = item.chain as Json | undefined;
    if (chain) {
      st.chains.add(String(chain.name));
      if (chain.hook !== undefined) st.baseChains.add(String(chain.name));
    }
    const counter = item.counter as Json | undefined;
    if (counter) st.counters.set(String(counter.name), { packets: Number(counter.packets ?? 0), bytes: Number(counter.bytes ?? 0) });
    const set = (item.set ?? item.map) as Json | undefined;
    if (set) {
      const name = String(set.name);
      const elems = (set.elem as unknown[] | undefined) ?? [];
      if (item.map) {
        const m = new Map<string, string>();
        const kinds = new Map<string, 'jump' | 'goto'>();
        for (const el of elems) {
          if (!Array.isArray(el)) continue;
          const verdict = el[1] as Json;
          const g = (verdict?.goto ?? verdict?.jump) as Json | undefined;
          if (g) {
            m.set(keyText(el[0]), String(g.target));
            kinds.set(keyText(el[0]), verdict?.goto ? 'goto' : 'jump');
          }
        }
        st.maps.set(name, m);
        st.mapVerdicts.set(name, kinds);
      } else if (name === 'catalog') {
        for (const el of elems) {
          const e = (el as Json)?.elem as Json | undefined;
          const val = (e ? e.val : el) as Json;
          const parts = (val?.concat as unknown[] | undefined) ?? [];
          if (parts.length !== 2) continue;
          const n = Number(parts[0]);
          const k = Number(parts[1]);
          const comment = e?.comment;
          if (typeof comment !== 'string') continue;
          let slot = st.catalog.get(n);
          if (!slot) st.catalog.set(n, (slot = new Map()));
          slot.set(k, comment);
        }
      }
    }
    const rule = item.rule as Json | undefined;
    if (rule) {
      const r: TableRule = { chain: String(rule.chain), handle: Number(rule.handle) };
      if (typeof rule.comment === 'string') r.comment = rule.comment;
      exprFacts((rule.expr as unknown[]) ?? [], r);
      st.rules.push(r);
    }
  }
  return st;
}

/** Splits `s` at `sep` outside double quotes. */
function splitUnquoted(s: string, sep: string): string[] {
  const out: string[] = [];
  const sc = sep.charCodeAt(0);
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) {
      const j = s.indexOf('"', i + 1);
      if (j < 0) break;
      i = j;
    } else if (c === sc) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** Index of the first '}' outside double quotes, given whether `s` starts inside quotes;
 * -1 (and the quote state at the end) when there is none. */
function closingBrace(s: string, inQuote: boolean): { at: number; inQuote: boolean } {
  let q = inQuote;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) q = !q;
    else if (c === 125 && !q) return { at: i, inQuote: q };
  }
  return { at: -1, inQuote: q };
}

/** A map/set key as nft prints it, normalised like the JSON reading (marks: decimal). */
function textKey(k: string): string {
  return /^0x[0-9a-f]+$/i.test(k) ? String(parseInt(k, 16)) : k;
}

const RULE_COMMENT_RE = /\scomment "([^"]*)"$/;
const TARGET_RE = /(?:^|\s)(?:dup|fwd) to (?:"([^"]+)"|(\S+))/;
const JUMP_RE = /(?:^|\s)(?:jump|goto) (\S+)/;
const XOR_RE = /(?:^|\s)meta mark set meta mark \^ (0x[0-9a-f]+|\d+)(?:\s|$)/;

/**
 * Parses `nft list table netdev <t>` text output (nft 1.0.6; '' for a missing table). Only
 * what verification needs: chains (base or not), named counters, map elements (key ->
 * goto/jump chain), @catalog elements with their comments, and per rule its chain, comment
 * and `dup`/`fwd` target (a bare number when the device was deleted). No handles (0).
 */
export function parseTableText(text: string): TableState {
  const st = emptyTableState();
  const lines = text.split('\n');
  let block: { kind: 'counter' | 'set' | 'map' | 'chain' | 'other'; name: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (!st.exists) {
      if (/^table \S+ \S+ \{$/.test(line)) st.exists = true;
      continue;
    }
    if (!block) {
      const m = /^(counter|set|map|chain|quota|limit|flowtable|ct \S+|synproxy|secmark) (\S+) \{$/.exec(line);
      if (m) {
        const kind = m[1] === 'counter' || m[1] === 'set' || m[1] === 'map' || m[1] === 'chain' ? m[1] : 'other';
        block = { kind, name: m[2]!.replace(/^"(.*)"$/, '$1') };
        if (kind === 'chain') st.chains.add(block.name);
        if (kind === 'map') {
          st.maps.set(block.name, new Map());
          st.mapVerdicts.set(block.name, new Map());
        }
      }
      continue;
    }
    if (line === '}') {
      block = undefined;
      continue;
    }
    switch (block.kind) {
      case 'counter': {
        const m = /^packets (\d+) bytes (\d+)$/.exec(line);
        if (m) st.counters.set(block.name, { packets: Number(m[1]), bytes: Number(m[2]) });
        break;
      }
      case 'chain': {
        if (/^type \S+ hook /.test(line)) {
          st.baseChains.add(block.name);
          break;
        }
        const r: TableRule = { chain: block.name, handle: 0 };
        const c = RULE_COMMENT_RE.exec(line);
        const body = c ? line.slice(0, c.index) : line;
        if (c) r.comment = c[1]!;
        const t = TARGET_RE.exec(body);
        if (t) r.target = t[1] ?? t[2]!;
        const j = JUMP_RE.exec(body);
        if (j) r.jump = j[1]!.replace(/^"(.*)"$/, '$1');
        const x = XOR_RE.exec(body);
        if (x) r.xor = Number(x[1]);
        st.rules.push(r);
        break;
      }
      case 'set':
      case 'map': {
        if (!line.startsWith('elements = {')) break;
        // The elements run to the first unquoted '}', over as many lines as nft wraps them.
        const parts: string[] = [];
        let piece = line.slice('elements = {'.length);
        let inQ = false;
        for (;;) {
          const c = closingBrace(piece, inQ);
          if (c.at >= 0) {
            parts.push(piece.slice(0, c.at));
            break;
          }
          inQ = c.inQuote;
          parts.push(piece);
          if (++i >= lines.length) break;
          piece = ' ' + lines[i]!.trim();
        }
        const body = parts.join('');
        const name = block.name;
        for (const raw of splitUnquoted(body, ',')) {
          const el = raw.trim();
          if (el === '') continue;
          if (block.kind === 'map') {
            const m = /^(.+?) : (goto|jump) (\S+)$/.exec(el);
            if (m) {
              st.maps.get(name)!.set(textKey(m[1]!), m[3]!.replace(/^"(.*)"$/, '$1'));
              st.mapVerdicts.get(name)!.set(textKey(m[1]!), m[2] as 'jump' | 'goto');
            }
          } else if (name === 'catalog') {
            const m = /^(0x[0-9a-f]+|\d+) \. (0x[0-9a-f]+|\d+) comment "([^"]*)"$/i.exec(el);
            if (!m) continue;
            const n = Number(textKey(m[1]!));
            const k = Number(textKey(m[2]!));
            let slot = st.catalog.get(n);
            if (!slot) st.catalog.set(n, (slot = new Map()));
            slot.set(k, m[3]!);
          }
        }
        break;
      }
      default:
        break;
    }
  }
  return st;
}

export interface Verified {
  /** Entries whose rules, counter, map elements and targets are all as they must be. */
  good: (NumberedEntry & { chunks: number })[];
  /** Catalog entries that are not (what is wrong with each). */
  broken: { n: number; entry?: MirrorEntry; chunks: number; reason: string }[];
  /** Chains to rewrite or delete: key chains holding rules of no good entry (or untagged
   * rules), action chains that are wrong or no good entry uses. */
  dirtyChains: Set<string>;
  /** Chains whose copy target is a stale ifindex (device deleted, maybe recreated): action
   * chains and delivery chains, rewritten once the device exists. */
  staleTargets: Set<string>;
  /** The device each chain of `staleTargets` (and each action chain in use) must copy to. */
  chainTargets: Map<string, string>;
}

const TAG_RE = /^e(\d+)$/;
const isStale = (target: string | undefined): boolean => /^\d+$/.test(target ?? '');

/** Checks every catalog entry against the rules; see Verified. */
export function verifyTable(st: TableState, ctx: Pick<NftContext, 'txDevice'>): Verified {
  const byChainTag = new Map<string, TableRule[]>();
  const byChain = new Map<string, TableRule[]>();
  for (const r of st.rules) {
    let c = byChain.get(r.chain);
    if (!c) byChain.set(r.chain, (c = []));
    c.push(r);
    if (r.comment === undefined || !TAG_RE.test(r.comment)) continue;
    const k = `${r.chain}|${r.comment}`;
    let l = byChainTag.get(k);
    if (!l) byChainTag.set(k, (l = []));
    l.push(r);
  }
  const out: Verified = { good: [], broken: [], dirtyChains: new Set(), staleTargets: new Set(), chainTargets: new Map() };
  const goodTags = new Set<string>();
  const seenIds = new Set<string>();
  const usedActions = new Map<string, ActionRef>();
  /** Why action chain a is not what it must be ('stale': its device was deleted), or undefined. */
  const actionState = new Map<string, string | undefined>();
  const actionProblem = (a: ActionRef): string | undefined => {
    if (!actionState.has(a.chain)) {
      const rules = byChain.get(a.chain) ?? [];
      const r = rules[0];
      let why: string | undefined;
      if (rules.length !== 1 || !r) why = `has ${rules.length} rules`;
      else if (r.jump !== undefined) why = `jumps to ${r.jump}`;
      else if (r.xor !== a.hostId) why = `sets HOST-ID ${r.xor ?? 'none'} instead of ${a.hostId ?? 'none'}`;
      else if (r.target !== a.target) why = isStale(r.target) ? 'stale' : `copies to ${r.target ?? 'nothing'} instead of ${a.target}`;
      actionState.set(a.chain, why);
    }
    return actionState.get(a.chain);
  };
  for (const [n, chunkMap] of [...st.catalog].sort((a, b) => a[0] - b[0])) {
    const chunks: string[] = [];
    for (let k = 0; chunkMap.has(k); k++) chunks.push(chunkMap.get(k)!);
    const fail = (reason: string, entry?: MirrorEntry) => {
      const b: Verified['broken'][number] = { n, chunks: chunkMap.size, reason };
      if (entry) b.entry = entry;
      out.broken.push(b);
      if (entry) for (const key of entryKeys(entry)) out.dirtyChains.add(key.chain);
    };
    if (chunks.length !== chunkMap.size) {
      fail(`catalog of e${n} has gaps`);
      continue;
    }
    let entry: MirrorEntry;
    let action: ActionRef | undefined;
    try {
      entry = decodeCatalog(chunks);
      entryKeys(entry);
      if (entry.kind !== 'third') action = actionRef(entry.action, ctx);
    } catch (err) {
      fail(`catalog of e${n} does not decode: ${(err as Error).message}`);
      continue;
    }
    if (seenIds.has(entry.id)) {
      fail(`entry ${entry.id} is in the catalog twice`, entry);
      continue;
    }
    seenIds.add(entry.id);
    if (!st.counters.has(`c${n}`)) {
      fail(`entry ${entry.id} (e${n}) has no counter c${n}`, entry);
      continue;
    }
    let problem: string | undefined;
    for (const key of entryKeys(entry)) {
      const rules = byChainTag.get(`${key.chain}|e${n}`) ?? [];
      const r = rules[0];
      if (rules.length !== 1 || !r) problem ??= `entry ${entry.id} (e${n}) has ${rules.length} copy rules in ${key.chain}`;
      else if (action) {
        if (r.jump !== action.chain || r.target !== undefined) problem ??= `entry ${entry.id} (e${n}) jumps to ${r.jump ?? '(nothing)'} instead of ${action.chain}`;
        else {
          // A wrong action chain (a device renamed, a hand edit) makes its entries wrong:
          // they are dropped and added again, the chain rewritten when the device exists.
          const why = actionProblem(action);
          if (why !== undefined && why !== 'stale') problem ??= `entry ${entry.id} (e${n}): ${action.chain} ${why}`;
        }
      } else {
        const want = copyTarget(entry, ctx);
        if (r.target !== want) {
          if (isStale(r.target)) {
            out.staleTargets.add(key.chain);
            out.chainTargets.set(key.chain, want);
          } else problem ??= `entry ${entry.id} (e${n}) copies to ${r.target} instead of ${want}`;
        }
      }
      if (st.maps.get(key.map)?.get(key.key) !== key.chain) problem ??= `entry ${entry.id} (e${n}): map ${key.map} does not lead ${key.key} to ${key.chain}`;
      else if ((st.mapVerdicts.get(key.map)?.get(key.key) ?? keyVerdict(key)) !== keyVerdict(key)) problem ??= `entry ${entry.id} (e${n}): map ${key.map} does not ${keyVerdict(key)} to ${key.chain}`;
    }
    if (problem) {
      fail(problem, entry);
      continue;
    }
    // (a stale target is healed by rewriting the chain: the entry itself is fine)
    out.good.push({ n, entry, chunks: chunks.length });
    goodTags.add(`e${n}`);
    if (action) usedActions.set(action.chain, action);
  }
  for (const r of st.rules) {
    if (r.comment !== undefined && TAG_RE.test(r.comment) ? !goodTags.has(r.comment) : keyFromChain(r.chain) !== undefined) out.dirtyChains.add(r.chain);
  }
  // Action chains in use are right but maybe stale (rewritten once the device is back); the
  // others (unused, or wrong and so their entries broken) go.
  for (const [name, a] of usedActions) {
    out.chainTargets.set(name, a.target);
    if (actionProblem(a) === 'stale') out.staleTargets.add(name);
  }
  for (const c of st.chains) if (isActionChain(c) && !usedActions.has(c)) out.dirtyChains.add(c);
  return out;
}

/** An index of the good entries of a verification. */
export function indexOf(v: Verified): EntryIndex {
  const ix = new EntryIndex();
  for (const ne of v.good) ix.add({ n: ne.n, entry: ne.entry }, ne.chunks);
  return ix;
}
