// The NETCONF client (src/netconf/client.ts) against our real server (NetconfService on
// 127.0.0.1, port 0) and against a scripted server (NetconfSshServer with a hand-written RPC
// layer) for what ours never does: a base:1.0-only hello, a bad hello, replies that are late
// or never come, a session closed under a pending RPC.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { utils } from 'ssh2';
import { NetconfClient, NetconfRpcError, NetconfTransportError, NETCONF_BASE_10, NETCONF_BASE_11, type NetconfConnectOptions } from '../../src/netconf/client';
import { BASE_NS } from '../../src/netconf/errors';
import { EM_NS } from '../../src/netconf/schema';
import { AgentState, CAPABILITIES, MONITORING_NS } from '../../src/netconf/server';
import { NetconfService } from '../../src/netconf/service';
import { NetconfSshServer, type NetconfTransport } from '../../src/netconf/ssh-server';
import { hashPassword, type NetconfUser } from '../../src/netconf/users';
import { XmlElement, attr, child, parseXml } from '../../src/netconf/xml';
import { silentLogger } from '../../src/util/log';

const PW = 'client-test-Pa55';
const RO_PW = 'reader-Pa55';
const userKey = utils.generateKeyPairSync('ed25519', { comment: 'keyuser@test' });
const FAST = { N: 1024, r: 8, p: 1 }; // quick scrypt for tests
const USERS: NetconfUser[] = [
  { name: 'admin', role: 'read-write', passwordHash: hashPassword(PW, FAST) },
  { name: 'reader', role: 'read-only', passwordHash: hashPassword(RO_PW, FAST) },
  { name: 'keyuser', role: 'read-write', authorizedKeys: [userKey.public] },
];

const STATE: AgentState = {
  sessions: [],
  entries: [],
  bgpPeers: [{ address: '192.0.2.1', state: 'Established', prefixesReceived: 12 }],
};

const em = (inner: string) => `<evpn-mirror xmlns="${EM_NS}">${inner}</evpn-mirror>`;
const SERVER21 = '<monitor-server><name>SERV21</name><mac>02:00:00:00:00:21</mac><ipv4>10.1.0.21</ipv4><host-id>21</host-id></monitor-server>';
const session = (name: string, vni = '10', server = 'SERV21') =>
  `<session><name>${name}</name><vni>${vni}</vni><monitored-host><mac>02:00:00:00:02:10</mac></monitored-host><monitor-server>${server}</monitor-server></session>`;

function names(data: XmlElement, list: string): string[] {
  const root = child(data, 'evpn-mirror', EM_NS);
  return (root?.children ?? []).filter((c) => c.local === list).map((e) => child(e, 'name', EM_NS)!.text);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected a rejection');
}

/** A scripted NETCONF server: our SSH transport, with a hand-written hello and RPC layer. */
interface Script {
  /** Capabilities of the hello (default base:1.0 and base:1.1). */
  caps?: string[];
  /** A raw hello to send instead. */
  hello?: string;
  /** Answer an rpc (default: <ok/>). */
  onRpc?: (t: NetconfTransport, rpc: XmlElement, op: XmlElement) => void;
}

function reply(t: NetconfTransport, rpc: XmlElement, body: string): void {
  t.send(`<rpc-reply xmlns="${BASE_NS}" message-id="${attr(rpc, 'message-id')}">${body}</rpc-reply>`);
}

class ScriptedServer {
  script: Script = {};
  readonly helloCaps: string[][] = [];
  readonly transports: NetconfTransport[] = [];
  readonly rpcs: { framing: string; op: string; id: string | undefined }[] = [];
  readonly ssh: NetconfSshServer;
  port = 0;
  constructor(dir: string) {
    this.ssh = new NetconfSshServer({ host: '127.0.0.1', port: 0, hostKeyPath: path.join(dir, 'scripted_host_key'), users: USERS, logger: silentLogger });
    this.ssh.on('session', (t) => this.attach(t));
  }
  async start(): Promise<void> {
    this.port = (await this.ssh.start()).port;
  }
  private attach(t: NetconfTransport): void {
    this.transports.push(t);
    const s = this.script;
    const caps = s.caps ?? [NETCONF_BASE_10, NETCONF_BASE_11];
    t.send(s.hello ?? `<hello xmlns="${BASE_NS}"><capabilities>${caps.map((c) => `<capability>${c}</capability>`).join('')}</capabilities><session-id>77</session-id></hello>`);
    let hello = false;
    t.on('message', (xml) => {
      const doc = parseXml(xml);
      if (!hello) {
        hello = true;
        const theirs = (child(doc, 'capabilities', BASE_NS)?.children ?? []).map((c) => c.text);
        this.helloCaps.push(theirs);
        if (theirs.includes(NETCONF_BASE_11) && caps.includes(NETCONF_BASE_11)) t.useChunked();
        return;
      }
      const op = doc.children[0]!;
      this.rpcs.push({ framing: t.framing, op: op.local, id: attr(doc, 'message-id') });
      if (s.onRpc) s.onRpc(t, doc, op);
      else reply(t, doc, '<ok/>');
    });
  }
}

describe('NETCONF client', function () {
  this.timeout(30_000);
  let dir: string;
  let svc: NetconfService;
  let port: number;
  let scripted: ScriptedServer;
  const open: NetconfClient[] = [];

  const connect = async (opts: Partial<NetconfConnectOptions> = {}): Promise<NetconfClient> => {
    const c = new NetconfClient();
    open.push(c);
    await c.connect({ host: '127.0.0.1', port, username: 'admin', password: PW, timeoutMs: 10_000, ...opts });
    return c;
  };
  const connectScripted = (script: Script, opts: Partial<NetconfConnectOptions> = {}): Promise<NetconfClient> => {
    scripted.script = script;
    return connect({ port: scripted.port, ...opts });
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'em-netconf-client-'));
    svc = new NetconfService({ stateDir: dir, host: '127.0.0.1', port: 0, users: USERS, state: () => STATE });
    port = (await svc.start()).port;
    scripted = new ScriptedServer(dir);
    await scripted.start();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    // Leave running empty for the next test.
    const c = new NetconfClient();
    await c.connect({ host: '127.0.0.1', port, username: 'admin', password: PW });
    const data = await c.getConfig('running');
    if (child(data, 'evpn-mirror', EM_NS)) await c.editConfig('running', `<evpn-mirror xmlns="${EM_NS}" xmlns:nc="${BASE_NS}" nc:operation="remove"/>`);
    await c.closeSession();
  });

  after(async () => {
    await scripted.ssh.stop();
    await svc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('hello: session-id and capabilities from the server, base:1.1 on both sides switches both directions to chunked', async () => {
    const c = await connect();
    assert.ok(c.sessionId >= 1);
    assert.deepEqual(c.serverCapabilities, [...CAPABILITIES]);
    assert.equal(c.framing, 'chunked');
    assert.equal(c.hostKeyFingerprint, svc.ssh.hostKeyFingerprint);
    assert.equal(c.connected, true);
    // The server reads our chunked rpc (or it would drop the session on a framing error).
    await c.editConfig('running', em(SERVER21));
    assert.deepEqual(names(await c.getConfig('running'), 'monitor-server'), ['SERV21']);
    const d = await connect();
    assert.ok(d.sessionId > c.sessionId);
  });

  it('our hello advertises base:1.0 and base:1.1 in end-of-message framing; a base:1.0-only server keeps end-of-message framing both ways', async () => {
    const c = await connectScripted({ caps: [NETCONF_BASE_10] });
    assert.equal(c.sessionId, 77);
    assert.equal(c.framing, 'eom');
    await c.lock('running');
    await c.unlock('running');
    assert.deepEqual(scripted.helloCaps.at(-1), [NETCONF_BASE_10, NETCONF_BASE_11]);
    assert.deepEqual(scripted.rpcs.slice(-2).map((r) => [r.op, r.framing]), [['lock', 'eom'], ['unlock', 'eom']]);
    // And our server, with a client that only speaks base:1.0.
    const old = await connect({ capabilities: [NETCONF_BASE_10] });
    assert.equal(old.framing, 'eom');
    await old.editConfig('running', em(SERVER21));
    assert.deepEqual(names(await old.getConfig('running'), 'monitor-server'), ['SERV21']);
  });

  it('chunked framing carries large messages both ways (many chunks, multi-byte characters)', async () => {
    const big = 'é'.repeat(150_000); // 300 kB of UTF-8: several 64 KiB chunks
    const c = await connectScripted({
      onRpc: (t, rpc, op) => reply(t, rpc, `<data><echo xmlns="urn:example">${child(op, 'filter', BASE_NS)?.children[0]?.text ?? ''}</echo></data>`),
    });
    assert.equal(c.framing, 'chunked');
    const data = await c.get(`<echo xmlns="urn:example">${big}</echo>`);
    assert.equal(child(data, 'echo', 'urn:example')!.text, big);
    assert.equal(scripted.rpcs.at(-1)!.framing, 'chunked');
  });

  it('message-id increments; pipelined RPCs each get their own reply', async () => {
    const c = await connect();
    await c.editConfig('running', em(SERVER21));
    const replies = await Promise.all([c.rpc('<get-config><source><running/></source></get-config>'), c.rpc('<lock><target><candidate/></target></lock>'), c.rpc('<unlock><target><candidate/></target></unlock>')]);
    assert.deepEqual(
      replies.map((r) => attr(r, 'message-id')),
      ['2', '3', '4'],
    );
    assert.ok(child(replies[0]!, 'data', BASE_NS));
    assert.ok(child(replies[1]!, 'ok', BASE_NS));
    assert.ok(child(replies[2]!, 'ok', BASE_NS));
  });

  it('rpc-errors reject with NetconfRpcError: type, tag, severity, app-tag, error-path, message, info', async () => {
    const c = await connect();
    await c.editConfig('running', em(SERVER21));
    const e = await rejection(c.editConfig('running', em(session('x', '16777216'))));
    assert.ok(e instanceof NetconfRpcError, String(e));
    assert.equal(e.errors.length, 1);
    assert.deepEqual(e.errors[0], {
      type: 'application',
      tag: 'invalid-value',
      severity: 'error',
      path: "/em:evpn-mirror/em:session[em:name='x']/em:vni",
      message: 'vni: 16777216 is out of range 1..16777215',
      info: [['bad-element', 'vni']],
    });
    assert.match(e.message, /^invalid-value: vni: 16777216 is out of range 1\.\.16777215 \(\/em:evpn-mirror/);
    assert.equal(e.reply.local, 'rpc-reply');
    // Several errors in one reply: a dangling leafref and a missing mandatory leaf.
    const many = await rejection(
      c.editConfig('running', em('<session><name>y</name><monitored-host><mac>02:00:00:00:02:11</mac></monitored-host><monitor-server>NOPE</monitor-server></session>')),
    );
    assert.ok(many instanceof NetconfRpcError);
    assert.deepEqual(
      many.errors.map((x) => [x.tag, x.appTag, x.path]),
      [
        ['data-missing', 'missing-element', "/em:evpn-mirror/em:session[em:name='y']/em:vni"],
        ['data-missing', 'instance-required', "/em:evpn-mirror/em:session[em:name='y']/em:monitor-server"],
      ],
    );
    // The session is still usable after an rpc-error.
    assert.deepEqual(names(await c.getConfig('running', em('<session/>')), 'session'), []);
  });

  it('warnings alone do not fail an RPC', async () => {
    const c = await connectScripted({
      onRpc: (t, rpc) => reply(t, rpc, '<rpc-error><error-type>application</error-type><error-tag>operation-failed</error-tag><error-severity>warning</error-severity><error-message>just so you know</error-message></rpc-error><ok/>'),
    });
    const r = await c.rpc('<lock><target><running/></target></lock>');
    assert.ok(child(r, 'ok', BASE_NS));
  });

  it('helpers: get-config/get with subtree filters, candidate edit + validate + commit, discard-changes, lock contention', async () => {
    const c = await connect();
    const d = await connect();
    await c.editConfig('candidate', em(SERVER21 + session('s1')));
    await c.validate('candidate');
    assert.deepEqual(names(await c.getConfig('running'), 'session'), []);
    await c.commit();
    assert.deepEqual(names(await d.getConfig('running', em('<session/>')), 'session'), ['s1']);
    await c.editConfig('candidate', em(session('s2')));
    await c.discardChanges();
    assert.deepEqual(names(await c.getConfig('candidate', em('<session/>')), 'session'), ['s1']);
    // test-only validates without applying.
    await c.editConfig('running', em(session('s3')), { testOption: 'test-only' });
    assert.deepEqual(names(await c.getConfig('running', em('<session/>')), 'session'), ['s1']);
    // State under <get>, filtered.
    const state = await c.get(em('<state><bgp-peer/></state>'));
    const peer = child(child(child(state, 'evpn-mirror', EM_NS)!, 'state', EM_NS)!, 'bgp-peer', EM_NS)!;
    assert.equal(child(peer, 'state', EM_NS)!.text, 'Established');
    assert.equal(child(state, 'netconf-state'), undefined, 'the filter leaves out ietf-netconf-monitoring');
    // Locks.
    await c.lock('running');
    const denied = await rejection(d.lock('running'));
    assert.ok(denied instanceof NetconfRpcError);
    assert.equal(denied.errors[0]!.tag, 'lock-denied');
    assert.deepEqual(denied.errors[0]!.info, [['session-id', String(c.sessionId)]]);
    await c.unlock('running');
    await d.lock('running');
    await d.unlock('running');
    // A read-only user is refused writes.
    const r = await connect({ username: 'reader', password: RO_PW });
    const ro = await rejection(r.editConfig('running', em(session('s4'))));
    assert.ok(ro instanceof NetconfRpcError);
    assert.equal(ro.errors[0]!.tag, 'access-denied');
  });

  it('an RPC without a reply times out; its late reply is dropped and the session stays usable', async () => {
    const c = await connectScripted({
      onRpc: (t, rpc, op) => {
        if (op.local === 'lock') setTimeout(() => reply(t, rpc, '<ok/>'), 300);
        else reply(t, rpc, `<data><which xmlns="urn:example">${op.local}</which></data>`);
      },
    });
    const t0 = Date.now();
    const e = await rejection(c.lock('running', { timeoutMs: 100 }));
    assert.ok(e instanceof NetconfTransportError);
    assert.equal(e.kind, 'timeout');
    assert.match(e.message, /no reply to <lock> \(message-id 1\) within 100 ms/);
    assert.ok(Date.now() - t0 < 280, 'rejected at the timeout, not at the reply');
    await new Promise((r) => setTimeout(r, 300)); // the late reply arrives and is ignored
    const data = await c.get();
    assert.equal(child(data, 'which', 'urn:example')!.text, 'get');
    assert.equal(c.connected, true);
  });

  it('the server closing the session rejects pending RPCs with a clear error, and later RPCs at once', async () => {
    const c = await connectScripted({ onRpc: (t) => t.close() });
    const e = await rejection(c.get());
    assert.ok(e instanceof NetconfTransportError);
    assert.equal(e.kind, 'closed');
    assert.match(e.message, /<get> \(message-id 1\) failed: the server closed the NETCONF session/);
    assert.equal(c.connected, false);
    const later = await rejection(c.get());
    assert.ok(later instanceof NetconfTransportError);
    assert.equal(later.kind, 'closed');
    assert.match(later.message, /the NETCONF session is closed/);
    // Our server: another session kills this one.
    const victim = await connect();
    const killer = await connect();
    await killer.rpc(`<kill-session><session-id>${victim.sessionId}</session-id></kill-session>`);
    for (let i = 0; i < 100 && victim.connected; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(victim.connected, false);
    assert.equal((await rejection(victim.getConfig())) instanceof NetconfTransportError, true);
  });

  it('close() rejects pending RPCs; closeSession() ends the session politely', async () => {
    const c = await connectScripted({ onRpc: () => undefined });
    const pending = rejection(c.get());
    await c.close();
    const e = await pending;
    assert.ok(e instanceof NetconfTransportError);
    assert.equal(e.kind, 'closed');
    assert.match(e.message, /the NETCONF client was closed/);
    const d = await connect();
    const watcher = await connect();
    const sessionIds = async (): Promise<string[]> => {
      const data = await watcher.get(`<netconf-state xmlns="${MONITORING_NS}"><sessions/></netconf-state>`);
      const sessions = child(child(data, 'netconf-state', MONITORING_NS)!, 'sessions', MONITORING_NS)!;
      return sessions.children.map((s) => child(s, 'session-id', MONITORING_NS)!.text);
    };
    assert.ok((await sessionIds()).includes(String(d.sessionId)));
    await d.closeSession();
    assert.equal(d.connected, false);
    assert.ok(!(await sessionIds()).includes(String(d.sessionId)), 'the server ended the session at <close-session>');
  });

  it('a malformed rpc body is refused before anything is sent', async () => {
    const c = await connectScripted({});
    const sent = scripted.rpcs.length;
    const e = await rejection(c.rpc('<get><filter>'));
    assert.equal(e.name, 'XmlError');
    assert.equal(scripted.rpcs.length, sent);
    await c.lock('running');
    assert.equal(scripted.rpcs.length, sent + 1);
  });

  it('a server hello without a session-id, or without a base capability, fails connect() with kind protocol', async () => {
    const noId = await rejection(connectScripted({ hello: `<hello xmlns="${BASE_NS}"><capabilities><capability>${NETCONF_BASE_11}</capability></capabilities></hello>` }));
    assert.ok(noId instanceof NetconfTransportError);
    assert.equal(noId.kind, 'protocol');
    assert.match(noId.message, /session-id/);
    const noBase = await rejection(connectScripted({ caps: ['urn:example:other'] }));
    assert.ok(noBase instanceof NetconfTransportError);
    assert.equal(noBase.kind, 'protocol');
    assert.match(noBase.message, /neither base:1\.0 nor base:1\.1/);
  });

  it('authentication: a wrong password fails with kind auth; a private key (file or Buffer) works', async () => {
    const e = await rejection(connect({ password: 'wrong' }));
    assert.ok(e instanceof NetconfTransportError);
    assert.equal(e.kind, 'auth');
    assert.equal(e.message, `authentication failed for user 'admin' at 127.0.0.1:${port}`);
    const keyFile = path.join(dir, 'id_ed25519');
    fs.writeFileSync(keyFile, userKey.private, { mode: 0o600 });
    const byFile = await connect({ username: 'keyuser', password: undefined, privateKey: keyFile });
    assert.ok(byFile.sessionId > 0);
    const byBuffer = await connect({ username: 'keyuser', password: undefined, privateKey: Buffer.from(userKey.private) });
    await byBuffer.editConfig('running', em(SERVER21));
    const missing = await rejection(connect({ username: 'keyuser', password: undefined, privateKey: path.join(dir, 'nope') }));
    assert.ok(missing instanceof NetconfTransportError);
    assert.equal(missing.kind, 'auth');
    assert.match(missing.message, /cannot read private key/);
  });

  it('the host key is checked against hostKeyFingerprint when given', async () => {
    const fp = svc.ssh.hostKeyFingerprint!;
    assert.match(fp, /^SHA256:/);
    await connect({ hostKeyFingerprint: fp });
    await connect({ hostKeyFingerprint: fp.slice('SHA256:'.length) }); // prefix optional
    const e = await rejection(connect({ hostKeyFingerprint: scripted.ssh.hostKeyFingerprint! }));
    assert.ok(e instanceof NetconfTransportError);
    assert.equal(e.kind, 'host-key');
    assert.equal(e.message, `host key of 127.0.0.1:${port} is ${fp}, expected ${scripted.ssh.hostKeyFingerprint}`);
  });

  it('connection failures: a refused port (kind connect), a peer that never speaks SSH (kind timeout)', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await rejection(connect({ port: closedPort }));
    assert.ok(refused instanceof NetconfTransportError);
    assert.equal(refused.kind, 'connect');
    assert.match(refused.message, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED`));

    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const t0 = Date.now();
      const slow = await rejection(connect({ port: (silent.address() as net.AddressInfo).port, timeoutMs: 300 }));
      assert.ok(slow instanceof NetconfTransportError);
      assert.equal(slow.kind, 'timeout');
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
