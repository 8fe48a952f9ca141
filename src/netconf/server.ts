// The NETCONF server: sessions, <hello> exchange, and the RPC layer of RFC 6241, over any
// transport that delivers whole messages (ssh-server.ts gives RFC 6242 over SSH).
//
// Per session, messages are handled strictly in order. Every <rpc> gets an <rpc-reply> that
// carries all of the <rpc>'s attributes (section 4.2), in the base:1.0 namespace. Nothing a
// client sends can take the server down: malformed XML gets malformed-message (base:1.1;
// operation-failed for base:1.0-only sessions, where that tag does not exist) and the session
// stays up; a framing error closes only that session (there is no way to resynchronise).
import { join } from 'node:path';
import { Clock, systemClock } from '../util/clock';
import { TypedEmitter } from '../util/events';
import { Logger, silentLogger } from '../util/log';
import { Datastores, DatastoreName } from './datastore';
import { BASE_NS, RpcError, errorsXml, rpcError } from './errors';
import { DataNode, dataToXml, filterSiblings, leafNode } from './filter';
import { MONITORING_NS, findModule, moduleCapabilities, moduleText, modulesState, monitoringSchemas } from './library';
import { EM_NS } from './schema';
import { ConfigNode, DefaultOperation, ErrorOption, applyEdit, fromXml, toData, toXml } from './tree';
import { NorthboundConfig, validateDatastore } from './validate';
import { XmlElement, XmlError, attr, child, escapeAttr, escapeText, parseXml } from './xml';

export { MONITORING_NS };
const BASE_10 = 'urn:ietf:params:netconf:base:1.0';
const BASE_11 = 'urn:ietf:params:netconf:base:1.1';

/** Exactly what this server implements (RFC 6241 section 8; modules: library.ts). */
export const CAPABILITIES: readonly string[] = [
  BASE_10,
  BASE_11,
  'urn:ietf:params:netconf:capability:writable-running:1.0',
  'urn:ietf:params:netconf:capability:candidate:1.0',
  'urn:ietf:params:netconf:capability:confirmed-commit:1.1',
  'urn:ietf:params:netconf:capability:rollback-on-error:1.0',
  'urn:ietf:params:netconf:capability:validate:1.1',
  'urn:ietf:params:netconf:capability:startup:1.0',
  ...moduleCapabilities(),
];

import { Role } from './users';
export type { Role };

/** What the server needs of a transport session (ssh-server.ts's NetconfTransport). */
export interface TransportSession {
  readonly user: string;
  readonly role: Role;
  readonly remoteAddress: string;
  send(xml: string): void;
  useChunked(): void;
  close(): void;
  on(event: 'message', fn: (xml: string) => void): unknown;
  on(event: 'close', fn: () => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
}

export interface Location {
  kind: 'local' | 'remote' | 'unknown';
  port?: string;
  vtep?: string;
}

export type StateList = 'session' | 'entry' | 'mac' | 'bgp-peer';
const STATE_LISTS: readonly StateList[] = ['session', 'entry', 'mac', 'bgp-peer'];

/**
 * Which state lists a <get> filter can select: none when it does not reach em:evpn-mirror/
 * em:state, the named ones when it names lists under state, all otherwise (RFC 6241 6.2:
 * a selection node for a parent selects everything below it).
 */
export function wantedState(filter: XmlElement | undefined): Set<StateList> {
  if (!filter) return new Set(STATE_LISTS);
  const em = filter.children.filter((c) => c.local === 'evpn-mirror' && (c.ns === '' || c.ns === EM_NS));
  const out = new Set<StateList>();
  for (const e of em) {
    if (e.children.length === 0) return new Set(STATE_LISTS);
    for (const st of e.children.filter((c) => c.local === 'state' && (c.ns === '' || c.ns === EM_NS))) {
      if (st.children.length === 0) return new Set(STATE_LISTS);
      for (const l of st.children) if ((STATE_LISTS as readonly string[]).includes(l.local)) out.add(l.local as StateList);
    }
    // Content match nodes at the evpn-mirror level select the whole container when they match.
    if (e.children.every((c) => c.children.length === 0 && c.text.trim() !== '')) return new Set(STATE_LISTS);
  }
  return out;
}

/** Operational state for <get>, as the agent reports it. */
export interface AgentState {
  sessions: {
    id: string;
    name: string;
    origin: 'local' | 'remote';
    vni: number;
    hostMac: string;
    hostId: number;
    direction: string;
    status: string;
    roles: string[];
    hostLocation: Location;
    monitorLocation: Location;
  }[];
  entries: { id: string; kind: string; sessions: string[]; match: string; action: string; packets?: number; bytes?: number }[];
  bgpPeers: { address: string; state: string; prefixesReceived: number }[];
  /** MAC locations; may be large: clients ask with a filter. */
  macs?: { vni: number; mac: string; location: Location; sequence: number; sticky: boolean; duplicate: boolean }[];
}

export interface NetconfServerOptions {
  datastores: Datastores;
  /** Operational state; `want` names the state lists a <get> filter asks for (all when absent). */
  state?: (want?: ReadonlySet<StateList>) => AgentState | Promise<AgentState>;
  /** Directory holding the modules of library.ts for <get-schema> (default: the package's yang/). */
  yangDir?: string;
  helloTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface SessionStats {
  inRpcs: number;
  inBadRpcs: number;
  outRpcErrors: number;
}

class Session {
  hello = false;
  base11 = false;
  closed = false;
  readonly stats: SessionStats = { inRpcs: 0, inBadRpcs: 0, outRpcErrors: 0 };
  readonly loginTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  queue: Promise<void> = Promise.resolve();
  helloTimer: { cancel(): void } | undefined;
  constructor(
    readonly id: number,
    readonly transport: TransportSession,
  ) {}
}

const WRITE_OPS = new Set(['edit-config', 'copy-config', 'delete-config', 'lock', 'unlock', 'commit', 'discard-changes', 'cancel-commit', 'kill-session']);

export interface NetconfServerEvents {
  commit: (config: NorthboundConfig, reason: string) => void;
}

export class NetconfServer extends TypedEmitter<NetconfServerEvents> {
  private readonly ds: Datastores;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly sessions = new Map<number, Session>();
  private nextId = 1;
  private readonly startTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  private readonly global = { inSessions: 0, droppedSessions: 0, inBadHellos: 0, inRpcs: 0, inBadRpcs: 0, outRpcErrors: 0 };

  constructor(private readonly opts: NetconfServerOptions) {
    super();
    this.ds = opts.datastores;
    this.log = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    this.ds.on('commit', (c, reason) => this.emit('commit', c, reason));
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Starts a NETCONF session on a new transport: our <hello> goes out at once (RFC 6241 8.1). */
  attach(transport: TransportSession): number {
    const s = new Session(this.nextId++, transport);
    this.sessions.set(s.id, s);
    this.global.inSessions++;
    this.log.info('NETCONF session opened', { session: s.id, user: transport.user, from: transport.remoteAddress });
    transport.on('message', (xml) => {
      s.queue = s.queue.then(() => this.onMessage(s, xml)).catch((err) => this.log.error('NETCONF message handling failed', { session: s.id, error: String(err) }));
    });
    transport.on('error', (e) => this.log.warn('NETCONF transport error', { session: s.id, error: e.message }));
    transport.on('close', () => this.ended(s, 'transport closed'));
    transport.send(
      `<hello xmlns="${BASE_NS}"><capabilities>${CAPABILITIES.map((c) => `<capability>${escapeText(c)}</capability>`).join('')}</capabilities><session-id>${s.id}</session-id></hello>`,
    );
    s.helloTimer = this.clock.after(this.opts.helloTimeoutMs ?? 60_000, () => {
      if (!s.hello) this.drop(s, 'no <hello> from the client in time');
    });
    return s.id;
  }

  closeAll(): void {
    for (const s of [...this.sessions.values()]) this.drop(s, 'server stopping');
  }

  private ended(s: Session, why: string): void {
    if (s.closed) return;
    s.closed = true;
    s.helloTimer?.cancel();
    this.sessions.delete(s.id);
    this.ds.sessionClosed(s.id);
    this.log.info('NETCONF session closed', { session: s.id, user: s.transport.user, reason: why });
  }

  private drop(s: Session, why: string): void {
    this.global.droppedSessions++;
    this.ended(s, why);
    s.transport.close();
  }

  private async onMessage(s: Session, xml: string): Promise<void> {
    if (s.closed) return;
    if (!s.hello) return this.onHello(s, xml);
    let doc: XmlElement;
    try {
      doc = parseXml(xml);
    } catch (err) {
      s.stats.inBadRpcs++;
      this.global.inBadRpcs++;
      const tag = s.base11 ? 'malformed-message' : 'operation-failed';
      return this.reply(s, undefined, rpcError('rpc', tag, `malformed XML: ${(err as XmlError).message}`));
    }
    if (doc.local !== 'rpc' || doc.ns !== BASE_NS) {
      s.stats.inBadRpcs++;
      this.global.inBadRpcs++;
      return this.reply(s, undefined, rpcError('rpc', s.base11 ? 'malformed-message' : 'operation-failed', `expected <rpc> in ${BASE_NS}, got <${doc.local}> in '${doc.ns}'`));
    }
    s.stats.inRpcs++;
    this.global.inRpcs++;
    if (attr(doc, 'message-id') === undefined)
      return this.reply(s, doc, rpcError('rpc', 'missing-attribute', 'the <rpc> has no message-id attribute', { info: [['bad-attribute', 'message-id'], ['bad-element', 'rpc']] }));
    const ops = doc.children;
    if (ops.length !== 1)
      return this.reply(s, doc, rpcError('rpc', ops.length ? 'bad-element' : 'missing-element', ops.length ? 'an <rpc> holds exactly one operation' : 'the <rpc> has no operation', ops.length ? { info: [['bad-element', ops[1]!.local]] } : {}));
    try {
      const body = await this.dispatch(s, ops[0]!);
      if (!s.closed || ops[0]!.local === 'close-session') this.reply(s, doc, body);
    } catch (err) {
      if (err instanceof RpcError) return this.reply(s, doc, err);
      this.log.error('NETCONF operation failed unexpectedly', { session: s.id, operation: ops[0]!.local, error: String((err as Error).stack ?? err) });
      return this.reply(s, doc, rpcError('application', 'operation-failed', `internal error: ${(err as Error).message}`));
    }
    if (ops[0]!.local === 'close-session' && ops[0]!.ns === BASE_NS) this.drop(s, 'close-session');
  }

  private onHello(s: Session, xml: string): void {
    let doc: XmlElement;
    try {
      doc = parseXml(xml);
    } catch (err) {
      this.global.inBadHellos++;
      return this.drop(s, `malformed <hello>: ${(err as Error).message}`);
    }
    const caps = child(doc, 'capabilities', BASE_NS)?.children.filter((c) => c.local === 'capability').map((c) => c.text.trim()) ?? [];
    // RFC 6241 8.1: a client <hello> with a session-id, or without a common base, ends the session.
    if (doc.local !== 'hello' || doc.ns !== BASE_NS || child(doc, 'session-id') || !(caps.includes(BASE_10) || caps.includes(BASE_11))) {
      this.global.inBadHellos++;
      return this.drop(s, 'bad <hello> (not a hello, a session-id in it, or no base:1.0/1.1 capability)');
    }
    s.hello = true;
    s.helloTimer?.cancel();
    // RFC 6242 4.1: chunked framing once both peers advertised base:1.1.
    if (caps.includes(BASE_11)) {
      s.base11 = true;
      s.transport.useChunked();
    }
  }

  private reply(s: Session, rpc: XmlElement | undefined, body: string | RpcError): void {
    if (s.closed && !(typeof body === 'string' && body === '<ok/>')) return;
    let attrs = '';
    if (rpc)
      for (const a of rpc.attrs) {
        const name = a.prefix ? `${a.prefix}:${a.local}` : a.local;
        const decl = a.prefix && a.ns ? ` xmlns:${a.prefix}="${escapeAttr(a.ns)}"` : '';
        attrs += `${decl} ${name}="${escapeAttr(a.value)}"`;
      }
    let content: string;
    if (body instanceof RpcError) {
      s.stats.outRpcErrors++;
      this.global.outRpcErrors++;
      content = errorsXml(body.errors);
    } else content = body;
    s.transport.send(`<rpc-reply xmlns="${BASE_NS}"${attrs}>${content}</rpc-reply>`);
  }

  private async dispatch(s: Session, op: XmlElement): Promise<string> {
    if (op.ns === MONITORING_NS && op.local === 'get-schema') return this.getSchema(op);
    if (op.ns !== BASE_NS) throw rpcError('protocol', 'operation-not-supported', `operation <${op.local}> in '${op.ns}' is not supported`, { info: [['bad-element', op.local]] });
    if (WRITE_OPS.has(op.local) && s.transport.role !== 'read-write')
      throw rpcError('protocol', 'access-denied', `user '${s.transport.user}' is read-only: <${op.local}> is not allowed`);
    switch (op.local) {
      case 'get':
        return this.get(op);
      case 'get-config':
        return this.getConfig(op);
      case 'edit-config':
        return this.editConfig(s, op);
      case 'copy-config':
        return this.copyConfig(s, op);
      case 'delete-config':
        return this.deleteConfig(s, op);
      case 'lock':
        this.ds.lock(this.datastoreParam(op, 'target'), s.id);
        return '<ok/>';
      case 'unlock':
        this.ds.unlock(this.datastoreParam(op, 'target'), s.id);
        return '<ok/>';
      case 'validate':
        return this.validate(op);
      case 'commit':
        return this.commit(s, op);
      case 'discard-changes':
        this.ds.checkWritable('candidate', s.id);
        this.ds.discard();
        return '<ok/>';
      case 'cancel-commit': {
        const pid = child(op, 'persist-id', BASE_NS)?.text;
        this.ds.cancelCommit(s.id, pid);
        return '<ok/>';
      }
      case 'close-session':
        return '<ok/>';
      case 'kill-session':
        return this.killSession(s, op);
      default:
        throw rpcError('protocol', 'operation-not-supported', `operation <${op.local}> is not supported`, { info: [['bad-element', op.local]] });
    }
  }

  /** <target>/<source> with one datastore element inside. */
  private datastoreParam(op: XmlElement, param: 'target' | 'source', allowed: DatastoreName[] = ['running', 'candidate', 'startup']): DatastoreName {
    const p = child(op, param, BASE_NS);
    if (!p) throw rpcError('protocol', 'missing-element', `<${op.local}> needs a <${param}>`, { info: [['bad-element', param]] });
    const d = p.children[0];
    if (!d || p.children.length !== 1) throw rpcError('protocol', 'bad-element', `<${param}> must hold exactly one datastore`, { info: [['bad-element', param]] });
    if (d.local === 'url') throw rpcError('protocol', 'operation-not-supported', 'the :url capability is not supported', { info: [['bad-element', 'url']] });
    if (d.ns !== BASE_NS || !allowed.includes(d.local as DatastoreName))
      throw rpcError('protocol', 'invalid-value', `<${d.local}> is not a datastore <${op.local}> can use as ${param} (${allowed.join(', ')})`, { info: [['bad-element', d.local]] });
    return d.local as DatastoreName;
  }

  private filterOf(op: XmlElement): XmlElement | undefined {
    const f = child(op, 'filter', BASE_NS);
    if (!f) return undefined;
    const type = attr(f, 'type') ?? 'subtree';
    if (type !== 'subtree') throw rpcError('protocol', 'bad-attribute', `filter type '${type}' is not supported (only subtree)`, { info: [['bad-attribute', 'type'], ['bad-element', 'filter']] });
    return f;
  }

  private async get(op: XmlElement): Promise<string> {
    const filter = this.filterOf(op);
    const data = toData(this.ds.running, filter?.children);
    const want = wantedState(filter);
    const state = this.opts.state && want.size ? await this.opts.state(want) : undefined;
    if (state) {
      const stateNode: DataNode = { name: 'state', ns: EM_NS, children: stateData(state) };
      if (data.length) data[0]!.children!.push(stateNode);
      else data.push({ name: 'evpn-mirror', ns: EM_NS, children: [stateNode] });
    }
    data.push(this.monitoringState(), modulesState());
    return `<data>${dataToXml(filter ? filterSiblings(data, filter.children) : data)}</data>`;
  }

  private getConfig(op: XmlElement): string {
    const source = this.datastoreParam(op, 'source');
    const filter = this.filterOf(op);
    const root = this.ds.get(source);
    // Unfiltered: the datastore's own XML (list entries written once per version, tree.ts).
    if (!filter) return `<data>${toXml(root)}</data>`;
    return `<data>${dataToXml(filterSiblings(toData(root, filter.children), filter.children))}</data>`;
  }

  private editConfig(s: Session, op: XmlElement): string {
    const target = this.datastoreParam(op, 'target', ['running', 'candidate']);
    this.ds.checkWritable(target, s.id);
    const defaultOp = (child(op, 'default-operation', BASE_NS)?.text.trim() ?? 'merge') as DefaultOperation;
    if (!['merge', 'replace', 'none'].includes(defaultOp)) throw rpcError('protocol', 'invalid-value', `default-operation '${defaultOp}' is not merge, replace or none`, { info: [['bad-element', 'default-operation']] });
    const testOption = child(op, 'test-option', BASE_NS)?.text.trim() ?? 'test-then-set';
    if (!['test-then-set', 'set', 'test-only'].includes(testOption)) throw rpcError('protocol', 'invalid-value', `test-option '${testOption}' is not test-then-set, set or test-only`, { info: [['bad-element', 'test-option']] });
    const errorOption = (child(op, 'error-option', BASE_NS)?.text.trim() ?? 'rollback-on-error') as ErrorOption;
    if (!['stop-on-error', 'continue-on-error', 'rollback-on-error'].includes(errorOption)) throw rpcError('protocol', 'invalid-value', `error-option '${errorOption}' is not known`, { info: [['bad-element', 'error-option']] });
    if (child(op, 'url', BASE_NS)) throw rpcError('protocol', 'operation-not-supported', 'the :url capability is not supported', { info: [['bad-element', 'url']] });
    const config = child(op, 'config', BASE_NS);
    if (!config) throw rpcError('protocol', 'missing-element', '<edit-config> needs a <config>', { info: [['bad-element', 'config']] });
    const work = this.ds.get(target).clone();
    const errors = applyEdit(work, config, defaultOp, errorOption);
    if (errors.length && errorOption === 'rollback-on-error') throw new RpcError(errors);
    // Running is never left invalid; a candidate is validated in full at <validate>/<commit>,
    // unless the client asks for the test now (test-only) on it.
    let validated: NorthboundConfig | undefined;
    if (target === 'running' || testOption === 'test-only') {
      const v = validateDatastore(work);
      if (!v.ok) throw new RpcError([...errors, ...v.errors]);
      validated = v.config;
    }
    if (testOption !== 'test-only') this.ds.set(target, work, `edit-config on ${target}`, validated);
    if (errors.length) throw new RpcError(errors); // stop/continue-on-error: the rest was applied
    return '<ok/>';
  }

  private copyConfig(s: Session, op: XmlElement): string {
    const target = this.datastoreParam(op, 'target');
    this.ds.checkWritable(target, s.id);
    const src = child(op, 'source', BASE_NS);
    let content: ConfigNode;
    const inline = src && child(src, 'config', BASE_NS);
    if (inline) content = this.inlineConfig(inline);
    else {
      const source = this.datastoreParam(op, 'source');
      if (source === target) throw rpcError('protocol', 'invalid-value', 'source and target are the same datastore');
      content = this.ds.get(source); // datastore roots are never changed in place (datastore.ts)
    }
    let validated: NorthboundConfig | undefined;
    if (target !== 'candidate') {
      const v = validateDatastore(content);
      if (!v.ok) throw new RpcError(v.errors);
      validated = v.config;
    }
    this.ds.set(target, content, `copy-config to ${target}`, validated);
    return '<ok/>';
  }

  private inlineConfig(config: XmlElement): ConfigNode {
    const root = new ConfigNode();
    const errors = applyEdit(root, config, 'merge', 'rollback-on-error');
    if (errors.length) throw new RpcError(errors);
    return root;
  }

  private deleteConfig(s: Session, op: XmlElement): string {
    const target = this.datastoreParam(op, 'target');
    if (target !== 'startup') throw rpcError('protocol', 'invalid-value', `the ${target} datastore cannot be deleted (only startup)`, { info: [['bad-element', target]] });
    this.ds.checkWritable(target, s.id);
    this.ds.set('startup', new ConfigNode(), 'delete-config startup');
    return '<ok/>';
  }

  private validate(op: XmlElement): string {
    const src = child(op, 'source', BASE_NS);
    const inline = src && child(src, 'config', BASE_NS);
    const content = inline ? this.inlineConfig(inline) : this.ds.get(this.datastoreParam(op, 'source'));
    const v = validateDatastore(content);
    if (!v.ok) throw new RpcError(v.errors);
    return '<ok/>';
  }

  private commit(s: Session, op: XmlElement): string {
    const confirmed = child(op, 'confirmed', BASE_NS) !== undefined;
    const timeoutText = child(op, 'confirm-timeout', BASE_NS)?.text.trim();
    let timeoutSeconds: number | undefined;
    if (timeoutText !== undefined) {
      timeoutSeconds = Number(timeoutText);
      if (!/^[0-9]+$/.test(timeoutText) || timeoutSeconds < 1 || timeoutSeconds > 0xffffffff)
        throw rpcError('protocol', 'invalid-value', `confirm-timeout '${timeoutText}' must be 1..4294967295 seconds`, { info: [['bad-element', 'confirm-timeout']] });
    }
    const opts: Parameters<Datastores['commit']>[1] = { confirmed };
    if (timeoutSeconds !== undefined) opts.timeoutSeconds = timeoutSeconds;
    const persist = child(op, 'persist', BASE_NS)?.text;
    const persistId = child(op, 'persist-id', BASE_NS)?.text;
    if (persist !== undefined) opts.persist = persist;
    if (persistId !== undefined) opts.persistId = persistId;
    this.ds.commit(s.id, opts);
    return '<ok/>';
  }

  private killSession(s: Session, op: XmlElement): string {
    const text = child(op, 'session-id', BASE_NS)?.text.trim();
    if (text === undefined) throw rpcError('protocol', 'missing-element', '<kill-session> needs a <session-id>', { info: [['bad-element', 'session-id']] });
    const id = Number(text);
    if (id === s.id) throw rpcError('protocol', 'invalid-value', 'a session cannot kill itself (use <close-session>)', { info: [['bad-element', 'session-id']] });
    const victim = this.sessions.get(id);
    if (!victim) throw rpcError('protocol', 'invalid-value', `no session ${text}`, { info: [['bad-element', 'session-id']] });
    this.log.warn('NETCONF session killed', { session: id, by: s.id, user: s.transport.user });
    this.drop(victim, `killed by session ${s.id}`);
    return '<ok/>';
  }

  private getSchema(op: XmlElement): string {
    const id = child(op, 'identifier', MONITORING_NS)?.text.trim();
    const version = child(op, 'version', MONITORING_NS)?.text.trim();
    const format = child(op, 'format', MONITORING_NS)?.text.trim();
    if (!id) throw rpcError('protocol', 'missing-element', '<get-schema> needs an <identifier>', { info: [['bad-element', 'identifier']] });
    const m = findModule(id, version || undefined);
    if (!m || (format && !/(^|:)yang$/.test(format)))
      throw rpcError('application', 'invalid-value', `no schema '${id}'${version ? ` revision ${version}` : ''}${format ? ` in format ${format}` : ''}`);
    const text = moduleText(this.opts.yangDir ?? join(__dirname, '..', '..', '..', 'yang'), m);
    return `<data xmlns="${MONITORING_NS}">${escapeText(text)}</data>`;
  }

  /** ietf-netconf-monitoring state (RFC 6022): capabilities, datastores, schemas, sessions, statistics. */
  private monitoringState(): DataNode {
    const ns = MONITORING_NS;
    const node = (name: string, children: DataNode[]): DataNode => ({ name, ns, children });
    const datastores = (['running', 'candidate', 'startup'] as DatastoreName[]).map((name) => {
      const holder = this.ds.lockHolder(name);
      const lock = holder === undefined ? [] : [node('locks', [node('global-lock', [...leafNode('locked-by-session', ns, holder)])])];
      return node('datastore', [...leafNode('name', ns, name), ...lock]);
    });
    return node('netconf-state', [
      node('capabilities', CAPABILITIES.map((c) => ({ name: 'capability', ns, value: c }))),
      node('datastores', datastores),
      monitoringSchemas(),
      node(
        'sessions',
        [...this.sessions.values()].map((s) =>
          node('session', [
            ...leafNode('session-id', ns, s.id),
            ...leafNode('transport', ns, 'netconf-ssh'),
            ...leafNode('username', ns, s.transport.user),
            ...leafNode('source-host', ns, s.transport.remoteAddress),
            ...leafNode('login-time', ns, s.loginTime),
            ...leafNode('in-rpcs', ns, s.stats.inRpcs),
            ...leafNode('in-bad-rpcs', ns, s.stats.inBadRpcs),
            ...leafNode('out-rpc-errors', ns, s.stats.outRpcErrors),
            ...leafNode('out-notifications', ns, 0),
          ]),
        ),
      ),
      node('statistics', [
        ...leafNode('netconf-start-time', ns, this.startTime),
        ...leafNode('in-bad-hellos', ns, this.global.inBadHellos),
        ...leafNode('in-sessions', ns, this.global.inSessions),
        ...leafNode('dropped-sessions', ns, this.global.droppedSessions),
        ...leafNode('in-rpcs', ns, this.global.inRpcs),
        ...leafNode('in-bad-rpcs', ns, this.global.inBadRpcs),
        ...leafNode('out-rpc-errors', ns, this.global.outRpcErrors),
        ...leafNode('out-notifications', ns, 0),
      ]),
    ]);
  }
}

function locationData(name: string, l: Location): DataNode {
  return { name, ns: EM_NS, children: [...leafNode('kind', EM_NS, l.kind), ...leafNode('port', EM_NS, l.port), ...leafNode('vtep', EM_NS, l.vtep)] };
}

/** AgentState as the YANG module's state container. */
export function stateData(st: AgentState): DataNode[] {
  const ns = EM_NS;
  const out: DataNode[] = [];
  for (const s of st.sessions)
    out.push({
      name: 'session',
      ns,
      children: [
        ...leafNode('id', ns, s.id),
        ...leafNode('name', ns, s.name),
        ...leafNode('origin', ns, s.origin),
        ...leafNode('vni', ns, s.vni),
        ...leafNode('monitored-host-mac', ns, s.hostMac),
        ...leafNode('host-id', ns, s.hostId),
        ...leafNode('direction', ns, s.direction),
        ...leafNode('status', ns, s.status),
        ...s.roles.map((r) => ({ name: 'role', ns, value: r })),
        locationData('monitored-host-location', s.hostLocation),
        locationData('monitor-server-location', s.monitorLocation),
      ],
    });
  for (const e of st.entries)
    out.push({
      name: 'entry',
      ns,
      children: [
        ...leafNode('id', ns, e.id),
        ...leafNode('kind', ns, e.kind),
        ...e.sessions.map((x) => ({ name: 'session', ns, value: x })),
        ...leafNode('match', ns, e.match),
        ...leafNode('action', ns, e.action),
        ...leafNode('packets', ns, e.packets),
        ...leafNode('bytes', ns, e.bytes),
      ],
    });
  for (const m of st.macs ?? [])
    out.push({
      name: 'mac',
      ns,
      children: [
        ...leafNode('vni', ns, m.vni),
        ...leafNode('mac', ns, m.mac),
        locationData('location', m.location),
        ...leafNode('sequence', ns, m.sequence),
        ...leafNode('sticky', ns, String(m.sticky)),
        ...leafNode('duplicate', ns, String(m.duplicate)),
      ],
    });
  for (const p of st.bgpPeers)
    out.push({ name: 'bgp-peer', ns, children: [...leafNode('address', ns, p.address), ...leafNode('state', ns, p.state), ...leafNode('prefixes-received', ns, p.prefixesReceived)] });
  return out;
}

/** Loads a <config> document (as written by the server) into a datastore tree. */
export function configFromXml(xml: string): ConfigNode {
  const doc = parseXml(xml);
  return fromXml(doc.local === 'config' ? child(doc, 'evpn-mirror', EM_NS) : doc);
}
