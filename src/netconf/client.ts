// A NETCONF client over SSH (RFC 6241 over RFC 6242), on ssh2's Client: what evpn-mirrorctl
// and the tests use to talk to the agent's northbound (or to any NETCONF server).
//
// - connect(): SSH (password and/or private key; the host key is checked against a SHA256
//   fingerprint when one is given), the "netconf" subsystem, then the <hello> exchange. Our
//   hello goes out at once in end-of-message framing, advertising base:1.0 and base:1.1; both
//   directions switch to chunked framing iff the server's hello has base:1.1 too (RFC 6242
//   section 4.1).
// - rpc(): one <rpc> with the next message-id; resolves with the <rpc-reply> element, or
//   rejects with NetconfRpcError (the reply carries rpc-error(s) of severity error), or with
//   NetconfTransportError (timeout, connection closed, protocol violation by the server).
//   Replies are matched by message-id (and, as RFC 6241 requires, arrive in request order).
//   An RPC that timed out is abandoned: its late reply is dropped, the session stays usable.
// - Replies are parsed with parseXml (saxes), never by hand.
import { readFileSync } from 'node:fs';
import { Client as SshClient, type ClientChannel, type ConnectConfig } from 'ssh2';
import { BASE_NS } from './errors';
import { FramingError, MessageReader, frameChunked, frameEom, type Framing } from './framing';
import { keyFingerprint } from './users';
import { XmlElement, XmlError, attr, child, escapeText, parseXml } from './xml';

export const NETCONF_BASE_10 = 'urn:ietf:params:netconf:base:1.0';
export const NETCONF_BASE_11 = 'urn:ietf:params:netconf:base:1.1';
/** Default timeout of connect() (SSH handshake, authentication, hello) and of each RPC. */
export const DEFAULT_TIMEOUT_MS = 30_000;

export type Datastore = 'running' | 'candidate' | 'startup';

export interface NetconfConnectOptions {
  host: string;
  /** Default 830 (RFC 6242 section 3). */
  port?: number;
  username: string;
  password?: string;
  /** A private key: the path of a key file, or the key itself as a Buffer (OpenSSH or PEM). */
  privateKey?: string | Buffer;
  /** Passphrase of an encrypted private key. */
  passphrase?: string;
  /**
   * Expected host key fingerprint, "SHA256:<base64>" as `ssh-keygen -l` prints it (the
   * "SHA256:" prefix and base64 padding are optional). When given, a different host key fails
   * connect() with kind 'host-key'. When absent, any host key is accepted (see
   * hostKeyFingerprint after connecting).
   */
  hostKeyFingerprint?: string;
  /** Timeout of connect() as a whole, and the default timeout of each RPC (default 30 s). */
  timeoutMs?: number;
  /** Capabilities of our hello (default base:1.0 and base:1.1). */
  capabilities?: string[];
}

export interface RpcOptions {
  /** This RPC's timeout (default: the connection's timeoutMs). */
  timeoutMs?: number;
}

/** One <rpc-error> of a reply (RFC 6241 section 4.3). */
export interface NetconfErrorDetail {
  type: string;
  tag: string;
  severity: string;
  appTag?: string;
  /** error-path as the server wrote it (an XPath, e.g. /em:evpn-mirror/em:session[em:name='x']/em:vni). */
  path?: string;
  message: string;
  /** error-info children as [element name, text], e.g. ['bad-element', 'vni']. */
  info: [string, string][];
}

/** The server answered an <rpc> with rpc-error(s). */
export class NetconfRpcError extends Error {
  readonly errors: NetconfErrorDetail[];
  /** The whole <rpc-reply>. */
  readonly reply: XmlElement;
  constructor(errors: NetconfErrorDetail[], reply: XmlElement) {
    super(errors.map((e) => `${e.tag}: ${e.message}${e.path ? ` (${e.path})` : ''}`).join('; ') || 'rpc-error');
    this.name = 'NetconfRpcError';
    this.errors = errors;
    this.reply = reply;
  }
}

export type TransportErrorKind =
  /** TCP/SSH connection could not be made (refused, unreachable, SSH handshake failure). */
  | 'connect'
  /** SSH authentication failed. */
  | 'auth'
  /** The host key does not match hostKeyFingerprint. */
  | 'host-key'
  /** connect() or an RPC took longer than its timeout. */
  | 'timeout'
  /** The session or connection is closed (by the server, the network, or close()). */
  | 'closed'
  /** The server broke the protocol (framing, malformed XML, bad hello, no netconf subsystem). */
  | 'protocol';

/** Anything that is not an rpc-error: connection, authentication, timeout, protocol. */
export class NetconfTransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'NetconfTransportError';
  }
}

/** The <rpc-error>s of an <rpc-reply>. */
export function rpcErrorsOf(reply: XmlElement): NetconfErrorDetail[] {
  const out: NetconfErrorDetail[] = [];
  for (const e of reply.children) {
    if (e.local !== 'rpc-error' || e.ns !== BASE_NS) continue;
    const text = (name: string): string | undefined => child(e, name, BASE_NS)?.text.trim();
    const d: NetconfErrorDetail = {
      type: text('error-type') ?? '',
      tag: text('error-tag') ?? '',
      severity: text('error-severity') ?? 'error',
      message: text('error-message') ?? '',
      info: (child(e, 'error-info', BASE_NS)?.children ?? []).map((i) => [i.local, i.text.trim()] as [string, string]),
    };
    const appTag = text('error-app-tag');
    const path = text('error-path');
    if (appTag) d.appTag = appTag;
    if (path) d.path = path;
    out.push(d);
  }
  return out;
}

function normalizeFingerprint(fp: string): string {
  return fp.trim().replace(/^SHA256:/i, '').replace(/=+$/, '');
}

interface Pending {
  id: string;
  op: string;
  resolve: (reply: XmlElement) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class NetconfClient {
  private conn: SshClient | undefined;
  private channel: ClientChannel | undefined;
  private reader = new MessageReader();
  private out: Framing = 'eom';
  private messageId = 0;
  private ready = false;
  private failure: NetconfTransportError | undefined;
  private connClosed: Promise<void> = Promise.resolve();
  /** Pending RPCs by message-id. */
  private readonly pending = new Map<string, Pending>();
  /** message-ids sent and not yet answered, in order (including timed-out ones). */
  private readonly inFlight: string[] = [];
  private helloWaiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private defaultTimeoutMs = DEFAULT_TIMEOUT_MS;
  private ourCapabilities: string[] = [];

  /** The session-id from the server's hello. */
  sessionId = 0;
  /** The capabilities of the server's hello. */
  serverCapabilities: string[] = [];
  /** The server's host key fingerprint ("SHA256:..."), known once the SSH handshake is done. */
  hostKeyFingerprint: string | undefined;

  /** Connect and exchange hellos; the returned client is ready for rpc(). */
  static async connect(opts: NetconfConnectOptions): Promise<NetconfClient> {
    const c = new NetconfClient();
    await c.connect(opts);
    return c;
  }

  /** Framing in use (both directions): 'eom' until both hellos advertised base:1.1. */
  get framing(): Framing {
    return this.out;
  }

  /** True after a successful connect() and until the session closes. */
  get connected(): boolean {
    return this.ready && !this.failure;
  }

  async connect(opts: NetconfConnectOptions): Promise<void> {
    if (this.conn) throw new Error('NetconfClient.connect() may only be called once');
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
    this.defaultTimeoutMs = timeoutMs;
    const port = opts.port ?? 830;
    const where = `${opts.host}:${port}`;
    const caps = opts.capabilities ?? [NETCONF_BASE_10, NETCONF_BASE_11];
    if (!caps.includes(NETCONF_BASE_10) && !caps.includes(NETCONF_BASE_11)) throw new Error('capabilities must include base:1.0 or base:1.1');
    this.ourCapabilities = caps;

    let privateKey: Buffer | undefined;
    if (typeof opts.privateKey === 'string') {
      try {
        privateKey = readFileSync(opts.privateKey);
      } catch (e) {
        throw new NetconfTransportError('auth', `cannot read private key ${opts.privateKey}: ${(e as Error).message}`);
      }
    } else if (opts.privateKey) privateKey = opts.privateKey;

    const conn = new SshClient();
    this.conn = conn;
    this.connClosed = new Promise((resolve) => conn.once('close', () => resolve()));
    let hostKeyMismatch: string | undefined;
    const cfg: ConnectConfig = {
      host: opts.host,
      port,
      username: opts.username,
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer): boolean => {
        this.hostKeyFingerprint = keyFingerprint(key);
        if (opts.hostKeyFingerprint === undefined) return true;
        if (normalizeFingerprint(opts.hostKeyFingerprint) === normalizeFingerprint(this.hostKeyFingerprint)) return true;
        hostKeyMismatch = `host key of ${where} is ${this.hostKeyFingerprint}, expected ${opts.hostKeyFingerprint}`;
        return false;
      },
    };
    if (opts.password !== undefined) cfg.password = opts.password;
    if (privateKey) cfg.privateKey = privateKey;
    if (opts.passphrase !== undefined) cfg.passphrase = opts.passphrase;

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NetconfTransportError('timeout', `connecting to ${where} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.sshConnect(conn, cfg, where, opts.username, () => hostKeyMismatch), deadline]);
      // From here on, a connection failure fails the session (and every pending RPC).
      conn.on('error', (e: Error) => this.fail('closed', `SSH connection to ${where} failed: ${e.message}`));
      conn.on('close', () => this.fail('closed', `the SSH connection to ${where} closed`));
      const channel = await Promise.race([this.openSubsystem(conn, where), deadline]);
      this.channel = channel;
      channel.on('data', (d: Buffer) => this.onData(d));
      channel.on('close', () => this.fail('closed', `the server closed the NETCONF session (${where})`));
      channel.on('error', (e: Error) => this.fail('closed', `NETCONF channel error: ${e.message}`));
      channel.stderr.resume();
      const hello = new Promise<void>((resolve, reject) => (this.helloWaiter = { resolve, reject }));
      this.write(`<hello xmlns="${BASE_NS}"><capabilities>${caps.map((c) => `<capability>${escapeText(c)}</capability>`).join('')}</capabilities></hello>`);
      await Promise.race([hello, deadline]);
      this.ready = true;
    } catch (e) {
      const err = e instanceof NetconfTransportError ? e : new NetconfTransportError('connect', `cannot connect to ${where}: ${(e as Error).message}`);
      this.fail(err.kind, err.message);
      conn.end();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private sshConnect(conn: SshClient, cfg: ConnectConfig, where: string, user: string, mismatch: () => string | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        conn.off('ready', onReady);
        conn.off('error', onError);
        conn.off('close', onClose);
      };
      const onReady = (): void => {
        cleanup();
        conn.setNoDelay(true); // request/reply: no Nagle wait behind a delayed ACK
        resolve();
      };
      const onError = (err: Error & { level?: string; code?: string }): void => {
        cleanup();
        conn.on('error', () => {}); // late errors of a failed connection
        const bad = mismatch();
        if (bad) reject(new NetconfTransportError('host-key', bad));
        else if (err.level === 'client-authentication') reject(new NetconfTransportError('auth', `authentication failed for user '${user}' at ${where}`));
        else if (err.level === 'client-timeout') reject(new NetconfTransportError('timeout', `SSH handshake with ${where} timed out`));
        else reject(new NetconfTransportError('connect', `cannot connect to ${where}: ${err.message}`));
      };
      const onClose = (): void => {
        cleanup();
        const bad = mismatch();
        reject(bad ? new NetconfTransportError('host-key', bad) : new NetconfTransportError('connect', `the connection to ${where} closed during the SSH handshake`));
      };
      conn.on('ready', onReady);
      conn.on('error', onError);
      conn.on('close', onClose);
      try {
        conn.connect(cfg);
      } catch (e) {
        cleanup();
        // ssh2 throws synchronously for a bad configuration, e.g. a private key it cannot parse.
        reject(new NetconfTransportError('auth', `cannot use the SSH credentials: ${(e as Error).message}`));
      }
    });
  }

  private openSubsystem(conn: SshClient, where: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) =>
      conn.subsys('netconf', (err: Error | undefined, ch: ClientChannel) => {
        if (err) reject(new NetconfTransportError('protocol', `${where} refused the netconf SSH subsystem: ${err.message}`));
        else resolve(ch);
      }),
    );
  }

  private write(xml: string): void {
    const frame = this.out === 'chunked' ? frameChunked(xml) : frameEom(xml);
    this.channel!.write(frame);
  }

  private onData(d: Buffer): void {
    if (this.failure) return;
    try {
      this.reader.append(d);
      // One message at a time: the hello switches the reader to chunked framing before the
      // next message is read.
      while (!this.failure) {
        const m = this.reader.next();
        if (m === undefined) break;
        this.onMessage(m);
      }
    } catch (e) {
      if (e instanceof FramingError) this.fail('protocol', `NETCONF framing error from the server: ${e.message}`);
      else throw e;
    }
  }

  private onMessage(text: string): void {
    let doc: XmlElement;
    try {
      doc = parseXml(text);
    } catch (e) {
      this.fail('protocol', `malformed XML from the server: ${(e as Error).message}`);
      return;
    }
    if (this.helloWaiter) {
      this.onHello(doc);
      return;
    }
    if (doc.local !== 'rpc-reply' || doc.ns !== BASE_NS) return; // e.g. a <notification>: not ours
    const id = attr(doc, 'message-id');
    // Replies come in request order: everything sent before this reply's request is settled.
    let answered: string | undefined;
    if (id === undefined) answered = this.inFlight.shift();
    else {
      const at = this.inFlight.indexOf(id);
      if (at === -1) return; // not a request of ours (or a duplicate)
      answered = this.inFlight.splice(0, at + 1)[at];
    }
    const p = answered === undefined ? undefined : this.pending.get(answered);
    if (!p) return; // abandoned after a timeout
    this.pending.delete(p.id);
    clearTimeout(p.timer);
    const errors = rpcErrorsOf(doc);
    if (errors.some((e) => e.severity !== 'warning')) p.reject(new NetconfRpcError(errors, doc));
    else p.resolve(doc);
  }

  private onHello(doc: XmlElement): void {
    // fail() rejects the waiting connect(); success resolves it below.
    if (doc.local !== 'hello' || doc.ns !== BASE_NS) {
      this.fail('protocol', `expected the server's <hello>, got <${doc.local}> in '${doc.ns}'`);
      return;
    }
    const caps = (child(doc, 'capabilities', BASE_NS)?.children ?? []).filter((c) => c.local === 'capability').map((c) => c.text.trim());
    const sid = child(doc, 'session-id', BASE_NS)?.text.trim() ?? '';
    if (!/^[1-9][0-9]*$/.test(sid)) {
      this.fail('protocol', `the server's <hello> has no valid session-id (got '${sid}')`);
      return;
    }
    if (!caps.includes(NETCONF_BASE_10) && !caps.includes(NETCONF_BASE_11)) {
      this.fail('protocol', "the server's <hello> advertises neither base:1.0 nor base:1.1");
      return;
    }
    this.sessionId = Number(sid);
    this.serverCapabilities = caps;
    if (caps.includes(NETCONF_BASE_11) && this.ourCapabilities.includes(NETCONF_BASE_11)) {
      // RFC 6242 section 4.1: chunked once both hellos advertised base:1.1.
      this.out = 'chunked';
      this.reader.useChunked();
    }
    const w = this.helloWaiter!;
    this.helloWaiter = undefined;
    w.resolve();
  }

  /** Fail the session: every pending RPC (and a connect() in progress) rejects with this error. */
  private fail(kind: TransportErrorKind, message: string): void {
    if (this.failure) return;
    const err = new NetconfTransportError(kind, message);
    this.failure = err;
    this.ready = false;
    this.helloWaiter?.reject(err);
    this.helloWaiter = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new NetconfTransportError(kind === 'timeout' ? 'closed' : kind, `<${p.op}> (message-id ${p.id}) failed: ${message}`));
    }
    this.pending.clear();
    this.inFlight.length = 0;
    this.conn?.end();
  }

  /**
   * Send one <rpc> holding innerXml (the operation element; the rpc's default namespace is the
   * base namespace) and resolve with the <rpc-reply>. Rejects with NetconfRpcError when the
   * reply carries rpc-error(s) of severity error, with NetconfTransportError on timeout or when
   * the session closes, and with an XmlError if innerXml is not well-formed.
   */
  rpc(innerXml: string, opts: RpcOptions = {}): Promise<XmlElement> {
    if (this.failure) return Promise.reject(new NetconfTransportError('closed', `the NETCONF session is closed: ${this.failure.message}`));
    if (!this.ready || !this.channel) return Promise.reject(new NetconfTransportError('closed', 'not connected (call connect() first)'));
    const id = String(++this.messageId);
    const xml = `<rpc xmlns="${BASE_NS}" message-id="${id}">${innerXml}</rpc>`;
    let op: string;
    try {
      const doc = parseXml(xml);
      op = doc.children[0]?.local ?? 'rpc';
    } catch (e) {
      return Promise.reject(new XmlError(`the <rpc> content is not well-formed XML: ${(e as Error).message}`));
    }
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<XmlElement>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        reject(new NetconfTransportError('timeout', `no reply to <${op}> (message-id ${id}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { id, op, resolve, reject, timer });
      this.inFlight.push(id);
      try {
        this.write(xml);
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        this.inFlight.splice(this.inFlight.indexOf(id), 1);
        reject(e as Error);
      }
    });
  }

  /** <get-config>: the <data> element of the reply. filterXml is the content of a subtree filter. */
  async getConfig(source: Datastore = 'running', filterXml?: string, opts?: RpcOptions): Promise<XmlElement> {
    return dataOf(await this.rpc(`<get-config><source><${source}/></source>${filterElement(filterXml)}</get-config>`, opts));
  }

  /** <get> (running configuration and state): the <data> element of the reply. */
  async get(filterXml?: string, opts?: RpcOptions): Promise<XmlElement> {
    return dataOf(await this.rpc(`<get>${filterElement(filterXml)}</get>`, opts));
  }

  /** <edit-config>: configInnerXml is the content of <config> (elements in their own namespaces). */
  async editConfig(
    target: 'running' | 'candidate',
    configInnerXml: string,
    options: { defaultOperation?: 'merge' | 'replace' | 'none'; errorOption?: 'stop-on-error' | 'continue-on-error' | 'rollback-on-error'; testOption?: 'test-then-set' | 'set' | 'test-only' } = {},
    opts?: RpcOptions,
  ): Promise<void> {
    let params = '';
    if (options.defaultOperation) params += `<default-operation>${options.defaultOperation}</default-operation>`;
    if (options.testOption) params += `<test-option>${options.testOption}</test-option>`;
    if (options.errorOption) params += `<error-option>${options.errorOption}</error-option>`;
    await this.rpc(`<edit-config><target><${target}/></target>${params}<config>${configInnerXml}</config></edit-config>`, opts);
  }

  /** <commit> of the candidate (confirmed commit of RFC 6241 section 8.4 when opts.confirmed). */
  async commit(options: { confirmed?: boolean; confirmTimeout?: number; persist?: string; persistId?: string } = {}, opts?: RpcOptions): Promise<void> {
    let body = '';
    if (options.confirmed) body += '<confirmed/>';
    if (options.confirmTimeout !== undefined) body += `<confirm-timeout>${options.confirmTimeout}</confirm-timeout>`;
    if (options.persist !== undefined) body += `<persist>${escapeText(options.persist)}</persist>`;
    if (options.persistId !== undefined) body += `<persist-id>${escapeText(options.persistId)}</persist-id>`;
    await this.rpc(`<commit>${body}</commit>`, opts);
  }

  async validate(source: Datastore = 'candidate', opts?: RpcOptions): Promise<void> {
    await this.rpc(`<validate><source><${source}/></source></validate>`, opts);
  }

  async lock(target: Datastore, opts?: RpcOptions): Promise<void> {
    await this.rpc(`<lock><target><${target}/></target></lock>`, opts);
  }

  async unlock(target: Datastore, opts?: RpcOptions): Promise<void> {
    await this.rpc(`<unlock><target><${target}/></target></unlock>`, opts);
  }

  async discardChanges(opts?: RpcOptions): Promise<void> {
    await this.rpc('<discard-changes/>', opts);
  }

  /** <close-session>, then close(). */
  async closeSession(opts?: RpcOptions): Promise<void> {
    try {
      await this.rpc('<close-session/>', opts);
    } finally {
      await this.close();
    }
  }

  /**
   * Close the SSH connection (without <close-session>); pending RPCs reject with kind
   * 'closed'. Resolves when the connection is closed (at most 2 s: then it is destroyed).
   */
  async close(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    this.fail('closed', 'the NETCONF client was closed');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.connClosed,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          conn.destroy();
          resolve();
        }, 2000);
      }),
    ]);
    clearTimeout(timer);
  }
}

function filterElement(filterXml: string | undefined): string {
  return filterXml === undefined ? '' : `<filter type="subtree">${filterXml}</filter>`;
}

function dataOf(reply: XmlElement): XmlElement {
  const d = child(reply, 'data', BASE_NS);
  if (!d) throw new NetconfTransportError('protocol', 'the <rpc-reply> has no <data>');
  return d;
}
