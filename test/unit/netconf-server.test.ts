// The NETCONF RPC layer over an in-memory transport: every operation, the RFC 6241 error
// tags with error-path, locks across sessions, confirmed commit and its rollback, subtree
// filters, access control, and persistence. The same server is exercised over real SSH with
// ncclient in test/interop/netconf-ncclient.test.ts.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Datastores, writeFileAtomic } from '../../src/netconf/datastore';
import { BASE_NS } from '../../src/netconf/errors';
import { CAPABILITIES, NetconfServer } from '../../src/netconf/server';
import { NorthboundConfig } from '../../src/netconf/validate';
import { toXml } from '../../src/netconf/tree';
import { XmlElement, child } from '../../src/netconf/xml';
import { ManualClock } from '../../src/util/clock';
import { MemClient as Client, MemTransport } from '../support/netconf-mem';

const EM = 'urn:evpn-mirror:yang:evpn-mirror';

interface ErrorSeen {
  type: string;
  tag: string;
  message: string;
  path?: string;
  appTag?: string;
  info: Record<string, string>;
}

function errorsOf(reply: XmlElement): ErrorSeen[] {
  return reply.children
    .filter((c) => c.local === 'rpc-error')
    .map((e) => {
      const t = (n: string) => child(e, n)?.text;
      const info: Record<string, string> = {};
      for (const c of child(e, 'error-info')?.children ?? []) info[c.local] = c.text;
      const seen: ErrorSeen = { type: t('error-type')!, tag: t('error-tag')!, message: t('error-message')!, info };
      if (t('error-path')) seen.path = t('error-path')!;
      if (t('error-app-tag')) seen.appTag = t('error-app-tag')!;
      return seen;
    });
}

async function expectError(c: Client, body: string, tag: string, more: Partial<ErrorSeen> = {}, messageRe?: RegExp): Promise<ErrorSeen> {
  const r = await c.rpc(body);
  const errs = errorsOf(r);
  assert.ok(errs.length >= 1, `expected an rpc-error ${tag}`);
  const e = errs[0]!;
  assert.equal(e.tag, tag, e.message);
  for (const [k, v] of Object.entries(more)) assert.deepEqual((e as unknown as Record<string, unknown>)[k], v, `${k} of ${tag}`);
  if (messageRe) assert.match(e.message, messageRe);
  return e;
}

const server21 = (extra = '') => `<monitor-server><name>SERV21</name><mac>02:00:00:00:00:21</mac><ipv4>10.1.0.21</ipv4><host-id>1</host-id>${extra}</monitor-server>`;
const session = (name: string, mac = '02:00:00:00:02:10', extra = '') =>
  `<session><name>${name}</name><vni>1</vni><monitored-host><mac>${mac}</mac></monitored-host><monitor-server>SERV21</monitor-server>${extra}</session>`;
const edit = (target: string, content: string, params = '') =>
  `<edit-config><target><${target}/></target>${params}<config><evpn-mirror xmlns="${EM}">${content}</evpn-mirror></config></edit-config>`;
const getConfig = (source = 'running', filter = '') => `<get-config><source><${source}/></source>${filter}</get-config>`;

function dataOf(reply: XmlElement): XmlElement {
  const d = child(reply, 'data');
  assert.ok(d, `expected <data>, got ${errorsOf(reply).map((e) => e.message).join('; ')}`);
  return d;
}

function sessionsIn(reply: XmlElement): string[] {
  const em = child(dataOf(reply), 'evpn-mirror', EM);
  return (em?.children ?? []).filter((c) => c.local === 'session').map((s) => child(s, 'name')!.text);
}

describe('NETCONF server (RFC 6241) over an in-memory transport', () => {
  let dir: string;
  let clock: ManualClock;
  let ds: Datastores;
  let server: NetconfServer;
  let commits: NorthboundConfig[];
  let c: Client;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'em-netconf-'));
    clock = new ManualClock();
    ds = new Datastores({ stateDir: dir, clock });
    ds.load();
    server = new NetconfServer({ datastores: ds, clock });
    commits = [];
    server.on('commit', (cfg) => commits.push(cfg));
    c = new Client(server);
    await c.open();
  });

  afterEach(() => {
    server.closeAll();
    ds.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hello: advertises exactly the implemented capabilities and a session id; base:1.1 on both sides switches to chunked', async () => {
    const d = new Client(server);
    const hello = await d.open();
    const caps = child(hello, 'capabilities')!.children.map((x) => x.text);
    assert.deepEqual(caps, [...CAPABILITIES]);
    assert.ok(d.sessionId > c.sessionId);
    assert.equal(d.t.chunked, true);
    const old = new Client(server);
    await old.open(['urn:ietf:params:netconf:base:1.0']);
    assert.equal(old.t.chunked, false, 'a base:1.0-only client keeps end-of-message framing');
    await old.ok('<lock><target><running/></target></lock>');
  });

  it('a client hello with a session-id, or without a base capability, ends the session', async () => {
    for (const hello of [
      `<hello xmlns="${BASE_NS}"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities><session-id>4</session-id></hello>`,
      `<hello xmlns="${BASE_NS}"><capabilities><capability>urn:example:other</capability></capabilities></hello>`,
    ]) {
      const t = new MemTransport('admin', 'read-write');
      server.attach(t);
      await t.next();
      t.deliver(hello);
      await new Promise((r) => setImmediate(r));
      assert.equal(t.closed, true);
    }
  });

  it('every <rpc> attribute is echoed on the <rpc-reply>, in the base namespace', async () => {
    const r = await c.raw(`<rpc xmlns="${BASE_NS}" message-id="echo-77" xmlns:ex="urn:example" ex:user-id="fred"><get-config><source><running/></source></get-config></rpc>`);
    assert.equal(r.local, 'rpc-reply');
    assert.equal(r.ns, BASE_NS);
    assert.equal(r.attrs.find((a) => a.local === 'message-id')?.value, 'echo-77');
    const ex = r.attrs.find((a) => a.local === 'user-id');
    assert.deepEqual([ex?.ns, ex?.value], ['urn:example', 'fred']);
  });

  it('edit-config on running: merge creates, the commit event carries the typed config, get-config returns it', async () => {
    await c.ok(edit('running', server21() + session('watch')));
    assert.equal(commits.length, 1);
    assert.deepEqual(commits[0]!.monitoring.sessions.map((s) => [s.name, s.vni, s.host.mac, s.monitorServer, s.direction, s.enabled]), [['watch', 1, '02:00:00:00:02:10', 'SERV21', 'both', true]]);
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), ['watch']);
  });

  it('candidate + commit; discard-changes; the candidate does not touch running until commit', async () => {
    await c.ok(edit('candidate', server21() + session('a')));
    assert.deepEqual(sessionsIn(await c.rpc(getConfig('running'))), []);
    assert.deepEqual(sessionsIn(await c.rpc(getConfig('candidate'))), ['a']);
    await c.ok('<commit/>');
    assert.deepEqual(sessionsIn(await c.rpc(getConfig('running'))), ['a']);
    await c.ok(edit('candidate', session('b')));
    await c.ok('<discard-changes/>');
    assert.deepEqual(sessionsIn(await c.rpc(getConfig('candidate'))), ['a']);
    assert.equal(commits.length, 1);
  });

  it('create / delete / remove / replace follow RFC 6241 7.2 (data-exists, data-missing)', async () => {
    await c.ok(edit('running', server21() + session('a') + session('b', '02:00:00:00:02:11')));
    await expectError(c, edit('running', session('a').replace('<session>', '<session xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="create">')), 'data-exists', {
      path: "/em:evpn-mirror/em:session[em:name='a']",
    });
    await expectError(c, edit('running', `<session xmlns:nc="${BASE_NS}" nc:operation="delete"><name>zz</name></session>`), 'data-missing');
    await c.ok(edit('running', `<session xmlns:nc="${BASE_NS}" nc:operation="remove"><name>zz</name></session>`));
    await c.ok(edit('running', `<session xmlns:nc="${BASE_NS}" nc:operation="delete"><name>b</name></session>`));
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), ['a']);
    // replace of an entry drops what is not given again (direction goes back to the default).
    await c.ok(edit('running', session('a', '02:00:00:00:02:10', '<direction>to-host</direction>')));
    await c.ok(edit('running', session('a').replace('<session>', `<session xmlns:nc="${BASE_NS}" nc:operation="replace">`)));
    const a = child(dataOf(await c.rpc(getConfig())), 'evpn-mirror', EM)!.children.find((x) => x.local === 'session')!;
    assert.equal(child(a, 'direction'), undefined);
    // default-operation replace replaces the whole datastore.
    await c.ok(edit('running', server21(), '<default-operation>replace</default-operation>'));
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), []);
  });

  it('invalid values, unknown elements and wrong namespaces: the right rpc-error with error-path, nothing changed', async () => {
    await c.ok(edit('running', server21() + session('a')));
    const before = commits.length;
    await expectError(c, edit('running', session('x', '02:00:00:00:02:99', '').replace('<vni>1</vni>', '<vni>16777216</vni>')), 'invalid-value', {
      path: "/em:evpn-mirror/em:session[em:name='x']/em:vni",
      type: 'application',
    }, /out of range 1\.\.16777215/);
    await expectError(c, edit('running', session('x', '02:00:00:00:02'), ''), 'invalid-value', { path: "/em:evpn-mirror/em:session[em:name='x']/em:monitored-host/em:mac" }, /not a MAC address/);
    await expectError(c, edit('running', server21().replace('<host-id>1</host-id>', '<host-id>0</host-id>')), 'invalid-value', { path: "/em:evpn-mirror/em:monitor-server[em:name='SERV21']/em:host-id" });
    await expectError(c, edit('running', '<sesion><name>x</name></sesion>'), 'unknown-element', { info: { 'bad-element': 'sesion' } });
    await expectError(c, `<edit-config><target><running/></target><config><evpn-mirror xmlns="urn:wrong">${session('x')}</evpn-mirror></config></edit-config>`, 'unknown-namespace', {
      info: { 'bad-element': 'evpn-mirror', 'bad-namespace': 'urn:wrong' },
    });
    await expectError(c, edit('running', `<session xmlns:nc="${BASE_NS}" nc:operation="frobnicate"><name>a</name></session>`), 'bad-attribute');
    assert.equal(commits.length, before);
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), ['a']);
  });

  it('duplicate HOST-ID, dangling monitor reference, host == monitor: refused with YANG error-app-tags, nothing changed', async () => {
    await c.ok(edit('running', server21() + session('a')));
    await expectError(c, edit('running', '<monitor-server><name>S2</name><mac>02:00:00:00:00:22</mac><ipv4>10.1.0.22</ipv4><host-id>1</host-id></monitor-server>'), 'operation-failed', {
      appTag: 'data-not-unique',
    });
    await expectError(c, edit('running', session('b').replace('SERV21', 'NOPE')), 'data-missing', { appTag: 'instance-required', path: "/em:evpn-mirror/em:session[em:name='b']/em:monitor-server" });
    await expectError(c, edit('running', session('b', '02:00:00:00:00:21')), 'invalid-value', { path: "/em:evpn-mirror/em:session[em:name='b']/em:monitor-server" }, /cannot monitor itself/);
    await expectError(c, edit('running', '<session><name>c</name><vni>1</vni><monitor-server>SERV21</monitor-server></session>'), 'data-missing', {
      path: "/em:evpn-mirror/em:session[em:name='c']/em:monitored-host/em:mac",
    });
    await expectError(c, edit('running', '<monitoring-route-target>65000:100</monitoring-route-target>'), 'invalid-value', {}, /above every VNI/);
    assert.equal(commits.length, 1);
  });

  it('error-option: continue-on-error applies the good parts and reports each bad one; test-only changes nothing', async () => {
    await c.ok(edit('candidate', server21()));
    const r = await c.rpc(edit('candidate', session('ok1') + session('bad', 'zz') + session('ok2', '02:00:00:00:02:12') + '<bogus/>', '<error-option>continue-on-error</error-option>'));
    assert.deepEqual(errorsOf(r).map((e) => e.tag), ['invalid-value', 'unknown-element']);
    assert.deepEqual(sessionsIn(await c.rpc(getConfig('candidate'))), ['ok1', 'ok2']);
    await c.ok(edit('candidate', session('t', '02:00:00:00:02:13'), '<test-option>test-only</test-option>'));
    assert.deepEqual(sessionsIn(await c.rpc(getConfig('candidate'))), ['ok1', 'ok2']);
  });

  it('malformed XML, a DTD with entities, unknown operations, a missing message-id: rpc-errors, and the session stays up', async () => {
    let r = await c.raw(`<rpc xmlns="${BASE_NS}" message-id="1"><get-config>`);
    assert.equal(errorsOf(r)[0]?.tag, 'malformed-message');
    r = await c.raw(`<?xml version="1.0"?><!DOCTYPE rpc [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rpc xmlns="${BASE_NS}" message-id="2"><get-config><source><running/></source></get-config>&b;</rpc>`);
    assert.equal(errorsOf(r)[0]?.tag, 'malformed-message');
    assert.match(errorsOf(r)[0]!.message, /DOCTYPE/);
    await expectError(c, '<reboot-everything/>', 'operation-not-supported');
    r = await c.raw(`<rpc xmlns="${BASE_NS}"><get-config><source><running/></source></get-config></rpc>`);
    assert.equal(errorsOf(r)[0]?.tag, 'missing-attribute');
    assert.equal(errorsOf(r)[0]?.info['bad-attribute'], 'message-id');
    await c.ok(edit('running', server21()));
  });

  it('a read-only user can read but any edit gets access-denied', async () => {
    const ro = new Client(server, 'viewer', 'read-only');
    await ro.open();
    await c.ok(edit('running', server21() + session('a')));
    assert.deepEqual(sessionsIn(await ro.rpc(getConfig())), ['a']);
    await expectError(ro, edit('running', session('b', '02:00:00:00:02:11')), 'access-denied', {}, /read-only/);
    await expectError(ro, '<commit/>', 'access-denied');
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), ['a']);
  });

  it('locks: contention between sessions, in-use for writers, release on close; no lock on a dirty candidate', async () => {
    const other = new Client(server, 'ops');
    await other.open();
    await c.ok('<lock><target><running/></target></lock>');
    await expectError(other, '<lock><target><running/></target></lock>', 'lock-denied', { info: { 'session-id': String(c.sessionId) } });
    await expectError(other, edit('running', server21()), 'in-use');
    await expectError(other, '<unlock><target><running/></target></unlock>', 'operation-failed');
    await c.ok(edit('running', server21()));
    await c.ok('<close-session/>');
    await new Promise((r) => setImmediate(r));
    await other.ok('<lock><target><running/></target></lock>');
    await other.ok(edit('candidate', session('a')));
    const third = new Client(server, 'third');
    await third.open();
    await expectError(third, '<lock><target><candidate/></target></lock>', 'lock-denied', {}, /uncommitted changes/);
  });

  it('kill-session ends another session and releases its locks; killing yourself is invalid-value', async () => {
    const victim = new Client(server, 'victim');
    await victim.open();
    await victim.ok('<lock><target><candidate/></target></lock>');
    await expectError(c, `<kill-session><session-id>${c.sessionId}</session-id></kill-session>`, 'invalid-value');
    await c.ok(`<kill-session><session-id>${victim.sessionId}</session-id></kill-session>`);
    assert.equal(victim.t.closed, true);
    await c.ok('<lock><target><candidate/></target></lock>');
  });

  it('confirmed commit: rolls back when the timeout expires; a confirming commit keeps it; cancel-commit rolls back', async () => {
    await c.ok(edit('running', server21() + session('base')));
    await c.ok(edit('candidate', session('trial', '02:00:00:00:02:11')));
    await c.ok('<commit><confirmed/><confirm-timeout>30</confirm-timeout></commit>');
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), ['base', 'trial']);
    clock.advance(30_000);
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), ['base'], 'rolled back after 30 s');
    assert.deepEqual(commits.at(-1)!.monitoring.sessions.map((s) => s.name), ['base'], 'the rollback is delivered as a commit');
    await c.ok(edit('candidate', session('kept', '02:00:00:00:02:12')));
    await c.ok('<commit><confirmed/><confirm-timeout>30</confirm-timeout></commit>');
    await c.ok('<commit/>');
    clock.advance(60_000);
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), ['base', 'kept']);
    await c.ok(edit('candidate', session('gone', '02:00:00:00:02:13')));
    await c.ok('<commit><confirmed/><persist>tok</persist></commit>');
    const other = new Client(server, 'ops');
    await other.open();
    await expectError(other, '<cancel-commit/>', 'invalid-value');
    await other.ok('<cancel-commit><persist-id>tok</persist-id></cancel-commit>');
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), ['base', 'kept']);
  });

  it('a confirmed commit rolls back when its session ends', async () => {
    await c.ok(edit('running', server21()));
    const s2 = new Client(server, 'ops');
    await s2.open();
    await s2.ok(edit('candidate', session('x')));
    await s2.ok('<commit><confirmed/></commit>');
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), ['x']);
    s2.t.close();
    assert.deepEqual(sessionsIn(await c.rpc(getConfig())), []);
  });

  it('subtree filters: selection, containment and content match nodes (RFC 6241 6.4)', async () => {
    await c.ok(edit('running', server21() + session('a') + session('b', '02:00:00:00:02:11', '<direction>to-host</direction>')));
    const f = (inner: string) => getConfig('running', `<filter type="subtree"><evpn-mirror xmlns="${EM}">${inner}</evpn-mirror></filter>`);
    let em = child(dataOf(await c.rpc(f('<session><name>b</name></session>'))), 'evpn-mirror', EM)!;
    assert.deepEqual(em.children.map((x) => x.local), ['session']);
    assert.equal(child(em.children[0]!, 'direction')?.text, 'to-host', 'only content matches: the whole entry');
    em = child(dataOf(await c.rpc(f('<session><name/><vni/></session>'))), 'evpn-mirror', EM)!;
    assert.deepEqual(em.children.map((x) => x.children.map((y) => y.local)), [['name', 'vni'], ['name', 'vni']]);
    em = child(dataOf(await c.rpc(f('<monitor-server/>'))), 'evpn-mirror', EM)!;
    assert.deepEqual(em.children.map((x) => x.local), ['monitor-server']);
    assert.equal(dataOf(await c.rpc(f('<session><name>none</name></session>'))).children.length, 0);
    // <get> adds state and ietf-netconf-monitoring; a filter on netconf-state sessions.
    const g = dataOf(await c.rpc(`<get><filter type="subtree"><netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><sessions/></netconf-state></filter></get>`));
    const sessions = child(child(g, 'netconf-state')!, 'sessions')!.children;
    assert.ok(sessions.some((s) => child(s, 'session-id')?.text === String(c.sessionId)));
  });

  it('get-schema returns the text of every module the library lists, and refuses others with invalid-value', async () => {
    const NM = 'urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring';
    const schema = (inner: string) => `<get-schema xmlns="${NM}">${inner}</get-schema>`;
    const r = await c.rpc(schema('<identifier>evpn-mirror</identifier><format>yang</format>'));
    const text = child(r, 'data')!.text;
    assert.match(text, /^module evpn-mirror \{/);
    assert.equal(text, readFileSync(join(__dirname, '..', '..', '..', 'yang', 'evpn-mirror.yang'), 'utf8'));
    // Our module imports these two (RFC 6991): a manager must be able to fetch them too.
    for (const [name, rev] of [['ietf-yang-types', '2013-07-15'], ['ietf-inet-types', '2013-07-15'], ['ietf-netconf-monitoring', '2010-10-04'], ['ietf-yang-library', '2016-06-21']]) {
      const t = child(await c.rpc(schema(`<identifier>${name}</identifier><version>${rev}</version>`)), 'data')!.text;
      assert.match(t, new RegExp(`^module ${name} \\{`), name);
      assert.match(t, new RegExp(`revision "?${rev}"? \\{`), name);
    }
    await expectError(c, schema('<identifier>ietf-netconf-acm</identifier>'), 'invalid-value', { type: 'application' }, /no schema 'ietf-netconf-acm'/);
    await expectError(c, schema('<identifier>evpn-mirror</identifier><version>2001-01-01</version>'), 'invalid-value', {}, /revision 2001-01-01/);
    await expectError(c, schema('<identifier>evpn-mirror</identifier><format>yin</format>'), 'invalid-value', {}, /format yin/);
    await expectError(c, schema(''), 'missing-element', { info: { 'bad-element': 'identifier' } });
  });

  it('YANG library (RFC 7950 section 5.6.4): the hello lists YANG 1.0 modules and yang-library:1.0; /modules-state lists every module; schemas match', async () => {
    const d = new Client(server);
    const caps = child(await d.open(), 'capabilities')!.children.map((x) => x.text);
    const lib = caps.filter((x) => x.startsWith('urn:ietf:params:netconf:capability:yang-library:1.0?'));
    assert.equal(lib.length, 1, caps.join('\n'));
    const setId = /[?&]module-set-id=([^&]+)/.exec(lib[0]!)?.[1];
    assert.ok(setId);
    assert.match(lib[0]!, /[?&]revision=2016-06-21(&|$)/);
    assert.ok(caps.includes('urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring?module=ietf-netconf-monitoring&revision=2010-10-04'));
    assert.ok(!caps.some((x) => x.includes('module=evpn-mirror')), 'a YANG 1.1 module is announced by the library only');
    const YL = 'urn:ietf:params:xml:ns:yang:ietf-yang-library';
    const ms = child(dataOf(await d.rpc(`<get><filter type="subtree"><modules-state xmlns="${YL}"/></filter></get>`)), 'modules-state', YL)!;
    assert.equal(child(ms, 'module-set-id')!.text, setId);
    const mods = ms.children.filter((m) => m.local === 'module').map((m) => `${child(m, 'name')!.text}@${child(m, 'revision')!.text} ${child(m, 'conformance-type')!.text}`);
    assert.deepEqual(mods.sort(), [
      'evpn-mirror@2026-11-21 implement',
      'ietf-inet-types@2013-07-15 import',
      'ietf-netconf-monitoring@2010-10-04 implement',
      'ietf-yang-library@2016-06-21 implement',
      'ietf-yang-types@2013-07-15 import',
    ]);
    const NM = 'urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring';
    const schemas = child(child(dataOf(await d.rpc(`<get><filter type="subtree"><netconf-state xmlns="${NM}"><schemas/></netconf-state></filter></get>`)), 'netconf-state')!, 'schemas')!;
    assert.deepEqual(schemas.children.map((x) => `${child(x, 'identifier')!.text}@${child(x, 'version')!.text}`).sort(), mods.map((m) => m.split(' ')[0]).sort());
    // Content match on the module list, the way yangcli and Huawei's examples ask.
    const one = child(dataOf(await d.rpc(`<get><filter type="subtree"><modules-state xmlns="${YL}"><module><name>evpn-mirror</name></module></modules-state></filter></get>`)), 'modules-state')!;
    assert.deepEqual(one.children.map((x) => child(x, 'namespace')?.text), [EM]);
  });

  it('writeFileAtomic from pieces: every piece, in order, across 64 KiB blocks', () => {
    const pieces = Array.from({ length: 5000 }, (_, i) => `<p${i}>${'x'.repeat(i % 97)}</p${i}>`);
    const file = join(dir, 'pieces.xml');
    writeFileAtomic(file, (write) => pieces.forEach(write));
    assert.equal(readFileSync(file, 'utf8'), pieces.join(''));
    assert.ok(pieces.join('').length > 3 * 65536);
  });

  it('persistence: running is saved to startup on every commit and a restart comes back with it', async () => {
    await c.ok(edit('running', server21() + session('a')));
    await c.ok(edit('candidate', session('b', '02:00:00:00:02:11')));
    await c.ok('<commit/>');
    const file = readFileSync(join(dir, 'startup.xml'), 'utf8');
    assert.match(file, /<name>b<\/name>/);
    // Written in blocks (writeFileAtomic with pieces): exactly running's XML.
    assert.equal(file, `<config xmlns="${BASE_NS}">${toXml(ds.running)}</config>\n`);
    const again = new Datastores({ stateDir: dir, clock });
    const cfg = again.load();
    assert.deepEqual(cfg.monitoring.sessions.map((s) => s.name), ['a', 'b']);
    assert.deepEqual(sessionsIn(await c.rpc(getConfig('startup'))), ['a', 'b']);
    await c.ok('<delete-config><target><startup/></target></delete-config>');
    assert.deepEqual(sessionsIn(await c.rpc(getConfig('startup'))), []);
    await expectError(c, '<delete-config><target><running/></target></delete-config>', 'invalid-value');
    await c.ok('<copy-config><target><startup/></target><source><running/></source></copy-config>');
    assert.deepEqual(sessionsIn(await c.rpc(getConfig('startup'))), ['a', 'b']);
  });

  it('<get> asks the state provider only for the state lists its filter can select', async () => {
    const asked: string[][] = [];
    const srv = new NetconfServer({
      datastores: ds,
      clock,
      state: (want) => {
        asked.push([...(want ?? [])].sort());
        return { sessions: [], entries: [], bgpPeers: [{ address: '10.0.0.1', state: 'Established', prefixesReceived: 3 }], macs: [] };
      },
    });
    const cl = new Client(srv);
    await cl.open();
    await cl.rpc('<get><filter type="subtree"><netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><sessions/></netconf-state></filter></get>');
    const r = await cl.rpc(`<get><filter type="subtree"><evpn-mirror xmlns="${EM}"><state><bgp-peer/></state></evpn-mirror></filter></get>`);
    await cl.rpc('<get/>');
    assert.deepEqual(asked, [['bgp-peer'], ['bgp-peer', 'entry', 'mac', 'session']], 'nothing for netconf-state only; bgp-peer only; everything without a filter');
    assert.match(JSON.stringify(r), /Established/);
    srv.closeAll();
  });
});
