// Read-back of the driver's nftables table (`nft -j list table netdev evpn_mirror`), pure:
// reconstructs the installed entries from the @catalog set and checks each one against the
// rules the kernel really holds (its counter, one tagged copy rule in each of its key chains,
// the map element leading there, and a copy target that is a live device name: nft prints a
// target whose device was deleted as a bare ifindex).
import { MirrorEntry } from '../../monitoring/entries';
import { EntryIndex, NftContext, NumberedEntry, copyTarget, decodeCatalog, entryKeys } from './nft-gen';

type Json = Record<string, unknown>;

export interface TableRule {
  chain: string;
  handle: number;
  comment?: string;
  /** Device of a `dup to` / `fwd to` statement, as nft prints it. */
  target?: string;
}

export interface TableState {
  exists: boolean;
  chains: Set<string>;
  /** Base chains (name -> hook), e.g. port_<p> and rx. */
  baseChains: Set<string>;
  counters: Map<string, { packets: number; bytes: number }>;
  /** map name -> (element key text -> goto/jump target chain). */
  maps: Map<string, Map<string, string>>;
  /** n -> chunks (index k -> text). */
  catalog: Map<number, Map<number, string>>;
  rules: TableRule[];
}

export function emptyTableState(): TableState {
  return { exists: false, chains: new Set(), baseChains: new Set(), counters: new Map(), maps: new Map(), catalog: new Map(), rules: [] };
}

function keyText(v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (v && typeof v === 'object' && 'concat' in (v as Json)) return ((v as Json).concat as unknown[]).map(keyText).join(' . ');
  if (v && typeof v === 'object' && 'elem' in (v as Json)) return keyText(((v as Json).elem as Json).val);
  return JSON.stringify(v);
}

function findTarget(expr: unknown[]): string | undefined {
  for (const x of expr) {
    if (!x || typeof x !== 'object') continue;
    const o = x as Json;
    const d = (o.dup ?? o.fwd) as Json | undefined;
    if (d && typeof d === 'object') {
      const t = d.dev ?? d.addr;
      if (t !== undefined) return String(t);
    }
  }
  return undefined;
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
        for (const el of elems) {
          if (!Array.isArray(el)) continue;
          const verdict = el[1] as Json;
          const g = (verdict?.goto ?? verdict?.jump) as Json | undefined;
          if (g) m.set(keyText(el[0]), String(g.target));
        }
        st.maps.set(name, m);
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
      const t = findTarget((rule.expr as unknown[]) ?? []);
      if (t !== undefined) r.target = t;
      st.rules.push(r);
    }
  }
  return st;
}

export interface Verified {
  /** Entries whose rules, counter, map elements and targets are all as they must be. */
  good: (NumberedEntry & { chunks: number })[];
  /** Catalog entries that are not (what is wrong with each). */
  broken: { n: number; entry?: MirrorEntry; chunks: number; reason: string }[];
  /** Key chains holding rules that belong to no good entry (to be rewritten). */
  dirtyChains: Set<string>;
  /** Chains whose copy target is a stale ifindex (device deleted, maybe recreated). */
  staleTargets: Set<string>;
}

const TAG_RE = /^e(\d+)$/;

/** Checks every catalog entry against the rules; see Verified. */
export function verifyTable(st: TableState, ctx: Pick<NftContext, 'txDevice'>): Verified {
  const byChainTag = new Map<string, TableRule[]>();
  for (const r of st.rules) {
    if (r.comment === undefined || !TAG_RE.test(r.comment)) continue;
    const k = `${r.chain}|${r.comment}`;
    let l = byChainTag.get(k);
    if (!l) byChainTag.set(k, (l = []));
    l.push(r);
  }
  const out: Verified = { good: [], broken: [], dirtyChains: new Set(), staleTargets: new Set() };
  const goodTags = new Set<string>();
  const seenIds = new Set<string>();
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
    try {
      entry = decodeCatalog(chunks);
      entryKeys(entry);
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
    const want = copyTarget(entry, ctx);
    for (const key of entryKeys(entry)) {
      const rules = byChainTag.get(`${key.chain}|e${n}`) ?? [];
      if (rules.length !== 1) problem ??= `entry ${entry.id} (e${n}) has ${rules.length} copy rules in ${key.chain}`;
      else if (rules[0]!.target !== want) {
        if (/^\d+$/.test(rules[0]!.target ?? '')) {
          out.staleTargets.add(key.chain);
        } else problem ??= `entry ${entry.id} (e${n}) copies to ${rules[0]!.target} instead of ${want}`;
      }
      if (st.maps.get(key.map)?.get(key.key) !== key.chain) problem ??= `entry ${entry.id} (e${n}): map ${key.map} does not lead ${key.key} to ${key.chain}`;
    }
    if (problem) {
      fail(problem, entry);
      continue;
    }
    // (a stale target is healed by rewriting the chain: the entry itself is fine)
    out.good.push({ n, entry, chunks: chunks.length });
    goodTags.add(`e${n}`);
  }
  for (const r of st.rules) if (r.comment !== undefined && TAG_RE.test(r.comment) && !goodTags.has(r.comment)) out.dirtyChains.add(r.chain);
  return out;
}

/** An index of the good entries of a verification. */
export function indexOf(v: Verified): EntryIndex {
  const ix = new EntryIndex();
  for (const ne of v.good) ix.add({ n: ne.n, entry: ne.entry }, ne.chunks);
  return ix;
}
