// XML for NETCONF: parsing with saxes (a strict, namespace-aware, non-validating parser that
// knows only the five predefined entities), into a small element tree; and writing with
// escaping. Any DOCTYPE is refused before its content can matter: no DTD, no entity
// declarations, so no entity expansion attacks (billion laughs) and no external entities.
import { SaxesParser, SaxesTagNS } from 'saxes';

export interface XmlAttr {
  local: string;
  ns: string;
  prefix: string;
  value: string;
}

export interface XmlElement {
  local: string;
  /** Namespace URI ('' when none). */
  ns: string;
  prefix: string;
  attrs: XmlAttr[];
  children: XmlElement[];
  /** Concatenated character data directly inside this element (not its children's). */
  text: string;
  /** Namespace declarations in scope here (prefix -> URI), for prefixed values such as XPath. */
  nsScope: Record<string, string>;
}

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

export interface ParseOptions {
  /** Deepest element nesting accepted (default 64). */
  maxDepth?: number;
  /** Most elements accepted in one document (default 2,000,000). */
  maxElements?: number;
}

/** Parses one XML document; throws XmlError for anything not well-formed or not allowed. */
export function parseXml(text: string, opts: ParseOptions = {}): XmlElement {
  const maxDepth = opts.maxDepth ?? 64;
  const maxElements = opts.maxElements ?? 2_000_000;
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  let failure: Error | undefined;
  const fail = (message: string) => {
    failure ??= new XmlError(message);
    throw failure;
  };
  parser.on('doctype', () => fail('a DOCTYPE (DTD) is not allowed in NETCONF messages'));
  parser.on('processinginstruction', (pi) => fail(`processing instruction <?${pi.target}?> is not allowed`));
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (++count > maxElements) fail(`more than ${maxElements} elements`);
    if (stack.length >= maxDepth) fail(`elements nested deeper than ${maxDepth}`);
    const attrs: XmlAttr[] = [];
    for (const a of Object.values(tag.attributes)) {
      if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
      attrs.push({ local: a.local, ns: a.uri, prefix: a.prefix, value: a.value });
    }
    const parentScope = stack.length ? stack[stack.length - 1]!.nsScope : {};
    const ownNs = tag.ns ?? {};
    const el: XmlElement = {
      local: tag.local,
      ns: tag.uri,
      prefix: tag.prefix,
      attrs,
      children: [],
      text: '',
      nsScope: Object.keys(ownNs).length ? { ...parentScope, ...ownNs } : parentScope,
    };
    if (stack.length) stack[stack.length - 1]!.children.push(el);
    else if (root) fail('more than one root element');
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.on('text', (t) => {
    if (stack.length) stack[stack.length - 1]!.text += t;
    else if (t.trim()) fail('text outside the root element');
  });
  parser.on('cdata', (t) => {
    if (stack.length) stack[stack.length - 1]!.text += t;
  });
  try {
    parser.write(text).close();
  } catch (err) {
    if (failure) throw failure;
    throw new XmlError(err instanceof Error ? err.message.replace(/^undefined:/, 'line ') : String(err));
  }
  if (!root) throw new XmlError('no root element');
  return root;
}

export function attr(el: XmlElement, local: string, ns?: string): string | undefined {
  for (const a of el.attrs) if (a.local === local && (ns === undefined ? true : a.ns === ns)) return a.value;
  return undefined;
}

export function child(el: XmlElement, local: string, ns?: string): XmlElement | undefined {
  for (const c of el.children) if (c.local === local && (ns === undefined || c.ns === ns)) return c;
  return undefined;
}

export function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

export function escapeAttr(s: string): string {
  return s.replace(/[&<>"\r\n\t]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Writes an element back out (used to echo received data, e.g. in errors). */
export function serialize(el: XmlElement): string {
  const attrs = el.attrs.map((a) => ` ${a.prefix ? `${a.prefix}:` : ''}${a.local}="${escapeAttr(a.value)}"`).join('');
  const ns = el.ns ? ` xmlns${el.prefix ? `:${el.prefix}` : ''}="${escapeAttr(el.ns)}"` : '';
  const name = el.prefix ? `${el.prefix}:${el.local}` : el.local;
  const inner = el.children.length ? el.children.map(serialize).join('') : escapeText(el.text);
  return inner ? `<${name}${ns}${attrs}>${inner}</${name}>` : `<${name}${ns}${attrs}/>`;
}
