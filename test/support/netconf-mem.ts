// An in-memory transport for NetconfServer (whole messages, no SSH, no framing) and a small
// client over it, for unit tests of the RPC layer. The same server runs over real SSH with
// ncclient and yangcli in test/interop/.
import { strict as assert } from 'node:assert';
import { BASE_NS } from '../../src/netconf/errors';
import { AgentState, NetconfServer, Role, TransportSession } from '../../src/netconf/server';
import { XmlElement, child, parseXml } from '../../src/netconf/xml';
import { TypedEmitter } from '../../src/util/events';

export class MemTransport extends TypedEmitter<{ message: (xml: string) => void; close: () => void; error: (e: Error) => void }> implements TransportSession {
  readonly out: string[] = [];
  chunked = false;
  closed = false;
  private waiters: ((xml: string) => void)[] = [];
  constructor(
    readonly user: string,
    readonly role: Role,
    readonly remoteAddress = '127.0.0.1',
  ) {
    super();
  }
  send(xml: string): void {
    const w = this.waiters.shift();
    if (w) w(xml);
    else this.out.push(xml);
  }
  useChunked(): void {
    this.chunked = true;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
  next(): Promise<string> {
    const x = this.out.shift();
    if (x !== undefined) return Promise.resolve(x);
    return new Promise((r) => this.waiters.push(r));
  }
  deliver(xml: string): void {
    this.emit('message', xml);
  }
}

let msgId = 0;

export class MemClient {
  readonly t: MemTransport;
  sessionId = 0;
  constructor(
    readonly server: NetconfServer,
    user = 'admin',
    role: Role = 'read-write',
  ) {
    this.t = new MemTransport(user, role);
  }
  async open(caps = ['urn:ietf:params:netconf:base:1.0', 'urn:ietf:params:netconf:base:1.1']): Promise<XmlElement> {
    this.server.attach(this.t);
    const hello = parseXml(await this.t.next());
    this.sessionId = Number(child(hello, 'session-id')!.text);
    this.t.deliver(`<hello xmlns="${BASE_NS}"><capabilities>${caps.map((c) => `<capability>${c}</capability>`).join('')}</capabilities></hello>`);
    return hello;
  }
  /** The reply as text, exactly as the server wrote it. */
  async rawText(xml: string): Promise<string> {
    this.t.deliver(xml);
    return this.t.next();
  }
  async raw(xml: string): Promise<XmlElement> {
    return parseXml(await this.rawText(xml));
  }
  rpcText(body: string, attrs = ''): Promise<string> {
    return this.rawText(`<rpc xmlns="${BASE_NS}" message-id="${++msgId}"${attrs}>${body}</rpc>`);
  }
  rpc(body: string, attrs = ''): Promise<XmlElement> {
    return this.raw(`<rpc xmlns="${BASE_NS}" message-id="${++msgId}"${attrs}>${body}</rpc>`);
  }
  async ok(body: string): Promise<void> {
    const r = await this.rpc(body);
    const errors = r.children.filter((c) => c.local === 'rpc-error').map((e) => `${child(e, 'error-tag')?.text}: ${child(e, 'error-message')?.text}`);
    assert.ok(child(r, 'ok'), `expected <ok/>, got ${errors.join('; ') || 'data'}`);
  }
}

/** Operational state of an agent with one local and one remote session (mirrorctl, yanglint). */
export const SAMPLE_STATE: AgentState = {
  sessions: [
    {
      id: '10.0.0.1:7',
      name: 'web1',
      origin: 'local',
      vni: 10010,
      hostMac: '02:00:00:00:02:10',
      hostId: 21,
      direction: 'both',
      status: 'active',
      roles: ['first', 'second'],
      hostLocation: { kind: 'local', port: 'swp3' },
      monitorLocation: { kind: 'remote', vtep: '10.0.0.2' },
    },
    {
      id: '10.0.0.9:1',
      name: '10.0.0.9:1',
      origin: 'remote',
      vni: 10020,
      hostMac: '02:00:00:00:03:30',
      hostId: 22,
      direction: 'from-host',
      status: 'monitor-unknown',
      roles: [],
      hostLocation: { kind: 'unknown' },
      monitorLocation: { kind: 'unknown' },
    },
  ],
  entries: [
    { id: 'e1', kind: 'first', sessions: ['10.0.0.1:7'], match: 'src 02:00:00:00:02:10 on swp3', action: 'mirror to 10.0.0.2 gbp 21', packets: 1234, bytes: 98765 },
    { id: 'e2', kind: 'second', sessions: ['10.0.0.1:7'], match: 'dst 02:00:00:00:02:10', action: 'mirror to 10.0.0.2 gbp 21' },
  ],
  bgpPeers: [
    { address: '10.0.0.254', state: 'Established', prefixesReceived: 42 },
    { address: '10.0.0.253', state: 'Active', prefixesReceived: 0 },
  ],
  macs: [
    { vni: 10010, mac: '02:00:00:00:02:10', location: { kind: 'local', port: 'swp3' }, sequence: 0, sticky: false, duplicate: false },
    { vni: 10010, mac: '02:00:00:00:00:21', location: { kind: 'remote', vtep: '10.0.0.2' }, sequence: 3, sticky: true, duplicate: false },
    { vni: 10020, mac: '02:00:00:00:02:10', location: { kind: 'remote', vtep: '10.0.0.9' }, sequence: 1, sticky: false, duplicate: true },
  ],
};
