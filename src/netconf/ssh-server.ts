// NETCONF over SSH (RFC 6242): an SSH server (ssh2) that authenticates NETCONF users and hands
// each "netconf" subsystem channel to the RPC layer as a NetconfTransport, with RFC 6242
// section 4 framing on both directions.
//
// What this module does not do: hellos, session-ids, capabilities, RPCs. The RPC layer does,
// through NetconfTransport: it receives every message, sends its own, and calls useChunked()
// once both hellos advertised base:1.1 (RFC 6242 section 4.1).
import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsConstants } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import {
  Server as SshServer,
  utils as sshUtils,
  type AuthContext,
  type ClientInfo,
  type Connection,
  type ParsedKey,
  type PublicKeyAuthContext,
  type ServerChannel,
  type Session,
} from 'ssh2';
import { TypedEmitter } from '../util/events';
import type { Logger } from '../util/log';
import { FramingError, MessageReader, frameChunked, frameEom, type Framing, type MessageReaderOptions } from './framing';
import {
  hashPassword,
  keyFingerprint,
  validateUsers,
  verifyPasswordAsync,
  type NetconfUser,
  type Role,
  type UserTable,
} from './users';

export const NETCONF_SUBSYSTEM = 'netconf';
/** IANA port for NETCONF over SSH (RFC 6242 section 3). */
export const NETCONF_SSH_PORT = 830;

export interface NetconfTransportEvents {
  /** One complete NETCONF message (UTF-8 decoded XML text). */
  message: (xml: string) => void;
  /** The channel is closed; emitted once. No more messages are delivered after it. */
  close: () => void;
  /**
   * A FramingError from the peer (emitted before the transport closes), or an exception thrown
   * by a 'message' listener (the transport closes too).
   */
  error: (e: Error) => void;
  /** Output queued while the channel was full has all been handed to the channel. */
  drain: () => void;
}

/** One NETCONF session's transport: what the RPC layer talks to. */
export interface NetconfTransport {
  /** Unique per server, counting from 1: usable as the NETCONF session-id (RFC 6241 section 8.1). */
  readonly id: number;
  /** The authenticated SSH user name. */
  readonly user: string;
  /** The user's role when the user authenticated. */
  readonly role: Role;
  readonly remoteAddress: string;
  /** Framing of what send() sends (and of what is read): 'eom' until useChunked(). */
  readonly framing: Framing;
  /** True once close() was called or the channel closed: send() then drops its message. */
  readonly closed: boolean;
  /** True while output is queued waiting for the channel (send() still works; 'drain' follows). */
  readonly needDrain: boolean;
  /** The server's helloTimeoutMs option, passed through for the RPC layer (undefined: not set). */
  readonly helloTimeoutMs?: number;
  /**
   * Frame and send one message. Throws FramingError (and sends nothing) if the message cannot
   * be framed: in end-of-message framing a message containing "]]>]]>", in chunked framing an
   * empty message.
   */
  send(xml: string): void;
  /**
   * Switch both directions to chunked framing (RFC 6242 section 4.1): messages sent after this
   * call, and input not yet delivered. Call it when handling the client's hello, either in the
   * 'message' listener or in a promise job it starts: the transport delivers nothing after the
   * hello before the next macrotask, so input that followed the hello in the same data is read
   * in chunked framing. (A later call still works unless that input contained "]]>]]>".)
   */
  useChunked(): void;
  /** Close the channel once all output has been sent. */
  close(): void;
  on<K extends keyof NetconfTransportEvents>(event: K, fn: NetconfTransportEvents[K]): this;
  once<K extends keyof NetconfTransportEvents>(event: K, fn: NetconfTransportEvents[K]): this;
  off<K extends keyof NetconfTransportEvents>(event: K, fn: NetconfTransportEvents[K]): this;
}

export interface NetconfSshServerOptions {
  /** Address to listen on (default '0.0.0.0'; '::' for dual stack). */
  host?: string;
  /** TCP port (default 830; 0 picks a free port, reported by start()). */
  port?: number;
  /**
   * Private host key file (OpenSSH or PEM, ed25519/RSA/ECDSA, unencrypted). Created on first
   * start with a new key of hostKeyType (mode 0600, written atomically), then reused as is.
   */
  hostKeyPath: string;
  /** Type of a generated host key (default 'ed25519'; 'rsa' makes a 3072-bit key). */
  hostKeyType?: 'ed25519' | 'rsa';
  users: readonly NetconfUser[];
  logger: Logger;
  /** Most NETCONF sessions open at once; more 'netconf' subsystem requests are refused (default 64). */
  maxSessions?: number;
  /** Not used here: passed through to each transport for the RPC layer. */
  helloTimeoutMs?: number;
  /** Close an SSH connection with no channel traffic for this long (default 0: never). */
  idleTimeoutMs?: number;
  /** Close a connection that has not authenticated within this time (default 60 s). */
  authTimeoutMs?: number;
  /** Disconnect a client after this many rejected authentication requests (default 20; 'none' does not count). */
  maxAuthAttempts?: number;
  /** Caps of the message reader of each session (see MessageReaderOptions). */
  framing?: MessageReaderOptions;
  /** SSH keepalive interval in ms (default 15000; ssh2 disconnects after 3 unanswered). */
  keepaliveIntervalMs?: number;
  /** How long a closing session may take to flush its output before it is closed anyway (default 10000). */
  closeTimeoutMs?: number;
  /** How long stop() waits for sessions and connections to close before destroying sockets (default 3000). */
  stopGraceMs?: number;
}

export interface NetconfSshServerEvents {
  /** A NETCONF subsystem channel was opened by an authenticated user. */
  session: (transport: NetconfTransport) => void;
}

const AUTH_METHODS: ('password' | 'publickey')[] = ['password', 'publickey'];

// ---------------------------------------------------------------------------------------------
// Host key

export interface HostKey {
  key: ParsedKey;
  /** The file's contents (an unencrypted private key). */
  privateKey: string;
  /** "SHA256:..." as ssh-keygen -l prints it. */
  fingerprint: string;
  created: boolean;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function parseHostKey(text: string, file: string): ParsedKey {
  let parsed = sshUtils.parseKey(text);
  if (Array.isArray(parsed)) parsed = parsed[0] as ParsedKey;
  if (parsed instanceof Error || !parsed) {
    throw new Error(`host key ${file} cannot be parsed${parsed instanceof Error ? ': ' + parsed.message : ''}`);
  }
  if (!parsed.isPrivateKey()) throw new Error(`host key ${file} is not a private key`);
  return parsed;
}

function generateKeyOnce(type: 'ed25519' | 'rsa'): Promise<{ private: string; public: string }> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, kp: { private: string; public: string }) => (err ? reject(err) : resolve(kp));
    if (type === 'rsa') sshUtils.generateKeyPair('rsa', { bits: 3072, comment: 'netconf host key' }, done);
    else sshUtils.generateKeyPair('ed25519', { comment: 'netconf host key' }, done);
  });
}

/**
 * A new host key that ssh2 can read back. ssh2 1.17's generateKeyPair('ed25519') drops
 * leading zero bytes of the public key (mscdex/ssh2 issues 1390, 1513), so about 1 key in 256
 * does not parse: such keys are thrown away and another one is made.
 */
async function generateKey(type: 'ed25519' | 'rsa'): Promise<string> {
  for (let attempt = 0; attempt < 16; attempt++) {
    const kp = await generateKeyOnce(type);
    if (!(sshUtils.parseKey(kp.private) instanceof Error) && !(sshUtils.parseKey(kp.public) instanceof Error)) return kp.private;
  }
  throw new Error(`could not generate a readable ${type} host key`);
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, fsConstants.O_RDONLY);
    await fh.sync();
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  } finally {
    await fh?.close();
  }
}

/**
 * Read the host key at file, or create it: a new key written to a temporary file (mode 0600),
 * fsynced, then linked into place without replacing a file another process created meanwhile
 * (rename where hard links are not supported), and the directory fsynced.
 */
export async function loadOrCreateHostKey(
  file: string,
  type: 'ed25519' | 'rsa',
  logger: Logger,
): Promise<HostKey> {
  const read = async (created: boolean): Promise<HostKey> => {
    const text = await fsp.readFile(file, 'utf8');
    const key = parseHostKey(text, file);
    const st = await fsp.stat(file);
    if ((st.mode & 0o077) !== 0) {
      logger.warn('NETCONF SSH host key file is accessible to group or others', {
        path: file,
        mode: (st.mode & 0o777).toString(8),
      });
    }
    return { key, privateKey: text, fingerprint: keyFingerprint(key.getPublicSSH()), created };
  };
  try {
    return await read(false);
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
  }
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const pem = await generateKey(type);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, 'wx', 0o600);
  let created = true;
  try {
    try {
      await fh.writeFile(pem, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fsp.link(tmp, file);
    } catch (e) {
      const code = errno(e);
      if (code === 'EEXIST') created = false; // another process won the race: use its key
      else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EXDEV') {
        await fsp.rename(tmp, file);
      } else throw e;
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  await fsyncDir(dir);
  const hk = await read(created);
  if (created) logger.info('generated NETCONF SSH host key', { path: file, type: hk.key.type, fingerprint: hk.fingerprint });
  return hk;
}

// ---------------------------------------------------------------------------------------------
// Transport

interface ConnState {
  readonly client: Connection;
  readonly ip: string;
  readonly port: number;
  user?: string;
  role?: Role;
  authMethod?: string;
  authenticated: boolean;
  lastUser?: string;
  failures: number;
  closed: boolean;
  readonly transports: Set<SshNetconfTransport>;
  idleTimer?: NodeJS.Timeout;
}

class SshNetconfTransport extends TypedEmitter<NetconfTransportEvents> implements NetconfTransport {
  private readonly reader: MessageReader;
  private out: Framing = 'eom';
  private readonly queue: Buffer[] = [];
  private waitingDrain = false;
  private closing = false;
  private ended = false;
  private done = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private delivering = false;
  private pumpScheduled = false;
  private delivered = 0;

  constructor(
    readonly id: number,
    private readonly channel: ServerChannel,
    readonly user: string,
    readonly role: Role,
    readonly remoteAddress: string,
    readonly helloTimeoutMs: number | undefined,
    readerOptions: MessageReaderOptions | undefined,
    private readonly log: Logger,
    private readonly touch: () => void,
    private readonly closeTimeoutMs: number,
  ) {
    super();
    this.reader = new MessageReader(readerOptions);
    channel.on('data', (data: Buffer) => this.onData(data));
    channel.on('drain', () => this.flush());
    channel.on('end', () => {
      if (!this.closing && this.reader.bufferedBytes > 0) {
        this.log.debug('NETCONF peer ended the channel inside a message', { bytes: this.reader.bufferedBytes });
      }
      this.close();
    });
    channel.on('error', (e: Error) => this.log.debug('NETCONF channel error', { error: e.message }));
    channel.on('close', () => this.finish());
  }

  get framing(): Framing {
    return this.out;
  }

  get closed(): boolean {
    return this.closing || this.done;
  }

  get needDrain(): boolean {
    return this.waitingDrain || this.queue.length > 0;
  }

  send(xml: string): void {
    if (this.closed) {
      this.log.debug('NETCONF message dropped: transport closed', { bytes: Buffer.byteLength(xml) });
      return;
    }
    const frame = this.out === 'chunked' ? frameChunked(xml) : frameEom(xml);
    this.touch();
    if (this.waitingDrain || this.queue.length > 0) {
      this.queue.push(frame);
      return;
    }
    if (!this.channel.write(frame)) this.waitingDrain = true;
  }

  useChunked(): void {
    if (this.out === 'chunked') return;
    this.out = 'chunked';
    this.reader.useChunked();
    // Input already buffered may now make complete chunked messages (if the switch came late).
    if (!this.delivering) queueMicrotask(() => this.pump());
  }

  close(): void {
    if (this.closing || this.done) return;
    this.closing = true;
    this.endIfFlushed();
  }

  private endIfFlushed(): void {
    if (this.closing && !this.ended && !this.waitingDrain && this.queue.length === 0) {
      this.ended = true;
      this.channel.end(); // server side: EOF and CLOSE once everything written is sent
    }
    // A client that stopped reading (window full) must not keep the channel open for ever after
    // close(): give up on the remaining output after closeTimeoutMs. (The SSH keepalive ends
    // dead connections; this ends live but stuck ones.)
    if (this.closing && !this.closeTimer && !this.done) {
      this.closeTimer = setTimeout(() => {
        this.log.debug('NETCONF channel did not close in time; abandoning queued output', {
          queued: this.queue.length,
        });
        this.queue.length = 0;
        this.channel.close();
      }, this.closeTimeoutMs);
    }
  }

  private flush(): void {
    this.waitingDrain = false;
    while (this.queue.length > 0) {
      const frame = this.queue.shift()!;
      if (!this.channel.write(frame)) {
        this.waitingDrain = true;
        return;
      }
    }
    if (this.closing) this.endIfFlushed();
    else this.safeEmit('drain');
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    this.touch();
    try {
      this.reader.append(data);
    } catch (e) {
      this.inputFailed(e);
      return;
    }
    this.pump();
  }

  /**
   * Deliver the complete messages buffered. After the first message (the client's hello), in
   * end-of-message framing, stop until the next macrotask: the RPC layer may call useChunked()
   * from a promise job rather than synchronously, and what follows the hello in the same data
   * must be read in the framing it chooses.
   */
  private pump(): void {
    if (this.delivering || this.pumpScheduled || this.closed) return;
    this.delivering = true;
    try {
      while (!this.closed) {
        const msg = this.reader.next();
        if (msg === undefined) break;
        this.delivered++;
        try {
          this.emit('message', msg);
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          this.log.error('NETCONF message listener threw; closing the session', { error: err.message });
          this.fail(err);
          return;
        }
        if (this.delivered === 1 && this.out === 'eom') {
          this.pumpScheduled = true;
          setImmediate(() => {
            this.pumpScheduled = false;
            this.pump();
          });
          return;
        }
      }
    } catch (e) {
      this.inputFailed(e);
    } finally {
      this.delivering = false;
    }
  }

  private inputFailed(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (err instanceof FramingError) {
      this.log.warn('NETCONF framing error; closing the session', {
        user: this.user,
        address: this.remoteAddress,
        error: err.message,
      });
    } else {
      this.log.error('NETCONF input handling failed; closing the session', { error: err.message });
    }
    this.fail(err);
  }

  /** Emit without letting a listener's exception reach ssh2 (it would end the whole connection). */
  private safeEmit(event: 'close' | 'drain'): void {
    try {
      this.emit(event);
    } catch (e) {
      this.log.error(`NETCONF '${event}' listener threw`, { error: String(e) });
    }
  }

  private fail(err: Error): void {
    try {
      this.emit('error', err);
    } catch (thrown) {
      if (thrown !== err) this.log.error('NETCONF error listener threw', { error: String(thrown) });
    }
    this.close();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.closing = true;
    this.queue.length = 0;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.safeEmit('close');
  }
}

// ---------------------------------------------------------------------------------------------
// Server

/**
 * NETCONF over SSH server. Users authenticate with a password (scrypt hash) or a public key of
 * theirs; every "netconf" subsystem channel becomes a 'session' event with a NetconfTransport.
 * Shells, exec, ptys, port forwarding and other subsystems are refused.
 */
export class NetconfSshServer extends TypedEmitter<NetconfSshServerEvents> {
  readonly helloTimeoutMs: number | undefined;
  private readonly log: Logger;
  private users: UserTable;
  private readonly opts: NetconfSshServerOptions;
  private ssh: SshServer | undefined;
  private tcp: net.Server | undefined;
  private hostKey: HostKey | undefined;
  private dummyHash = '';
  private readonly sockets = new Map<string, { socket: net.Socket; authTimer: NodeJS.Timeout; ssh: boolean }>();
  private readonly conns = new Set<ConnState>();
  private readonly transports = new Set<SshNetconfTransport>();
  private nextId = 1;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private boundPort = 0;

  constructor(opts: NetconfSshServerOptions) {
    super();
    if (!opts || typeof opts.hostKeyPath !== 'string' || opts.hostKeyPath === '') {
      throw new Error('NetconfSshServer: hostKeyPath is required');
    }
    const port = opts.port ?? NETCONF_SSH_PORT;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid port ${port}`);
    this.opts = opts;
    this.log = opts.logger.child({ component: 'netconf-ssh' });
    this.users = validateUsers(opts.users);
    this.helloTimeoutMs = opts.helloTimeoutMs;
  }

  /** Open NETCONF sessions (netconf subsystem channels). */
  get sessionsOpen(): number {
    return this.transports.size;
  }

  /** Open SSH connections (authenticated or not). */
  get connectionsOpen(): number {
    return this.sockets.size;
  }

  /** "SHA256:..." of the host key (after start()). */
  get hostKeyFingerprint(): string | undefined {
    return this.hostKey?.fingerprint;
  }

  /** The bound port (after start()). */
  get port(): number {
    return this.boundPort;
  }

  /** Replace the user list (validated first; on error the old list stays). Open sessions keep their role. */
  setUsers(users: readonly NetconfUser[]): void {
    this.users = validateUsers(users);
  }

  start(): Promise<{ port: number }> {
    if (this.state !== 'new') return Promise.reject(new Error(`NetconfSshServer cannot start: ${this.state}`));
    this.state = 'starting';
    const started = this.doStart();
    this.starting = started;
    return started;
  }

  private starting: Promise<unknown> = Promise.resolve();

  private async doStart(): Promise<{ port: number }> {
    try {
      this.hostKey = await loadOrCreateHostKey(this.opts.hostKeyPath, this.opts.hostKeyType ?? 'ed25519', this.log);
      // Unknown users and users without a password still cost one scrypt: no timing oracle.
      this.dummyHash = hashPassword(randomBytes(16).toString('base64'));
      const ssh = new SshServer({
        hostKeys: [this.hostKey.privateKey],
        ident: 'NETCONF',
        keepaliveInterval: this.opts.keepaliveIntervalMs ?? 15000,
        keepaliveCountMax: 3,
      });
      ssh.on('connection', (client: Connection, info: ClientInfo) => this.onConnection(client, info));
      ssh.on('error', (e: Error) => this.log.error('NETCONF SSH server error', { error: e.message }));
      this.ssh = ssh;
      const tcp = net.createServer((socket) => this.onSocket(socket));
      this.tcp = tcp;
      const host = this.opts.host ?? '0.0.0.0';
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(this.opts.port ?? NETCONF_SSH_PORT, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      tcp.on('error', (e) => this.log.error('NETCONF SSH listener error', { error: e.message }));
      this.boundPort = (tcp.address() as net.AddressInfo).port;
      if (this.state !== 'starting') throw new Error('NetconfSshServer stopped while starting');
      this.state = 'running';
      this.log.info('NETCONF SSH server listening', {
        host,
        port: this.boundPort,
        hostKey: this.hostKey.fingerprint,
        users: this.users.size,
      });
      return { port: this.boundPort };
    } catch (e) {
      this.state = 'stopped';
      this.tcp?.close();
      throw e;
    }
  }

  /** Stop listening and close every session and connection (flushing output first, within stopGraceMs). */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    if (this.state === 'stopping') return this.stopped;
    const wasStarting = this.state === 'starting';
    this.state = 'stopping';
    this.stopped = (async () => {
      if (wasStarting) await this.starting.catch(() => undefined);
      await this.doStop();
    })();
    return this.stopped;
  }

  private stopped: Promise<void> = Promise.resolve();

  private async doStop(): Promise<void> {
    const grace = this.opts.stopGraceMs ?? 3000;
    const deadline = Date.now() + grace;
    const tcp = this.tcp;
    const tcpClosed = new Promise<void>((resolve) => (tcp?.listening ? tcp.close(() => resolve()) : resolve()));
    for (const t of [...this.transports]) t.close();
    await waitFor(() => this.transports.size === 0, Math.max(0, Math.min(grace / 2, deadline - Date.now())));
    for (const c of this.conns) {
      try {
        c.client.end();
      } catch {
        // already gone
      }
    }
    // Connections that never got through the SSH identification exchange get no goodbye.
    for (const s of this.sockets.values()) if (!s.ssh) s.socket.destroy();
    await waitFor(() => this.sockets.size === 0, Math.max(0, deadline - Date.now()));
    for (const { socket } of this.sockets.values()) socket.destroy();
    await tcpClosed;
    this.state = 'stopped';
    this.log.info('NETCONF SSH server stopped');
  }

  private onSocket(socket: net.Socket): void {
    if (this.state !== 'running' || !this.ssh || !socket.remoteAddress) {
      socket.destroy();
      return;
    }
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    // RPC traffic: a reply's last segment must not wait for the ACK of the one before it
    // (Nagle and the client's delayed ACK stalled a 100 KB get-config by 40 ms, measured).
    socket.setNoDelay(true);
    const authTimer = setTimeout(() => {
      this.log.warn('NETCONF SSH client did not authenticate in time', { address: socket.remoteAddress });
      socket.destroy();
    }, this.opts.authTimeoutMs ?? 60000);
    this.sockets.set(key, { socket, authTimer, ssh: false });
    socket.once('close', () => {
      clearTimeout(authTimer);
      this.sockets.delete(key);
    });
    this.ssh.injectSocket(socket);
  }

  private onConnection(client: Connection, info: ClientInfo): void {
    const conn: ConnState = {
      client,
      ip: info.ip,
      port: info.port,
      authenticated: false,
      failures: 0,
      closed: false,
      transports: new Set(),
    };
    this.conns.add(conn);
    const sock = this.sockets.get(`${info.ip}|${info.port}`);
    if (sock) sock.ssh = true;
    tolerateRepeatedUserauthRequests(client, this.log);
    this.log.debug('NETCONF SSH connection', { address: info.ip, port: info.port, client: info.header.versions.software });
    client.on('error', (e: Error & { level?: string }) => {
      this.log.debug('NETCONF SSH connection error', { address: conn.ip, user: conn.user, error: e.message });
    });
    client.on('authentication', (ctx: AuthContext) => {
      this.authenticate(conn, ctx).catch((e: unknown) => {
        this.log.error('NETCONF SSH authentication failed internally', { error: String(e) });
        if (!conn.closed) ctx.reject(AUTH_METHODS);
      });
    });
    client.on('ready', () => {
      conn.authenticated = true;
      const s = this.sockets.get(`${conn.ip}|${conn.port}`);
      if (s) clearTimeout(s.authTimer);
      this.log.info('NETCONF SSH user authenticated', { user: conn.user, address: conn.ip, method: conn.authMethod });
      this.startIdleTimer(conn);
    });
    client.on('session', (accept: () => Session) => this.onSession(conn, accept()));
    client.on('request', (_accept: unknown, reject: (() => void) | undefined, name: string) => {
      this.log.debug('NETCONF SSH global request refused', { request: name, address: conn.ip });
      reject?.();
    });
    client.on('close', () => {
      conn.closed = true;
      if (conn.idleTimer) clearTimeout(conn.idleTimer);
      this.conns.delete(conn);
      if (!conn.authenticated && conn.failures > 0) {
        this.log.warn('NETCONF SSH connection closed without authenticating', {
          user: conn.lastUser,
          address: conn.ip,
          failures: conn.failures,
        });
      }
    });
  }

  private startIdleTimer(conn: ConnState): void {
    const ms = this.opts.idleTimeoutMs ?? 0;
    if (ms <= 0) return;
    conn.idleTimer = setTimeout(() => {
      this.log.info('NETCONF SSH connection idle; closing', { user: conn.user, address: conn.ip, idleMs: ms });
      conn.client.end();
    }, ms);
  }

  private async authenticate(conn: ConnState, ctx: AuthContext): Promise<void> {
    const name = ctx.username;
    conn.lastUser = name;
    const entry = this.users.get(name);
    const fail = (reason: string, level: 'warn' | 'debug'): void => {
      if (conn.closed) return;
      conn.failures++;
      this.log[level]('NETCONF SSH authentication rejected', { user: name, address: conn.ip, method: ctx.method, reason });
      ctx.reject(AUTH_METHODS);
      const max = this.opts.maxAuthAttempts ?? 20;
      if (conn.failures >= max) {
        this.log.warn('NETCONF SSH too many authentication failures; disconnecting', { user: name, address: conn.ip });
        conn.client.end();
      }
    };
    const ok = (role: Role): void => {
      if (conn.closed) return;
      conn.user = name;
      conn.role = role;
      conn.authMethod = ctx.method;
      ctx.accept();
    };
    switch (ctx.method) {
      case 'none':
        // Clients ask which methods exist; not a failure.
        ctx.reject(AUTH_METHODS);
        return;
      case 'password': {
        const hash = entry?.user.passwordHash;
        const good = await verifyPasswordAsync(ctx.password, hash ?? this.dummyHash);
        if (!entry) return fail('unknown user', 'warn');
        if (!hash) return fail('user has no password', 'warn');
        if (!good) return fail('wrong password', 'warn');
        return ok(entry.user.role);
      }
      case 'publickey':
        return this.authenticateKey(ctx, entry, fail, ok);
      default:
        return fail(`method ${ctx.method} not supported`, 'debug');
    }
  }

  private authenticateKey(
    ctx: PublicKeyAuthContext,
    entry: ReturnType<UserTable['get']>,
    fail: (reason: string, level: 'warn' | 'debug') => void,
    ok: (role: Role) => void,
  ): void {
    const offered = ctx.key.data;
    const fp = keyFingerprint(offered);
    if (!entry) return fail(`unknown user (key ${fp})`, 'debug');
    const key = entry.keys.find((k) => k.type === ctx.key.algo && k.getPublicSSH().equals(offered));
    // A client tries the keys it has (agent, files) before a password: not being on file is routine.
    if (!key) return fail(`key not authorized (${fp})`, 'debug');
    if (!ctx.signature || !ctx.blob) {
      // The client asks whether this key would do (RFC 4252 section 7): PK_OK, not a login.
      ctx.accept();
      return;
    }
    if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return fail(`bad signature (key ${fp})`, 'warn');
    return ok(entry.user.role);
  }

  private onSession(conn: ConnState, session: Session): void {
    const refuse =
      (what: string) =>
      (_accept: unknown, reject?: () => void, info?: { command?: string; name?: string }): void => {
        this.log.info('NETCONF SSH request refused', {
          request: what,
          ...(info?.name !== undefined ? { subsystem: info.name } : {}),
          user: conn.user,
          address: conn.ip,
        });
        reject?.();
      };
    session.on('subsystem', (accept, reject, info) => {
      if (info.name !== NETCONF_SUBSYSTEM) return refuse('subsystem')(accept, reject, info);
      const max = this.opts.maxSessions ?? 64;
      if (this.transports.size >= max || this.state !== 'running') {
        this.log.warn('NETCONF session refused: too many sessions', { user: conn.user, address: conn.ip, max });
        reject?.();
        return;
      }
      const channel = accept();
      this.openTransport(conn, channel);
    });
    session.on('exec', (accept, reject) => refuse('exec')(accept, reject));
    session.on('shell', (accept, reject) => refuse('shell')(accept, reject));
    session.on('pty', (accept, reject) => refuse('pty')(accept, reject));
    session.on('env', (accept, reject) => refuse('env')(accept, reject));
    session.on('x11', (accept, reject) => refuse('x11')(accept, reject));
    session.on('auth-agent', (accept, reject) => refuse('auth-agent')(accept, reject));
    session.on('signal', (accept, reject) => refuse('signal')(accept, reject));
    session.on('window-change', (accept, reject) => refuse('window-change')(accept, reject));
  }

  private openTransport(conn: ConnState, channel: ServerChannel): void {
    const id = this.nextId++;
    const touch = (): void => {
      conn.idleTimer?.refresh();
    };
    const t = new SshNetconfTransport(
      id,
      channel,
      conn.user ?? '',
      conn.role ?? 'read-only',
      conn.ip,
      this.helloTimeoutMs,
      this.opts.framing,
      this.log.child({ session: id, user: conn.user }),
      touch,
      this.opts.closeTimeoutMs ?? 10000,
    );
    this.transports.add(t);
    conn.transports.add(t);
    t.once('close', () => {
      this.transports.delete(t);
      conn.transports.delete(t);
      this.log.info('NETCONF session closed', { session: id, user: conn.user, address: conn.ip });
    });
    this.log.info('NETCONF session opened', { session: id, user: conn.user, role: conn.role, address: conn.ip });
    try {
      this.emit('session', t);
    } catch (e) {
      this.log.error("NETCONF 'session' listener threw; closing the session", { session: id, error: String(e) });
      t.close();
    }
  }
}

/**
 * paramiko (the SSH library of ncclient) sends SERVICE_REQUEST "ssh-userauth" again before every
 * authentication attempt, so a client that tries a key first (agent, ~/.ssh/id_*) and then its
 * password sends it twice. ssh2's server answers the second one with DISCONNECT
 * (SERVICE_NOT_AVAILABLE): paramiko then fails with "No existing session". OpenSSH accepts the
 * repeats while the user is not authenticated; so do we, by wrapping ssh2's handler (private API:
 * if its shape changes, we log and leave ssh2 alone).
 */
function tolerateRepeatedUserauthRequests(client: Connection, log: Logger): void {
  type Proto = { _handlers?: Record<string, unknown>; serviceAccept?: (service: string) => void };
  const c = client as unknown as { _protocol?: Proto; authenticated?: boolean };
  const proto = c._protocol;
  const handlers = proto?._handlers;
  const original = handlers?.SERVICE_REQUEST;
  if (!proto || !handlers || typeof original !== 'function' || typeof proto.serviceAccept !== 'function') {
    log.warn('ssh2 internals changed: repeated ssh-userauth service requests will disconnect paramiko (ncclient) clients that try a key before their password');
    return;
  }
  let accepted = false;
  handlers.SERVICE_REQUEST = (p: unknown, service: unknown): unknown => {
    if (service === 'ssh-userauth' && c.authenticated !== true) {
      if (accepted) {
        proto.serviceAccept!('ssh-userauth');
        return undefined;
      }
      accepted = true;
    }
    return (original as (p: unknown, s: unknown) => unknown).call(handlers, p, service);
  };
}

function waitFor(cond: () => boolean, ms: number): Promise<void> {
  if (cond() || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const deadline = Date.now() + ms;
    const tick = (): void => {
      if (cond() || Date.now() >= deadline) resolve();
      else setTimeout(tick, 10);
    };
    setTimeout(tick, 10);
  });
}
