// One configured neighbor: the RFC 4271 section 8 finite state machine, its timers, and
// connection collision detection (section 6.8).
//
// The neighbor may briefly own two TCP connections (one we opened, one the peer opened);
// each runs the OPEN exchange on its own and collision detection keeps one. The neighbor's
// state is that of its most advanced connection. Routes are not handled here: the speaker
// gets typed events (established, update, route refresh, down) and owns the RIBs.
import * as net from 'node:net';
import { Clock, Timer } from '../util/clock';
import { Logger } from '../util/log';
import { Family, FamilyName, FAMILIES, ResolvedNeighborConfig, familyName } from './config';
import { ipv4ToNumber } from './packet/addr';
import { Capability } from './packet/capability';
import { AS_TRANS, CeaseSubcode, ErrorCode, FsmSubcode, OpenSubcode } from './packet/constants';
import { NotificationError, describeNotification } from './packet/errors';
import {
  BgpMessage,
  MessageFramer,
  OpenMessage,
  UpdateMessage,
  decodeMessage,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeShutdownNotification,
} from './packet/message';

export type SessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

const STATE_ORDER: Record<SessionState, number> = { Idle: 0, Connect: 1, Active: 1, OpenSent: 2, OpenConfirm: 3, Established: 4 };

/** RFC 4271 section 8.2.2: the large hold time used while waiting for the peer's OPEN. */
const OPEN_HOLD_TIME_MS = 240_000;
/** How long a closing socket may linger to flush a NOTIFICATION. */
const CLOSE_LINGER_MS = 1000;
/** Idle hold (RFC 4271 section 8.1.1 DampPeerOscillations): first delay and its ceiling. */
const IDLE_HOLD_MIN_MS = 500;
const IDLE_HOLD_MAX_MS = 30_000;

/** What both sides agreed in the OPEN exchange. */
export interface Negotiated {
  remoteAs: number;
  remoteRouterId: string;
  holdTime: number;
  keepaliveTime: number;
  as4: boolean;
  ibgp: boolean;
  families: FamilyName[];
  routeRefresh: boolean;
  /** The peer's graceful restart capability, when both sides sent one (RFC 4724). */
  gracefulRestart?: {
    restartState: boolean;
    restartTime: number;
    /** Families the peer will keep forwarding for, with its F bit. */
    families: Map<FamilyName, boolean>;
  };
}

export interface LocalIdentity {
  routerId: string;
  localAs: number;
  /** GR capability to advertise, when enabled for this neighbor. */
  gracefulRestart?: { restartTime: number; restarting: boolean; forwardingState: boolean };
}

export interface NeighborEvents {
  /** Every state change, with the reason for going down. */
  state(n: Neighbor, from: SessionState, to: SessionState, reason?: string): void;
  established(n: Neighbor): void;
  update(n: Neighbor, msg: UpdateMessage): void;
  routeRefresh(n: Neighbor, family: FamilyName, subtype: number): void;
  /** The Established session ended. `graceful`: RFC 4724 helper procedures apply. */
  down(n: Neighbor, reason: string, graceful: boolean, negotiated: Negotiated): void;
}

type Direction = 'outgoing' | 'incoming';
type ConnState = 'Connect' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'Closed';

class Connection {
  state: ConnState = 'Connect';
  readonly framer = new MessageFramer();
  remoteOpen: OpenMessage | undefined;
  negotiated: Negotiated | undefined;
  readonly hold: Timer;
  readonly keepalive: Timer;
  /** A NOTIFICATION was sent or received on this connection. */
  notified = false;

  constructor(
    readonly socket: net.Socket,
    readonly direction: Direction,
    clock: Clock,
    onHoldExpired: () => void,
    onKeepalive: () => void,
  ) {
    this.hold = new Timer(clock, onHoldExpired);
    this.keepalive = new Timer(clock, onKeepalive);
  }

  send(buf: Buffer): boolean {
    if (this.state === 'Closed' || this.socket.destroyed) return false;
    return this.socket.write(buf);
  }
}

export interface NeighborStatus {
  address: string;
  remoteAs: number;
  state: SessionState;
  /** Milliseconds since the last state change. */
  since: number;
  remoteRouterId?: string;
  negotiatedHoldTime?: number;
  families?: FamilyName[];
  lastError?: string;
  messagesIn: number;
  messagesOut: number;
  establishedTransitions: number;
}

export class Neighbor {
  state: SessionState = 'Idle';
  private conns: Connection[] = [];
  private established: Connection | undefined;
  private readonly connectRetry: Timer;
  private readonly idleHold: Timer;
  private idleHoldMs = IDLE_HOLD_MIN_MS;
  private started = false;
  private stateSince: number;
  lastError: string | undefined;
  establishedTransitions = 0;
  private counters = { in: 0, out: 0 };

  constructor(
    readonly config: ResolvedNeighborConfig,
    readonly local: LocalIdentity,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly events: NeighborEvents,
    private readonly dial: (opts: net.NetConnectOpts) => net.Socket = (o) => net.connect(o),
  ) {
    this.connectRetry = new Timer(clock, () => this.onConnectRetryExpired());
    this.idleHold = new Timer(clock, () => this.automaticStart());
    this.stateSince = clock.now();
  }

  get address(): string {
    return this.config.address;
  }

  get negotiated(): Negotiated | undefined {
    return this.established?.negotiated;
  }

  get isEstablished(): boolean {
    return this.state === 'Established';
  }

  status(): NeighborStatus {
    const s: NeighborStatus = {
      address: this.address,
      remoteAs: this.config.remoteAs,
      state: this.state,
      since: this.clock.now() - this.stateSince,
      messagesIn: this.counters.in,
      messagesOut: this.counters.out,
      establishedTransitions: this.establishedTransitions,
    };
    const n = this.negotiated;
    if (n) {
      s.remoteRouterId = n.remoteRouterId;
      s.negotiatedHoldTime = n.holdTime;
      s.families = n.families;
    }
    if (this.lastError) s.lastError = this.lastError;
    return s;
  }

  // ------------------------------------------------------------------ administrative events

  /** ManualStart (RFC 4271 section 8.1.2 events 1 and 4). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.idleHoldMs = IDLE_HOLD_MIN_MS;
    this.automaticStart();
  }

  /** ManualStop: Cease with `subcode`, release everything, stay Idle. */
  stop(subcode: CeaseSubcode = CeaseSubcode.AdministrativeShutdown, communication?: string): void {
    this.started = false;
    this.idleHold.stop();
    this.connectRetry.stop();
    for (const c of [...this.conns]) {
      if (c.state === 'Connect') this.dropConnection(c, 'administratively stopped', false);
      else {
        const msg = communication ? encodeShutdownNotification(subcode, communication) : encodeNotification(ErrorCode.Cease, subcode);
        this.closeWithNotification(c, msg, `administratively stopped (${describeNotification(ErrorCode.Cease, subcode)})`, false);
      }
    }
    this.setState('Idle', 'administratively stopped');
  }

  /** Closes every connection without a NOTIFICATION, so peers that negotiated graceful
   * restart keep our routes (RFC 4724 section 4: the restarting speaker's side). */
  abort(reason: string): void {
    this.started = false;
    this.idleHold.stop();
    this.connectRetry.stop();
    for (const c of [...this.conns]) this.dropConnection(c, reason, false);
    this.setState('Idle', reason);
  }

  // ------------------------------------------------------------------ connection management

  private automaticStart(): void {
    if (!this.started) return;
    if (this.config.passive) {
      this.setState('Active');
      return;
    }
    this.connectOut();
  }

  private connectOut(): void {
    // One attempt at a time; and a connection the peer opened already counts as the attempt:
    // a second one only makes a collision (and GoBGP takes a connection arriving after its
    // session is Established for a restart of ours).
    if (!this.started || this.conns.length > 0) return;
    this.connectRetry.start(this.config.connectRetryTime * 1000);
    const opts: net.NetConnectOpts = { host: this.address, port: this.config.port };
    if (this.config.localAddress) (opts as net.TcpNetConnectOpts).localAddress = this.config.localAddress;
    let socket: net.Socket;
    try {
      socket = this.dial(opts);
    } catch (err) {
      this.log.warn('connect failed', { neighbor: this.address, error: String(err) });
      this.setState('Active', String(err));
      return;
    }
    const conn = this.addConnection(socket, 'outgoing');
    if (this.state === 'Idle' || this.state === 'Active') this.setState('Connect');
    socket.once('connect', () => {
      if (conn.state !== 'Connect') return;
      this.log.debug('TCP connected', { neighbor: this.address });
      this.sendOpen(conn);
    });
  }

  /** An incoming TCP connection from this neighbor's address (the speaker accepted it). */
  acceptIncoming(socket: net.Socket): void {
    if (!this.started) {
      // RFC 4271 section 8.2.2 (Idle): refuse incoming connections.
      socket.destroy();
      return;
    }
    const est = this.established;
    if (est) {
      // RFC 4724 section 4.2: with graceful restart negotiated, a new connection while
      // Established means the peer restarted: the old session is gone.
      if (est.negotiated?.gracefulRestart) {
        this.log.info('new connection while Established: peer restarted (graceful restart)', { neighbor: this.address });
        this.dropConnection(est, 'peer restarted (new connection while Established)', false);
      } else {
        // RFC 4271 section 6.8: a collision with an Established connection closes the new one.
        const c = this.addConnection(socket, 'incoming');
        this.closeWithNotification(
          c,
          encodeNotification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution),
          'collision with the Established session',
          false,
        );
        return;
      }
    }
    const existing = this.conns.find((c) => c.direction === 'incoming');
    if (existing) this.dropConnection(existing, 'replaced by a newer incoming connection', false);
    const conn = this.addConnection(socket, 'incoming');
    this.sendOpen(conn);
  }

  private addConnection(socket: net.Socket, direction: Direction): Connection {
    socket.setNoDelay(true);
    const conn: Connection = new Connection(
      socket,
      direction,
      this.clock,
      () => this.onHoldExpired(conn),
      () => this.onKeepaliveTimer(conn),
    );
    this.conns.push(conn);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err) => this.onSocketClosed(conn, `TCP error: ${err.message}`));
    socket.on('close', () => this.onSocketClosed(conn, 'TCP connection closed'));
    return conn;
  }

  private localCapabilities(): Capability[] {
    const caps: Capability[] = [];
    for (const f of this.config.families) caps.push({ kind: 'multiprotocol', ...FAMILIES[f] });
    caps.push({ kind: 'route-refresh' });
    caps.push({ kind: 'four-octet-as', asn: this.local.localAs });
    const gr = this.local.gracefulRestart;
    if (gr && this.config.gracefulRestart) {
      caps.push({
        kind: 'graceful-restart',
        restartState: gr.restarting,
        notification: false,
        restartTime: gr.restartTime,
        families: this.config.families.map((f) => ({ ...FAMILIES[f], forwardingState: gr.forwardingState })),
      });
    }
    return caps;
  }

  private sendOpen(conn: Connection): void {
    const open = encodeOpen({
      myAs: this.local.localAs > 0xffff ? AS_TRANS : this.local.localAs,
      holdTime: this.config.holdTime,
      bgpId: this.local.routerId,
      capabilities: this.localCapabilities(),
    });
    this.send(conn, open);
    conn.state = 'OpenSent';
    conn.hold.start(OPEN_HOLD_TIME_MS);
    this.refreshState();
  }

  // ------------------------------------------------------------------ receive path

  private onData(conn: Connection, chunk: Buffer): void {
    if (conn.state === 'Closed') return;
    let messages: Buffer[];
    try {
      messages = conn.framer.push(chunk);
    } catch (err) {
      this.protocolError(conn, err);
      return;
    }
    for (const raw of messages) {
      if ((conn.state as ConnState) === 'Closed') return; // a previous message may have closed it
      let msg: BgpMessage;
      try {
        const n = conn.negotiated;
        msg = decodeMessage(raw, n ? { as4: n.as4, ibgp: n.ibgp } : { as4: true });
      } catch (err) {
        this.protocolError(conn, err);
        return;
      }
      this.counters.in++;
      try {
        this.onMessage(conn, msg);
      } catch (err) {
        this.protocolError(conn, err);
        return;
      }
    }
    // A bad header behind good messages in the same chunk: act on it after them.
    if (conn.framer.error && (conn.state as ConnState) !== 'Closed') this.protocolError(conn, conn.framer.error);
  }

  private protocolError(conn: Connection, err: unknown): void {
    if (err instanceof NotificationError) {
      const what = `${describeNotification(err.code, err.subcode)}: ${err.message}`;
      this.log.warn('protocol error, sending NOTIFICATION', { neighbor: this.address, error: what });
      this.closeWithNotification(conn, encodeNotification(err.code, err.subcode, err.data), `sent ${what}`, false);
      return;
    }
    // A bug of ours must not take the process down; it ends this session like a
    // protocol error would, and says so.
    this.log.error('internal error handling a message', { neighbor: this.address, error: err instanceof Error ? err.stack : String(err) });
    this.closeWithNotification(conn, encodeNotification(ErrorCode.Cease, CeaseSubcode.OutOfResources), `internal error: ${String(err)}`, false);
  }

  private fsmError(conn: Connection, what: string): never {
    const sub =
      conn.state === 'OpenSent'
        ? FsmSubcode.UnexpectedInOpenSent
        : conn.state === 'OpenConfirm'
          ? FsmSubcode.UnexpectedInOpenConfirm
          : FsmSubcode.UnexpectedInEstablished;
    throw new NotificationError(ErrorCode.FsmError, sub, `${what} in ${conn.state}`);
  }

  private onMessage(conn: Connection, msg: BgpMessage): void {
    // RFC 4271 section 8.2.2: KEEPALIVE and UPDATE restart the hold timer.
    switch (msg.type) {
      case 'notification': {
        const what = describeNotification(msg.code, msg.subcode);
        const text = msg.communication ? ` "${msg.communication}"` : '';
        this.log.warn('received NOTIFICATION', { neighbor: this.address, error: what + text });
        conn.notified = true;
        this.dropConnection(conn, `received ${what}${text}`, true);
        return;
      }
      case 'open':
        if (conn.state !== 'OpenSent') this.fsmError(conn, 'OPEN');
        this.onOpen(conn, msg);
        return;
      case 'keepalive':
        if (conn.state === 'OpenConfirm') {
          this.restartHold(conn);
          this.onSessionEstablished(conn);
          return;
        }
        if (conn.state !== 'Established') this.fsmError(conn, 'KEEPALIVE');
        this.restartHold(conn);
        return;
      case 'update':
        if (conn.state !== 'Established') this.fsmError(conn, 'UPDATE');
        this.restartHold(conn);
        this.events.update(this, msg);
        return;
      case 'route-refresh': {
        if (conn.state !== 'Established') this.fsmError(conn, 'ROUTE-REFRESH');
        // RFC 7313 section 5: subtypes other than 0, 1, 2 are ignored; BoRR/EoRR (1, 2) only
        // mean something with enhanced route refresh, which we do not negotiate.
        if (msg.subtype !== 0) {
          this.log.debug('ROUTE-REFRESH subtype ignored', { neighbor: this.address, subtype: msg.subtype });
          return;
        }
        const fam = familyName(msg.afi, msg.safi);
        // RFC 2918 section 4: a request for a family not negotiated is ignored.
        if (!fam || !conn.negotiated!.families.includes(fam)) {
          this.log.warn('ROUTE-REFRESH for a family not negotiated, ignored', { neighbor: this.address, afi: msg.afi, safi: msg.safi });
          return;
        }
        this.events.routeRefresh(this, fam, msg.subtype);
        return;
      }
    }
  }

  private restartHold(conn: Connection): void {
    const h = conn.negotiated?.holdTime ?? 0;
    if (h > 0) conn.hold.start(h * 1000);
  }

  private onOpen(conn: Connection, open: OpenMessage): void {
    const caps = open.capabilities;
    const as4cap = caps.find((c) => c.kind === 'four-octet-as');
    const remoteAs = as4cap && as4cap.kind === 'four-octet-as' ? as4cap.asn : open.myAs;
    if (remoteAs !== this.config.remoteAs) {
      const data = Buffer.alloc(2);
      data.writeUInt16BE(open.myAs);
      throw new NotificationError(ErrorCode.OpenMessage, OpenSubcode.BadPeerAs, `peer AS ${remoteAs}, configured ${this.config.remoteAs}`, data);
    }
    const ibgp = remoteAs === this.local.localAs;
    // RFC 6286 section 2.2: identifiers must differ between internal peers.
    if (ibgp && open.bgpId === this.local.routerId)
      throw new NotificationError(ErrorCode.OpenMessage, OpenSubcode.BadBgpIdentifier, `peer uses our BGP identifier ${open.bgpId}`);

    // RFC 4760 section 8: without any multiprotocol capability the peer speaks IPv4 unicast.
    const mp = caps.filter((c): c is Extract<Capability, { kind: 'multiprotocol' }> => c.kind === 'multiprotocol');
    const remoteFamilies = mp.length ? mp.map((c) => familyName(c.afi, c.safi)).filter((f): f is FamilyName => !!f) : ['ipv4-unicast' as FamilyName];
    const families = this.config.families.filter((f) => remoteFamilies.includes(f));
    if (families.length === 0) {
      // RFC 5492 section 3: Unsupported Capability, data = the capabilities we need.
      const wanted = this.config.families.map((f) => FAMILIES[f]);
      const data = Buffer.concat(wanted.map((f: Family) => Buffer.from([1, 4, f.afi >> 8, f.afi & 0xff, 0, f.safi])));
      throw new NotificationError(ErrorCode.OpenMessage, OpenSubcode.UnsupportedCapability, `no common address family (we need ${this.config.families.join(', ')})`, data);
    }

    const holdTime = Math.min(this.config.holdTime, open.holdTime);
    const keepaliveTime = holdTime === 0 ? 0 : Math.min(this.config.keepaliveTime || Math.floor(holdTime / 3), Math.floor(holdTime / 3));
    const negotiated: Negotiated = {
      remoteAs,
      remoteRouterId: open.bgpId,
      holdTime,
      keepaliveTime,
      as4: as4cap !== undefined,
      ibgp,
      families,
      routeRefresh: caps.some((c) => c.kind === 'route-refresh' || c.kind === 'route-refresh-cisco'),
    };
    const gr = caps.find((c) => c.kind === 'graceful-restart');
    if (gr && gr.kind === 'graceful-restart' && this.local.gracefulRestart && this.config.gracefulRestart) {
      const grFamilies = new Map<FamilyName, boolean>();
      for (const f of gr.families) {
        const name = familyName(f.afi, f.safi);
        if (name && families.includes(name)) grFamilies.set(name, f.forwardingState);
      }
      negotiated.gracefulRestart = { restartState: gr.restartState, restartTime: gr.restartTime, families: grFamilies };
    }
    conn.remoteOpen = open;
    conn.negotiated = negotiated;

    // RFC 4271 section 6.8: connection collision detection.
    for (const other of this.conns) {
      if (other === conn || other.state === 'Closed' || other.state === 'Connect') continue;
      if (other.state === 'Established') {
        this.closeWithNotification(
          conn,
          encodeNotification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution),
          'collision with the Established session',
          false,
        );
        return;
      }
      // OpenSent or OpenConfirm: we now know the peer's identifier. The connection opened
      // by the side with the higher BGP Identifier survives (compared as integers).
      const localWins = ipv4ToNumber(this.local.routerId) > ipv4ToNumber(open.bgpId);
      const loser = localWins ? (conn.direction === 'incoming' ? conn : other) : conn.direction === 'outgoing' ? conn : other;
      this.log.info('connection collision resolved', { neighbor: this.address, kept: loser === conn ? other.direction : conn.direction });
      this.closeWithNotification(
        loser,
        encodeNotification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution),
        'connection collision resolution',
        false,
      );
      if (loser === conn) return;
    }

    this.send(conn, encodeKeepalive());
    conn.state = 'OpenConfirm';
    if (holdTime > 0) {
      conn.hold.start(holdTime * 1000);
      conn.keepalive.start(keepaliveTime * 1000);
    } else conn.hold.stop();
    this.refreshState();
  }

  private onSessionEstablished(conn: Connection): void {
    conn.state = 'Established';
    this.established = conn;
    this.connectRetry.stop();
    this.idleHoldMs = IDLE_HOLD_MIN_MS;
    this.lastError = undefined;
    this.establishedTransitions++;
    // Any other connection lost the collision or is stale.
    for (const other of [...this.conns])
      if (other !== conn)
        this.closeWithNotification(other, encodeNotification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution), 'connection collision resolution', false);
    const n = conn.negotiated!;
    this.log.info('session established', {
      neighbor: this.address,
      routerId: n.remoteRouterId,
      holdTime: n.holdTime,
      families: n.families.join(','),
      gracefulRestart: n.gracefulRestart ? 'yes' : 'no',
    });
    this.refreshState();
    this.events.established(this);
  }

  // ------------------------------------------------------------------ timers

  private onHoldExpired(conn: Connection): void {
    // RFC 4271 section 6.5.
    this.closeWithNotification(conn, encodeNotification(ErrorCode.HoldTimerExpired, 0), 'hold timer expired', true);
  }

  private onKeepaliveTimer(conn: Connection): void {
    if (conn.state !== 'OpenConfirm' && conn.state !== 'Established') return;
    this.send(conn, encodeKeepalive());
    const k = conn.negotiated?.keepaliveTime ?? 0;
    if (k > 0) conn.keepalive.start(k * 1000);
  }

  private onConnectRetryExpired(): void {
    // RFC 4271 section 8.2.2 (Connect/Active, event 9): drop the attempt and try again.
    if (!this.started || this.established) return;
    const attempt = this.conns.find((c) => c.direction === 'outgoing' && c.state === 'Connect');
    if (attempt) this.dropConnection(attempt, 'connect retry timer expired', false);
    if (this.config.passive) {
      this.connectRetry.start(this.config.connectRetryTime * 1000);
      return;
    }
    if (!this.conns.some((c) => c.direction === 'outgoing')) this.connectOut();
  }

  /** Sends one message on the Established session; false when there is none. */
  sendMessage(buf: Buffer): boolean {
    const c = this.established;
    return c ? this.send(c, buf) : false;
  }

  /** Every message we write goes through here, so the counters cannot drift. */
  private send(conn: Connection, buf: Buffer): boolean {
    this.counters.out++;
    return conn.send(buf);
  }

  /** Resolves when the established socket can take more data (write backpressure). */
  drained(): Promise<void> {
    const c = this.established;
    if (!c || !c.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        c.socket.off('drain', done);
        c.socket.off('close', done);
        resolve();
      };
      c.socket.on('drain', done);
      c.socket.on('close', done);
    });
  }

  // ------------------------------------------------------------------ teardown

  private closeWithNotification(conn: Connection, notification: Buffer, reason: string, countAsError: boolean): void {
    if (conn.state === 'Closed') return;
    conn.notified = true;
    if (!conn.socket.destroyed) {
      conn.socket.end(notification);
      this.counters.out++;
      const s = conn.socket;
      this.clock.after(CLOSE_LINGER_MS, () => s.destroy());
    }
    this.dropConnection(conn, reason, countAsError);
  }

  private onSocketClosed(conn: Connection, reason: string): void {
    if (conn.state === 'Closed') return;
    if (conn.state === 'Connect') this.log.debug('connect failed', { neighbor: this.address, reason });
    this.dropConnection(conn, reason, true);
  }

  /** Releases one connection; when it was the last, the neighbor returns to Idle/Active. */
  private dropConnection(conn: Connection, reason: string, countAsError: boolean): void {
    if (conn.state === 'Closed') return;
    const wasEstablished = conn === this.established;
    conn.state = 'Closed';
    conn.hold.stop();
    conn.keepalive.stop();
    // A socket we ended with a NOTIFICATION lingers to flush it; anything else goes now.
    if (!conn.socket.writableEnded) conn.socket.destroy();
    this.conns = this.conns.filter((c) => c !== conn);
    if (wasEstablished || countAsError) this.lastError = reason;
    if (wasEstablished) this.established = undefined;
    if (this.conns.length) this.refreshState(reason);
    else this.setState('Idle', reason);
    if (wasEstablished) {
      // RFC 4724 section 4.2: the helper keeps routes when the session ends without a
      // NOTIFICATION (TCP failure, peer restart) and both sides negotiated graceful restart.
      const graceful = !conn.notified && conn.negotiated?.gracefulRestart !== undefined;
      this.log.warn('session down', { neighbor: this.address, reason, graceful });
      this.events.down(this, reason, graceful, conn.negotiated!);
    }
    if (this.conns.length === 0 && this.started) this.scheduleRestart(conn);
  }

  private scheduleRestart(lost: Connection): void {
    // After an outgoing attempt failed the ConnectRetry timer decides (state Active);
    // after a session ended, wait an idle hold that doubles on repeated failures.
    if (lost.direction === 'outgoing' && lost.remoteOpen === undefined && this.connectRetry.running) {
      this.setState('Active');
      return;
    }
    const delay = this.idleHoldMs;
    this.idleHoldMs = Math.min(this.idleHoldMs * 2, IDLE_HOLD_MAX_MS);
    this.idleHold.start(delay);
  }

  private refreshState(reason?: string): void {
    let best: SessionState | undefined;
    for (const c of this.conns) {
      const s: SessionState = c.state === 'Closed' ? 'Idle' : c.state;
      if (!best || STATE_ORDER[s] > STATE_ORDER[best]) best = s;
    }
    if (best) this.setState(best, reason);
  }

  private setState(to: SessionState, reason?: string): void {
    if (to === this.state) return;
    const from = this.state;
    this.state = to;
    this.stateSince = this.clock.now();
    this.log.debug('state change', { neighbor: this.address, from, to, reason });
    this.events.state(this, from, to, reason);
  }
}
