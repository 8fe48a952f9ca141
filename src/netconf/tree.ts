// The configuration data tree and <edit-config> (RFC 6241 section 7.2).
//
// A ConfigNode is a container or a list entry: leaves by name, child containers by name,
// list entries by list name and key (a Map, so a 10,000-entry edit finds each entry by key,
// never by scanning). Edits apply to a copy of the datastore; the caller keeps the copy only
// when the edit and the validation of the result both succeed (rollback-on-error).
//
// Copy on write: clone() copies one node (its maps), not the tree, and applyEdit() never
// changes a node it did not create or copy itself during that edit: it copies a node before
// changing it and puts the copy in its (already copied) parent. So every node below a root
// is immutable once the edit that made it is over, a small edit of a 10,000-session
// datastore copies the root, the entry (and a container in it if that changes) and one
// 10,000-pointer map, and work derived from an entry (its XML, its validation: see the
// WeakMaps here and in validate.ts) is done once per version of the entry, not once per edit
// of the datastore. Datastore roots are never changed in place either (datastore.ts).
import { BASE_NS, ErrorTag, RpcErrorInfo } from './errors';
import { ContainerSchema, EM_NS, InnerSchema, LeafSchema, ListSchema, ROOT, SchemaNode } from './schema';
import { DataNode } from './filter';
import { XmlElement, attr, escapeAttr, escapeText } from './xml';

export class ConfigNode {
  readonly leaves = new Map<string, string>();
  readonly containers = new Map<string, ConfigNode>();
  readonly lists = new Map<string, Map<string, ConfigNode>>();

  /** This node with its own maps; its children are shared (they are never changed in place). */
  clone(): ConfigNode {
    const c = new ConfigNode();
    for (const [k, v] of this.leaves) c.leaves.set(k, v);
    for (const [k, v] of this.containers) c.containers.set(k, v);
    for (const [k, entries] of this.lists) c.lists.set(k, new Map(entries));
    return c;
  }

  /** A copy sharing nothing with this node. */
  deepClone(): ConfigNode {
    const c = new ConfigNode();
    for (const [k, v] of this.leaves) c.leaves.set(k, v);
    for (const [k, v] of this.containers) c.containers.set(k, v.deepClone());
    for (const [k, entries] of this.lists) c.lists.set(k, new Map([...entries].map(([key, e]) => [key, e.deepClone()])));
    return c;
  }

  get empty(): boolean {
    return this.leaves.size === 0 && this.containers.size === 0 && this.lists.size === 0;
  }
}

export type EditOperation = 'merge' | 'replace' | 'create' | 'delete' | 'remove';
export type DefaultOperation = 'merge' | 'replace' | 'none';
export type ErrorOption = 'stop-on-error' | 'continue-on-error' | 'rollback-on-error';
const OPERATIONS: readonly string[] = ['merge', 'replace', 'create', 'delete', 'remove'];

/** A list entry's key text: its key values in key order (unambiguous: JSON). */
export function entryKey(values: string[]): string {
  return values.length === 1 ? values[0]! : JSON.stringify(values);
}

function xpathLiteral(v: string): string {
  return v.includes("'") ? `"${v}"` : `'${v}'`;
}

function listStep(schema: ListSchema, values: string[]): string {
  return `em:${schema.name}${schema.keys.map((k, i) => `[em:${k}=${xpathLiteral(values[i]!)}]`).join('')}`;
}

class EditContext {
  readonly errors: RpcErrorInfo[] = [];
  /** Nodes this edit created or copied: the only ones it may change in place. */
  readonly owned = new Set<ConfigNode>();
  constructor(readonly errorOption: ErrorOption) {}
  /** A new node this edit owns. */
  fresh(): ConfigNode {
    const n = new ConfigNode();
    this.owned.add(n);
    return n;
  }
  /** `n`, or a copy of it this edit owns (the caller puts it in place of `n`). */
  own(n: ConfigNode): ConfigNode {
    if (this.owned.has(n)) return n;
    const c = n.clone();
    this.owned.add(c);
    return c;
  }
  /** Records an error; returns true when the edit must stop. */
  fail(tag: ErrorTag, message: string, path: string, info?: [string, string][]): boolean {
    const e: RpcErrorInfo = { type: 'application', tag, message, path };
    if (info) e.info = info;
    this.errors.push(e);
    return this.errorOption !== 'continue-on-error';
  }
}

class StopEdit extends Error {}

/** Does this element or any descendant carry an explicit operation that creates data? */
function createsData(el: XmlElement): boolean {
  const op = attr(el, 'operation', BASE_NS);
  if (op === 'merge' || op === 'replace' || op === 'create') return true;
  return el.children.some(createsData);
}

/**
 * Applies the children of a <config> element to `root` (the evpn-mirror container).
 * Returns the errors; with error-option stop-on-error/continue-on-error the changes before
 * (or around) an error are kept in `root`, with rollback-on-error the caller discards it.
 * `root` itself is changed in place (pass a clone() of a datastore's root); nodes below it
 * are replaced by changed copies, never changed.
 */
export function applyEdit(root: ConfigNode, config: XmlElement, defaultOp: DefaultOperation, errorOption: ErrorOption): RpcErrorInfo[] {
  const ctx = new EditContext(errorOption);
  ctx.owned.add(root);
  try {
    for (const el of config.children) {
      if (el.ns !== EM_NS) {
        if (ctx.fail('unknown-namespace', `unknown namespace '${el.ns}' for element '${el.local}'`, '/', [['bad-element', el.local], ['bad-namespace', el.ns]])) throw new StopEdit();
        continue;
      }
      if (el.local !== ROOT.name) {
        if (ctx.fail('unknown-element', `unknown element '${el.local}' at the top level of module evpn-mirror`, '/', [['bad-element', el.local]])) throw new StopEdit();
        continue;
      }
      const op = operationOf(el, defaultOp, ctx, `/em:${ROOT.name}`);
      if (op === undefined) continue;
      editRootContainer(root, el, op, ctx);
    }
  } catch (err) {
    if (!(err instanceof StopEdit)) throw err;
  }
  return ctx.errors;
}

function operationOf(el: XmlElement, inherited: EditOperation | 'none', ctx: EditContext, path: string): EditOperation | 'none' | undefined {
  const a = el.attrs.find((x) => x.local === 'operation' && x.ns === BASE_NS);
  if (!a) return inherited;
  if (!OPERATIONS.includes(a.value)) {
    if (ctx.fail('bad-attribute', `'${a.value}' is not an edit operation (merge, replace, create, delete, remove)`, path, [['bad-attribute', 'operation'], ['bad-element', el.local]])) throw new StopEdit();
    return undefined;
  }
  return a.value as EditOperation;
}

function editRootContainer(root: ConfigNode, el: XmlElement, op: EditOperation | 'none', ctx: EditContext): void {
  const path = `/em:${ROOT.name}`;
  switch (op) {
    case 'delete':
      if (root.empty) {
        if (ctx.fail('data-missing', 'there is no evpn-mirror configuration to delete', path)) throw new StopEdit();
        return;
      }
      clear(root);
      return;
    case 'remove':
      clear(root);
      return;
    case 'create':
      if (!root.empty) {
        if (ctx.fail('data-exists', 'the evpn-mirror configuration already exists', path)) throw new StopEdit();
        return;
      }
      editChildren(root, ROOT, el, 'merge', path, ctx);
      return;
    case 'replace':
      clear(root);
      editChildren(root, ROOT, el, 'merge', path, ctx);
      return;
    default:
      editChildren(root, ROOT, el, op, path, ctx);
  }
}

function clear(n: ConfigNode): void {
  n.leaves.clear();
  n.containers.clear();
  n.lists.clear();
}

function editChildren(node: ConfigNode, schema: InnerSchema, el: XmlElement, op: EditOperation | 'none', path: string, ctx: EditContext): void {
  const keys = schema.kind === 'list' ? schema.keys : [];
  for (const c of el.children) {
    const cpath = `${path}/em:${c.local}`;
    if (c.ns !== EM_NS) {
      if (ctx.fail('unknown-namespace', `unknown namespace '${c.ns}' for element '${c.local}'`, path, [['bad-element', c.local], ['bad-namespace', c.ns]])) throw new StopEdit();
      continue;
    }
    const cs: SchemaNode | undefined = schema.children.get(c.local);
    if (!cs) {
      if (ctx.fail('unknown-element', `unknown element '${c.local}' in ${schema.name}`, path, [['bad-element', c.local]])) throw new StopEdit();
      continue;
    }
    const cop = operationOf(c, op, ctx, cpath);
    if (cop === undefined) continue;
    if (cs.kind === 'leaf') {
      if (keys.includes(cs.name)) {
        // Keys identify the entry; an operation on a key leaf alone is not allowed.
        if (cop === 'delete' || cop === 'remove') {
          if (ctx.fail('bad-attribute', `key leaf '${cs.name}' cannot be ${cop}d on its own`, cpath, [['bad-attribute', 'operation'], ['bad-element', cs.name]])) throw new StopEdit();
        }
        continue;
      }
      editLeaf(node, cs, c, cop, cpath, ctx);
    } else if (cs.kind === 'container') editContainer(node, cs, c, cop, cpath, ctx);
    else editListEntry(node, cs, c, cop, path, ctx);
  }
}

function parseLeaf(schema: LeafSchema, el: XmlElement, path: string, ctx: EditContext): string | undefined {
  if (el.children.length) {
    if (ctx.fail('bad-element', `leaf '${schema.name}' cannot have child elements`, path, [['bad-element', schema.name]])) throw new StopEdit();
    return undefined;
  }
  const p = schema.type.parse(el.text);
  if (!p.ok) {
    if (ctx.fail('invalid-value', `${schema.name}: ${p.message}`, path, [['bad-element', schema.name]])) throw new StopEdit();
    return undefined;
  }
  return p.value;
}

function editLeaf(node: ConfigNode, schema: LeafSchema, el: XmlElement, op: EditOperation | 'none', path: string, ctx: EditContext): void {
  const exists = node.leaves.has(schema.name);
  switch (op) {
    case 'none':
      return;
    case 'delete':
      if (!exists) {
        if (ctx.fail('data-missing', `${schema.name} is not set`, path)) throw new StopEdit();
        return;
      }
      node.leaves.delete(schema.name);
      return;
    case 'remove':
      node.leaves.delete(schema.name);
      return;
    default: {
      if (op === 'create' && exists) {
        if (ctx.fail('data-exists', `${schema.name} is already set`, path)) throw new StopEdit();
        return;
      }
      const v = parseLeaf(schema, el, path, ctx);
      if (v !== undefined) node.leaves.set(schema.name, v);
    }
  }
}

function editContainer(node: ConfigNode, schema: ContainerSchema, el: XmlElement, op: EditOperation | 'none', path: string, ctx: EditContext): void {
  const cur = node.containers.get(schema.name);
  switch (op) {
    case 'delete':
    case 'remove':
      if (!cur && op === 'delete') {
        if (ctx.fail('data-missing', `${schema.name} does not exist`, path)) throw new StopEdit();
        return;
      }
      node.containers.delete(schema.name);
      return;
    case 'create':
      if (cur && !cur.empty) {
        if (ctx.fail('data-exists', `${schema.name} already exists`, path)) throw new StopEdit();
        return;
      }
      break;
    case 'none':
      if (!cur && !createsData(el)) {
        if (ctx.fail('data-missing', `${schema.name} does not exist`, path)) throw new StopEdit();
        return;
      }
  }
  let target: ConfigNode;
  if (!cur || op === 'replace') target = ctx.fresh();
  else target = ctx.own(cur);
  node.containers.set(schema.name, target);
  editChildren(target, schema, el, op === 'replace' || op === 'create' ? 'merge' : op, path, ctx);
  if (target.empty) node.containers.delete(schema.name);
}

function editListEntry(node: ConfigNode, schema: ListSchema, el: XmlElement, op: EditOperation | 'none', parentPath: string, ctx: EditContext): void {
  const values: string[] = [];
  for (const k of schema.keys) {
    const kel = el.children.find((c) => c.local === k && c.ns === EM_NS);
    const ks = schema.children.get(k) as LeafSchema;
    if (!kel) {
      if (ctx.fail('missing-element', `${schema.name} entry without its key '${k}'`, `${parentPath}/em:${schema.name}`, [['bad-element', k]])) throw new StopEdit();
      return;
    }
    const v = parseLeaf(ks, kel, `${parentPath}/em:${schema.name}/em:${k}`, ctx);
    if (v === undefined) return;
    values.push(v);
  }
  const path = `${parentPath}/${listStep(schema, values)}`;
  const key = entryKey(values);
  let entries = node.lists.get(schema.name);
  const cur = entries?.get(key);
  switch (op) {
    case 'delete':
    case 'remove':
      if (!cur) {
        if (op === 'delete' && ctx.fail('data-missing', `${schema.name} ${values.join(' ')} does not exist`, path)) throw new StopEdit();
        return;
      }
      entries!.delete(key);
      if (entries!.size === 0) node.lists.delete(schema.name);
      return;
    case 'create':
      if (cur) {
        if (ctx.fail('data-exists', `${schema.name} ${values.join(' ')} already exists`, path)) throw new StopEdit();
        return;
      }
      break;
    case 'none':
      if (!cur && !createsData(el)) {
        if (ctx.fail('data-missing', `${schema.name} ${values.join(' ')} does not exist`, path)) throw new StopEdit();
        return;
      }
  }
  // With continue-on-error, a list entry whose edit failed is left as it was: no half entries.
  // An entry this edit has not touched yet is never changed in place, so it is its own backup.
  const errorsBefore = ctx.errors.length;
  const saved = ctx.errorOption === 'continue-on-error' && cur ? (ctx.owned.has(cur) ? cur.deepClone() : cur) : undefined;
  let target: ConfigNode;
  if (!cur || op === 'replace') {
    target = ctx.fresh();
    schema.keys.forEach((k, i) => target.leaves.set(k, values[i]!));
  } else target = ctx.own(cur);
  if (!entries) node.lists.set(schema.name, (entries = new Map()));
  entries.set(key, target);
  editChildren(target, schema, el, op === 'replace' || op === 'create' ? 'merge' : op, path, ctx);
  if (ctx.errors.length !== errorsBefore && ctx.errorOption === 'continue-on-error') {
    if (saved) entries!.set(key, saved);
    else {
      entries!.delete(key);
      if (entries!.size === 0) node.lists.delete(schema.name);
    }
  }
}

/** The datastore as XML (the content of <data> or <config>), children in schema order. */
export function toXml(root: ConfigNode): string {
  let out = '';
  writeXml(root, (piece) => (out += piece));
  return out;
}

/** toXml() in pieces, in order (for a file: no single large string). */
export function writeXml(root: ConfigNode, write: (piece: string) => void): void {
  if (root.empty) return;
  write(`<${ROOT.name} xmlns="${escapeAttr(EM_NS)}">`);
  writeInner(root, ROOT, write);
  write(`</${ROOT.name}>`);
}

function writeInner(node: ConfigNode, schema: InnerSchema, write: (piece: string) => void): void {
  for (const cs of schema.children.values()) {
    if (cs.kind === 'leaf') {
      const v = node.leaves.get(cs.name);
      if (v !== undefined) write(`<${cs.name}>${escapeText(v)}</${cs.name}>`);
    } else if (cs.kind === 'container') {
      const c = node.containers.get(cs.name);
      if (c) write(`<${cs.name}>${innerXml(c, cs)}</${cs.name}>`);
    } else {
      const entries = node.lists.get(cs.name);
      if (entries) for (const e of entries.values()) write(entryXml(e, cs));
    }
  }
}

function innerXml(node: ConfigNode, schema: InnerSchema): string {
  let out = '';
  writeInner(node, schema, (piece) => (out += piece));
  return out;
}

// List entries are immutable (see the top of this file): their XML is made
// once. Weak, so it goes with the entry.
const entryXmlCache = new WeakMap<ConfigNode, string>();

function entryXml(e: ConfigNode, schema: ListSchema): string {
  let x = entryXmlCache.get(e);
  if (x === undefined) {
    x = `<${schema.name}>${innerXml(e, schema)}</${schema.name}>`;
    x.charCodeAt(0); // flattens the rope of small strings the template made (kept: it would cost memory)
    entryXmlCache.set(e, x);
  }
  return x;
}

/** Reads a datastore back from XML written by toXml (a startup file). Throws on any error. */
export function fromXml(el: XmlElement | undefined): ConfigNode {
  const root = new ConfigNode();
  if (!el) return root;
  const wrapper: XmlElement = { local: 'config', ns: BASE_NS, prefix: '', attrs: [], children: [el], text: '', nsScope: {} };
  const errors = applyEdit(root, wrapper, 'merge', 'stop-on-error');
  if (errors.length) throw new Error(`stored configuration is invalid: ${errors[0]!.message} at ${errors[0]!.path}`);
  return root;
}

export function sameTree(a: ConfigNode, b: ConfigNode): boolean {
  return toXml(a) === toXml(b);
}

/**
 * The datastore as generic data nodes, for subtree filtering (schema order). With `filters`
 * (the children of a subtree <filter>), list entries the filter cannot select are left out
 * before filtering: a filter element for a list entry whose keys are all content match
 * nodes selects only the entry with those keys (RFC 6241 section 6.2.5), found by key.
 * Leaving them out changes nothing in the filter's result; it spares building them.
 */
export function toData(root: ConfigNode, filters?: XmlElement[]): DataNode[] {
  if (root.empty) return [];
  return [{ name: ROOT.name, ns: EM_NS, children: innerData(root, ROOT, filters && rootFilters(filters)) }];
}

const isOurs = (f: XmlElement, name: string) => f.local === name && (f.ns === '' || f.ns === EM_NS);
const isContentMatch = (f: XmlElement) => f.children.length === 0 && f.text.trim() !== '';

/** The filter elements for the evpn-mirror container, or undefined when any could select all of it. */
function rootFilters(filters: XmlElement[]): XmlElement[] | undefined {
  const mine = filters.filter((f) => isOurs(f, ROOT.name));
  // A selection node, or a content match node among its children (the whole container when it matches).
  if (mine.some((f) => f.children.length === 0 || f.children.some(isContentMatch))) return undefined;
  return mine;
}

/** The keys of the entries of `list` the filters can select; undefined: any entry. */
function candidateKeys(list: ListSchema, filters: XmlElement[]): Set<string> | undefined {
  const keys = new Set<string>();
  for (const rf of filters)
    for (const f of rf.children) {
      if (!isOurs(f, list.name)) continue;
      const values: string[] = [];
      for (const k of list.keys) {
        const kf = f.children.find((c) => isOurs(c, k) && isContentMatch(c));
        if (!kf) return undefined; // this filter element looks at every entry
        // Key leaves hold canonical values (tree.ts keeps what the type's parse gave): compare the same way.
        const parsed = (list.children.get(k) as LeafSchema).type.parse(kf.text.trim());
        if (!parsed.ok) break; // no entry can have this key
        values.push(parsed.value);
      }
      if (values.length === list.keys.length) keys.add(entryKey(values));
    }
  return keys;
}

function innerData(node: ConfigNode, schema: InnerSchema, filters?: XmlElement[]): DataNode[] {
  const out: DataNode[] = [];
  for (const cs of schema.children.values()) {
    if (cs.kind === 'leaf') {
      const v = node.leaves.get(cs.name);
      if (v !== undefined) out.push({ name: cs.name, ns: EM_NS, value: v });
    } else if (cs.kind === 'container') {
      const c = node.containers.get(cs.name);
      if (c) out.push({ name: cs.name, ns: EM_NS, children: innerData(c, cs) });
    } else {
      const entries = node.lists.get(cs.name);
      if (!entries) continue;
      const keys = filters && candidateKeys(cs, filters);
      if (keys)
        for (const k of keys) {
          const e = entries.get(k);
          if (e) out.push(entryData(e, cs));
        }
      else for (const e of entries.values()) out.push(entryData(e, cs));
    }
  }
  return out;
}

/** A list entry's data node: its XML is cached (entryXml); its children are built only if asked for. */
function entryData(e: ConfigNode, schema: ListSchema): DataNode {
  let children: DataNode[] | undefined;
  return {
    name: schema.name,
    ns: EM_NS,
    xml: entryXml(e, schema),
    get children() {
      return (children ??= innerData(e, schema));
    },
  };
}
