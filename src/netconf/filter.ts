// Subtree filtering (RFC 6241 section 6) over a generic data tree, used by <get> and
// <get-config>. Config and state are both turned into DataNodes, filtered, then written.
//
// Section 6.2: namespace selection (a filter element without a namespace matches any), no
// attribute match expressions (our data has no attributes), containment nodes (recurse),
// selection nodes (empty: the whole subtree), content match nodes (leaf with text: sibling
// instances are kept only when all of them match; with only content match nodes in a sibling
// set, the whole parent is selected, section 6.2.5).
import { escapeAttr, escapeText, XmlElement } from './xml';

export interface DataNode {
  name: string;
  ns: string;
  /** Leaf value; undefined for interior nodes. */
  value?: string;
  children?: DataNode[];
  /** This node already written as XML, for a parent in the same namespace (immutable list entries of the config). */
  xml?: string;
}

export function leafNode(name: string, ns: string, value: string | number | bigint | undefined): DataNode[] {
  return value === undefined ? [] : [{ name, ns, value: String(value) }];
}

function isContentMatch(f: XmlElement): boolean {
  return f.children.length === 0 && f.text.trim() !== '';
}

function nameMatches(f: XmlElement, d: DataNode): boolean {
  return f.local === d.name && (f.ns === '' || f.ns === d.ns);
}

/** A sibling set of a filter, classified once (a filter is applied to many list entries). */
interface SiblingFilter {
  /** Content match nodes with their trimmed text. */
  contentMatches: { f: XmlElement; want: string }[];
  /** Selection (sub undefined) and containment nodes. */
  others: { f: XmlElement; sub: SiblingFilter | undefined }[];
}

function compile(filters: XmlElement[]): SiblingFilter {
  const out: SiblingFilter = { contentMatches: [], others: [] };
  for (const f of filters) {
    if (isContentMatch(f)) out.contentMatches.push({ f, want: f.text.trim() });
    else out.others.push({ f, sub: f.children.length ? compile(f.children) : undefined });
  }
  return out;
}

/** The data nodes under `data` selected by the sibling set `filters`. */
export function filterSiblings(data: DataNode[], filters: XmlElement[]): DataNode[] {
  if (filters.length === 0) return [];
  return applyFilter(data, compile(filters));
}

function applyFilter(data: DataNode[], sf: SiblingFilter): DataNode[] {
  // Content match nodes: every one must match some sibling leaf (string equality of the
  // canonical value; whitespace around the filter text is not significant).
  for (const { f, want } of sf.contentMatches) {
    let found = false;
    for (const d of data)
      if (d.value === want && nameMatches(f, d)) {
        found = true;
        break;
      }
    if (!found) return [];
  }
  if (sf.others.length === 0) return data; // only content matches: the whole parent (6.2.5)
  const out: DataNode[] = [];
  for (const d of data) {
    if (sf.contentMatches.some(({ f }) => nameMatches(f, d))) {
      out.push(d);
      continue;
    }
    let picked: DataNode | undefined;
    for (const { f, sub } of sf.others) {
      if (!nameMatches(f, d)) continue;
      if (!sub) {
        picked = d; // selection node
        break;
      }
      if (!d.children) continue;
      const kept = applyFilter(d.children, sub);
      if (kept.length === 0) continue;
      picked = { name: d.name, ns: d.ns, children: mergeChildren(picked?.children ?? [], kept) }; // never d.xml: part of d only
    }
    if (picked) out.push(picked);
  }
  return out;
}

function mergeChildren(a: DataNode[], b: DataNode[]): DataNode[] {
  if (!a.length) return b;
  const out = [...a];
  for (const n of b) if (!out.includes(n)) out.push(n);
  return out;
}

export function dataToXml(nodes: DataNode[], parentNs = ''): string {
  let out = '';
  for (const n of nodes) {
    if (n.xml !== undefined && n.ns === parentNs) {
      out += n.xml;
      continue;
    }
    const ns = n.ns !== parentNs ? ` xmlns="${escapeAttr(n.ns)}"` : '';
    if (n.value !== undefined) out += `<${n.name}${ns}>${escapeText(n.value)}</${n.name}>`;
    else if (n.children?.length) out += `<${n.name}${ns}>${dataToXml(n.children, n.ns)}</${n.name}>`;
    else out += `<${n.name}${ns}/>`;
  }
  return out;
}
