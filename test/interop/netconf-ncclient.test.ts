// Interop: our NETCONF server over real SSH with a real client, ncclient 0.6.13 (Debian
// python3-ncclient), on loopback. Hello and both framings, get-config/edit-config/get with
// subtree filters, candidate + commit, a confirmed commit that expires and rolls back, lock
// contention, kill-session, bad input answered with the right rpc-error (and hostile input
// from a raw SSH client: malformed XML, an entity expansion attack, an oversize message), and
// persistence across kill -9 of the server during a stream of commits.
import { strict as assert } from 'node:assert';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as SshClient, ClientChannel } from 'ssh2';
import { NetconfService } from '../../src/netconf/service';
import { MessageReader, frameChunked, frameEom } from '../../src/netconf/framing';
import { hashPassword } from '../../src/netconf/users';
import { NorthboundConfig } from '../../src/netconf/validate';
import { parseXml, child } from '../../src/netconf/xml';
import { silentLogger } from '../../src/util/log';

const PY = '/usr/bin/python3';
const STEPS = join(__dirname, '..', '..', '..', 'test', 'interop', 'ncclient', 'nc_steps.py');
const EM = 'urn:evpn-mirror:yang:evpn-mirror';
const BASE = 'urn:ietf:params:xml:ns:netconf:base:1.0';
const PASSWORD = 'correct horse battery staple';

type StepResult = { ok: boolean; op: string; tag?: string; message?: string; path?: string; xml?: string; session_id?: number; framing?: string; capabilities?: string[]; exception?: string; text?: string };

/** Runs the steps in a python3 ncclient process (async: the server runs in this process). */
function ncclient(steps: object[], timeoutMs = 60_000): Promise<StepResult[]> {
  return new Promise((resolve, reject) => {
    const py = spawn(PY, [STEPS], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => py.kill('SIGKILL'), timeoutMs);
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    py.stderr.on('data', (d: Buffer) => (err += d.toString()));
    py.on('error', reject);
    py.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`ncclient script failed (${code}): ${err}`));
      resolve(
        out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as StepResult),
      );
    });
    py.stdin.end(JSON.stringify(steps));
  });
}

const cfg = (inner: string) => `<config xmlns="${BASE}"><evpn-mirror xmlns="${EM}">${inner}</evpn-mirror></config>`;
const server21 = '<monitor-server><name>SERV21</name><mac>02:00:00:00:00:21</mac><ipv4>10.1.0.21</ipv4><host-id>1</host-id></monitor-server>';
const session = (name: string, mac = '02:00:00:00:02:10', extra = '') =>
  `<session><name>${name}</name><vni>1</vni><monitored-host><mac>${mac}</mac></monitored-host><monitor-server>SERV21</monitor-server>${extra}</session>`;

function sessionNames(xml: string | undefined): string[] {
  if (!xml) return [];
  const doc = parseXml(xml);
  const em = doc.local === 'evpn-mirror' ? doc : child(doc, 'evpn-mirror', EM);
  return (em?.children ?? []).filter((c) => c.local === 'session').map((s) => child(s, 'name')!.text);
}

function allOk(results: StepResult[]): void {
  for (const r of results) assert.ok(r.ok, `${r.op}: ${r.tag ?? r.exception ?? ''} ${r.message ?? ''}`);
}

/** A raw NETCONF-over-SSH client, for input ncclient would never send. */
async function rawSession(port: number, user: string, password: string): Promise<{ send(b: Buffer): void; next(): Promise<string | undefined>; channel: ClientChannel; end(): void; reader: MessageReader }> {
  const conn = new SshClient();
  await new Promise<void>((resolve, reject) => {
    conn.on('ready', () => resolve()).on('error', reject);
    conn.connect({ host: '127.0.0.1', port, username: user, password, readyTimeout: 10_000 });
  });
  const channel = await new Promise<ClientChannel>((resolve, reject) => conn.subsys("netconf", (err: Error | undefined, ch: ClientChannel) => (err ? reject(err) : resolve(ch))));
  const reader = new MessageReader();
  const queue: string[] = [];
  const waiters: ((m: string | undefined) => void)[] = [];
  let ended = false;
  channel.on('data', (d: Buffer) => {
    for (const m of reader.push(d)) {
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    }
  });
  channel.on('close', () => {
    ended = true;
    for (const w of waiters.splice(0)) w(undefined);
  });
  return {
    reader,
    channel,
    send: (b) => channel.write(b),
    next: () => (queue.length ? Promise.resolve(queue.shift()) : ended ? Promise.resolve(undefined) : new Promise((r) => waiters.push(r))),
    end: () => conn.end(),
  };
}

describe('interop: ncclient against our NETCONF server over SSH', function () {
  this.timeout(180_000);
  let dir: string;
  let svc: NetconfService;
  let port: number;
  const commits: NorthboundConfig[] = [];
  const admin = () => ({ user: 'admin', password: PASSWORD, port });

  before(async () => {
    const v = spawnSync(PY, ['-c', 'import ncclient; print(ncclient.__version__)'], { encoding: 'utf8' });
    assert.equal(v.status, 0, `ncclient is not installed for ${PY} (scripts/setup.sh installs python3-ncclient): ${v.stderr}`);
    dir = mkdtempSync(join(tmpdir(), 'em-ncclient-'));
    svc = new NetconfService({
      stateDir: dir,
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
      maxMessageBytes: 1 << 20,
      users: [
        { name: 'admin', role: 'read-write', passwordHash: hashPassword(PASSWORD) },
        { name: 'viewer', role: 'read-only', passwordHash: hashPassword(PASSWORD) },
      ],
    });
    svc.server.on('commit', (c) => commits.push(c));
    port = (await svc.start()).port;
  });

  after(async () => {
    await svc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('hello: base:1.1 clients switch to chunked framing, base:1.0-only clients keep end-of-message; capabilities are ours', async () => {
    const r = await ncclient([
      { s: 'a', op: 'connect', ...admin() },
      { s: 'b', op: 'connect', ...admin(), base10only: true },
      { s: 'b', op: 'get_config', source: 'running' },
      { s: 'a', op: 'close_session' },
      { s: 'b', op: 'close_session' },
    ]);
    allOk(r);
    assert.equal(r[0]!.framing, 'chunked');
    assert.equal(r[1]!.framing, 'eom');
    assert.ok(r[0]!.capabilities!.includes('urn:ietf:params:netconf:capability:confirmed-commit:1.1'));
    // RFC 7950 section 5.6.4: our YANG 1.1 module is announced through the YANG library.
    assert.ok(r[0]!.capabilities!.some((c) => /^urn:ietf:params:netconf:capability:yang-library:1\.0\?revision=2016-06-21&module-set-id=\w+$/.test(c)));
    assert.ok(r[0]!.capabilities!.includes('urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring?module=ietf-netconf-monitoring&revision=2010-10-04'));
  });

  it('edit-config of sessions on running, get-config, get with a subtree filter', async () => {
    const r = await ncclient([
      { s: 'a', op: 'connect', ...admin() },
      { s: 'a', op: 'edit_config', target: 'running', config: cfg(server21 + session('web1') + session('web2', '02:00:00:00:02:11', '<direction>to-host</direction>')) },
      { s: 'a', op: 'get_config', source: 'running' },
      { s: 'a', op: 'get_config', source: 'running', filter: `<evpn-mirror xmlns="${EM}"><session><name>web2</name></session></evpn-mirror>` },
      { s: 'a', op: 'get', filter: `<netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><schemas/></netconf-state>` },
      { s: 'a', op: 'get_schema', identifier: 'evpn-mirror' },
      { s: 'a', op: 'get', filter: `<modules-state xmlns="urn:ietf:params:xml:ns:yang:ietf-yang-library"><module><name>evpn-mirror</name></module></modules-state>` },
      { s: 'a', op: 'get_schema', identifier: 'ietf-inet-types' },
    ]);
    allOk(r);
    assert.deepEqual(sessionNames(r[2]!.xml), ['web1', 'web2']);
    assert.deepEqual(sessionNames(r[3]!.xml), ['web2']);
    assert.match(r[3]!.xml!, /<direction>to-host<\/direction>/);
    assert.match(r[4]!.xml!, /<identifier>evpn-mirror<\/identifier>/);
    assert.match(r[5]!.text!, /^module evpn-mirror/);
    assert.match(r[6]!.xml!, /<module><name>evpn-mirror<\/name><revision>\d{4}-\d\d-\d\d<\/revision><namespace>urn:evpn-mirror:yang:evpn-mirror<\/namespace><conformance-type>implement<\/conformance-type><\/module>/);
    assert.match(r[7]!.text!, /^module ietf-inet-types/);
    assert.deepEqual(commits.at(-1)!.monitoring.sessions.map((s) => s.name), ['web1', 'web2']);
  });

  it('candidate + commit, and a confirmed commit that expires and rolls back', async () => {
    const r = await ncclient([
      { s: 'a', op: 'connect', ...admin() },
      { s: 'a', op: 'edit_config', target: 'candidate', config: cfg(session('db1', '02:00:00:00:02:20')) },
      { s: 'a', op: 'commit' },
      { s: 'a', op: 'get_config', source: 'running' },
      { s: 'a', op: 'edit_config', target: 'candidate', config: cfg(session('trial', '02:00:00:00:02:21')) },
      { s: 'a', op: 'commit', confirmed: true, timeout: '2' },
      { s: 'a', op: 'get_config', source: 'running' },
      { s: 'a', op: 'sleep', seconds: 3 },
      { s: 'a', op: 'get_config', source: 'running' },
    ]);
    allOk(r);
    assert.deepEqual(sessionNames(r[3]!.xml), ['web1', 'web2', 'db1']);
    assert.deepEqual(sessionNames(r[6]!.xml), ['web1', 'web2', 'db1', 'trial']);
    assert.deepEqual(sessionNames(r[8]!.xml), ['web1', 'web2', 'db1'], 'rolled back after the 2 s confirm-timeout');
  });

  it('lock contention between two sessions: lock-denied, and in-use for the other session edits', async () => {
    const r = await ncclient([
      { s: 'a', op: 'connect', ...admin() },
      { s: 'b', op: 'connect', ...admin() },
      { s: 'a', op: 'lock', target: 'running' },
      { s: 'b', op: 'lock', target: 'running' },
      { s: 'b', op: 'edit_config', target: 'running', config: cfg(session('x', '02:00:00:00:02:30')) },
    ]);
    assert.ok(r[2]!.ok);
    assert.equal(r[3]!.tag, 'lock-denied');
    assert.equal(r[4]!.tag, 'in-use');
  });

  it('kill-session ends a live session and its lock goes with it; killing yourself is refused', async () => {
    const r = await ncclient([
      { s: 'a', op: 'connect', ...admin() },
      { s: 'b', op: 'connect', ...admin() },
      { s: 'a', op: 'lock', target: 'candidate' },
      { s: 'b', op: 'lock', target: 'candidate' },
      { s: 'b', op: 'kill_session', of: 'b' },
      { s: 'b', op: 'kill_session', of: 'a' },
      { s: 'b', op: 'lock', target: 'candidate' },
      { s: 'b', op: 'unlock', target: 'candidate' },
    ]);
    assert.deepEqual(
      r.map((x) => (x.ok ? 'ok' : x.tag)),
      ['ok', 'ok', 'ok', 'lock-denied', 'invalid-value', 'ok', 'ok', 'ok'],
    );
  });

  it('bad input: invalid values, duplicate HOST-ID, dangling reference, read-only edit: the right rpc-error, config unchanged', async () => {
    const before = commits.length;
    const r = await ncclient([
      { s: 'a', op: 'connect', ...admin() },
      { s: 'a', op: 'edit_config', target: 'running', config: cfg(session('bad', '02:00:00:00:02:40').replace('<vni>1</vni>', '<vni>16777216</vni>')) },
      { s: 'a', op: 'edit_config', target: 'running', config: cfg(session('bad', 'zz:00:00:00:02:40')) },
      { s: 'a', op: 'edit_config', target: 'running', config: cfg(server21.replace('<host-id>1</host-id>', '<host-id>0</host-id>')) },
      { s: 'a', op: 'edit_config', target: 'running', config: cfg('<monitor-server><name>S2</name><mac>02:00:00:00:00:22</mac><ipv4>10.1.0.22</ipv4><host-id>1</host-id></monitor-server>') },
      { s: 'a', op: 'edit_config', target: 'running', config: cfg(session('bad', '02:00:00:00:02:40').replace('SERV21', 'GHOST')) },
      { s: 'v', op: 'connect', user: 'viewer', password: PASSWORD, port },
      { s: 'v', op: 'edit_config', target: 'running', config: cfg(session('ro', '02:00:00:00:02:41')) },
      { s: 'v', op: 'get_config', source: 'running' },
    ]);
    assert.deepEqual(
      r.map((x) => (x.ok ? 'ok' : `${x.tag}`)),
      ['ok', 'invalid-value', 'invalid-value', 'invalid-value', 'operation-failed', 'data-missing', 'ok', 'access-denied', 'ok'],
    );
    assert.equal(r[1]!.path, "/em:evpn-mirror/em:session[em:name='bad']/em:vni");
    assert.match(r[4]!.message!, /already used by monitor server 'SERV21'/);
    assert.deepEqual(sessionNames(r[8]!.xml), ['web1', 'web2', 'db1']);
    assert.equal(commits.length, before);
  });

  it('hostile input from a raw SSH client: malformed XML, an entity expansion attack, an oversize message', async () => {
    const raw = await rawSession(port, 'admin', PASSWORD);
    await raw.next(); // server hello
    raw.send(frameEom(`<hello xmlns="${BASE}"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>`));
    raw.reader.useChunked();
    raw.send(frameChunked(`<rpc xmlns="${BASE}" message-id="1"><get-config><source><running/></get-config></rpc>`));
    let reply = parseXml((await raw.next())!);
    assert.equal(child(child(reply, 'rpc-error')!, 'error-tag')!.text, 'malformed-message');
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><rpc xmlns="${BASE}" message-id="2"><get-config><source><running/></source></get-config>&lol9;</rpc>`;
    raw.send(frameChunked(lol));
    reply = parseXml((await raw.next())!);
    assert.equal(child(child(reply, 'rpc-error')!, 'error-tag')!.text, 'malformed-message');
    assert.match(child(child(reply, 'rpc-error')!, 'error-message')!.text, /DOCTYPE/);
    // Still usable after both.
    raw.send(frameChunked(`<rpc xmlns="${BASE}" message-id="3"><get-config><source><running/></source></get-config></rpc>`));
    reply = parseXml((await raw.next())!);
    assert.ok(child(reply, 'data'), 'the session still answers');
    // A message above the 1 MiB cap: the session is closed, the server and other sessions are not affected.
    raw.send(frameChunked(`<rpc xmlns="${BASE}" message-id="4"><get-config><source><running/></source></get-config><x>${'a'.repeat(2 << 20)}</x></rpc>`, 1 << 16));
    assert.equal(await raw.next(), undefined, 'the oversize session is closed');
    raw.end();
    const r = await ncclient([{ s: 'a', op: 'connect', ...admin() }, { s: 'a', op: 'get_config', source: 'running' }]);
    allOk(r);
    assert.deepEqual(sessionNames(r[1]!.xml), ['web1', 'web2', 'db1']);
  });
});

describe('interop: NETCONF persistence across kill -9 during a stream of commits', function () {
  this.timeout(180_000);
  let dir: string;
  let child1: ChildProcess | undefined;
  const CHILD = join(__dirname, '..', '..', 'src', 'netconf', 'tools', 'netconf-server-child.js');
  const users = JSON.stringify([{ name: 'admin', role: 'read-write', passwordHash: hashPassword(PASSWORD) }]);

  function startChild(): Promise<{ proc: ChildProcess; port: number; startupSessions: number }> {
    const proc = spawn(process.execPath, [CHILD, dir, '0', users], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
      let buf = '';
      proc.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const line = buf.split('\n').find((l) => l.includes('"ready"'));
        if (line) {
          const j = JSON.parse(line) as { port: number; startupSessions: number };
          resolve({ proc, port: j.port, startupSessions: j.startupSessions });
        }
      });
      proc.on('exit', (code) => reject(new Error(`server child exited with ${code}`)));
    });
  }

  before(() => (dir = mkdtempSync(join(tmpdir(), 'em-nc-persist-'))));
  after(() => {
    child1?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('after kill -9 the restarted server has the last committed config (or the one being committed), and the file parses', async () => {
    const first = await startChild();
    child1 = first.proc;
    const steps: object[] = [{ s: 'a', op: 'connect', user: 'admin', password: PASSWORD, port: first.port, timeout: 5 }];
    steps.push({ s: 'a', op: 'edit_config', target: 'running', config: cfg(server21) });
    for (let i = 0; i < 400; i++)
      steps.push({ s: 'a', op: 'edit_config', target: 'candidate', config: cfg(session(`s${i}`, `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`)) }, { s: 'a', op: 'commit' });
    // Run the stream in the background and kill the server in the middle of it.
    // The kill is triggered by progress, not by time: on a quiet machine the whole stream
    // can finish in a couple of seconds. The exit promise exists before anything can exit.
    const py = spawn(PY, [STEPS], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((r) => py.on('exit', r));
    let out = '';
    let killed = false;
    py.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const commits = (out.match(/"op": "commit"/g) ?? []).length;
      if (!killed && commits >= 150) {
        killed = true;
        first.proc.kill('SIGKILL');
      }
    });
    py.stdin.end(JSON.stringify(steps));
    await exited;
    assert.ok(killed, `the stream reached 150 commits before the kill (output: ${out.slice(-500)})`);
    const acked = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StepResult)
      .filter((x) => x.op === 'commit' && x.ok).length;
    assert.ok(acked > 0 && acked < 400, `the kill landed mid-stream (${acked} commits acknowledged)`);
    // The file parses and holds a committed configuration.
    const file = readFileSync(join(dir, 'startup.xml'), 'utf8');
    parseXml(file);
    const second = await startChild();
    child1 = second.proc;
    assert.ok(
      second.startupSessions === acked || second.startupSessions === acked + 1,
      `restarted with ${second.startupSessions} sessions; ${acked} commits were acknowledged (the next may have been saved before its reply)`,
    );
    const r = await ncclient([{ s: 'a', op: 'connect', user: 'admin', password: PASSWORD, port: second.port }, { s: 'a', op: 'get_config', source: 'running' }]);
    allOk(r);
    assert.equal(sessionNames(r[1]!.xml).length, second.startupSessions);
    second.proc.kill('SIGTERM');
    await new Promise((res) => second.proc.on('exit', res));
    child1 = undefined;
  });
});
