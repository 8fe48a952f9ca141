// The configuration data tree and <edit-config> (RFC 6241 section 7.2).
//
// A ConfigNode is a container or a list entry: leaves by name, child containers by name,
// list entries by list name and key (a Map, so a 10,000-entry edit finds each entry by key,
// never by scanning). Edits apply to a copy of the datastore; the caller keeps the copy only
// when the edit and the validation of the result both succeed (rollback-on-error).
import { BASE_NS, ErrorTag, RpcErrorInfo } from './errors';
import { ContainerSchema, EM_NS, InnerSchema, LeafSchema, ListSchema, ROOT, SchemaNode } from './schema';
import { DataNode } from './filter';
import { XmlElement, attr, escapeAttr, escapeText } from './xml';

export class ConfigNode {
  readonly leaves = new Map<string, string>();
  readonly containers = new Map<string, ConfigNode>();
  readonly lists = new Map<string, Map<string, ConfigNode>>();

  clone(): ConfigNode {
    const c = new ConfigNode();
    for (const [k, v] of this.leaves) c.leaves.set(k, v);
    for (const [k, v] of this.containers) c.containers.set(k, v.clone());
    for (const [k, entries] of this.lists) {
      const m = new Map<string, ConfigNode>();
      for (const [key, e] of entries) m.set(key, e.clone());
      c.lists.set(k, m);
    }
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
  constructor(readonly errorOption: ErrorOption) {}
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
 */
export function applyEdit(root: ConfigNode, config: XmlElement, defaultOp: DefaultOperation, errorOption: ErrorOption): RpcErrorInfo[] {
  const ctx = new EditContext(errorOption);
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
  let target = cur;
  if (!target || op === 'replace') {
    target = new ConfigNode();
    node.containers.set(schema.name, target);
  }
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
  const errorsBefore = ctx.errors.length;
  const saved = ctx.errorOption === 'continue-on-error' ? cur?.clone() : undefined;
  let target = cur;
  if (!target || op === 'replace') {
    target = new ConfigNode();
    schema.keys.forEach((k, i) => target!.leaves.set(k, values[i]!));
    if (!entries) node.lists.set(schema.name, (entries = new Map()));
    entries.set(key, target);
  }
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
  if (root.empty) return '';
  return `<${ROOT.name} xmlns="${escapeAttr(EM_NS)}">${innerXml(root, ROOT)}</${ROOT.name}>`;
}

function innerXml(node: ConfigNode, schema: InnerSchema): string {
  let out = '';
  for (const cs of schema.children.values()) {
    if (cs.kind === 'leaf') {
      const v = node.leaves.get(cs.name);
      if (v !== undefined) out += `<${cs.name}>${escapeText(v)}</${cs.name}>`;
    } else if (cs.kind === 'container') {
      const c = node.containers.get(cs.name);
      if (c) out += `<${cs.name}>${innerXml(c, cs)}</${cs.name}>`;
    } else {
      const entries = node.lists.get(cs.name);
      if (entries) for (const e of entries.values()) out += `<${cs.name}>${innerXml(e, cs)}</${cs.name}>`;
    }
  }
  return out;
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

/** The datastore as generic data nodes, for subtree filtering (schema order). */
export function toData(root: ConfigNode): DataNode[] {
  if (root.empty) return [];
  return [{ name: ROOT.name, ns: EM_NS, children: innerData(root, ROOT) }];
}

function innerData(node: ConfigNode, schema: InnerSchema): DataNode[] {
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
      if (entries) for (const e of entries.values()) out.push({ name: cs.name, ns: EM_NS, children: innerData(e, cs) });
    }
  }
  return out;
}
