// Interop: yangcli (yuma123 2.13, Debian package yangcli) against our NETCONF server over SSH
// on loopback. yangcli is a schema-driven client: after the hello it loads every module the
// server announces (in the hello and in the YANG library's /modules-state), fetching those it
// does not have (ours, evpn-mirror) with <get-schema>
// (RFC 6022), then runs the command. Covered: reading the configuration with sget,
// get-config and get; writing through the candidate (merge + commit); a server-side
// validation error shown as an rpc-error. Not covered, by design: yangcli's xget/xget-config
// (XPath filters) need the :xpath capability, which we do not announce: yangcli refuses to send
// them (in batch mode it then asks on stdin whether to send anyway and aborts).
//
// yangcli keeps state in ~/.yuma of the passwd entry of its uid (not $HOME): it is run as a
// numeric uid with no passwd entry and HOME in a temp dir, so it writes nothing outside it.
// The server runs in this process: yangcli and ncclient are spawned asynchronously.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetconfService } from '../../src/netconf/service';
import { hashPassword } from '../../src/netconf/users';
import { NorthboundConfig } from '../../src/netconf/validate';
import { child, parseXml } from '../../src/netconf/xml';
import { silentLogger } from '../../src/util/log';

const PY = '/usr/bin/python3';
const YANGCLI = '/usr/bin/yangcli';
const SETPRIV = '/usr/bin/setpriv';
const STEPS = join(__dirname, '..', '..', '..', 'test', 'interop', 'ncclient', 'nc_steps.py');
const EM = 'urn:evpn-mirror:yang:evpn-mirror';
const BASE = 'urn:ietf:params:xml:ns:netconf:base:1.0';
const PASSWORD = 'yangcli test password';

interface Proc {
  code: number | null;
  out: string;
}

/** Runs a command asynchronously (never spawnSync: the server under test is in this process). */
function runAsync(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    if (opts.input !== undefined) p.stdin!.end(opts.input);
  });
}

type StepResult = { ok: boolean; op: string; tag?: string; message?: string; xml?: string; exception?: string };

async function ncclient(steps: object[]): Promise<StepResult[]> {
  const r = await runAsync(PY, [STEPS], { input: JSON.stringify(steps) });
  assert.equal(r.code, 0, `ncclient script failed: ${r.out}`);
  return r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StepResult);
}

function sessionNames(xml: string | undefined): string[] {
  if (!xml) return [];
  const doc = parseXml(xml);
  const em = doc.local === 'evpn-mirror' ? doc : child(doc, 'evpn-mirror', EM);
  return (em?.children ?? []).filter((c) => c.local === 'session').map((s) => child(s, 'name')!.text);
}

/** A numeric uid with no /etc/passwd entry. */
function unusedUid(): number {
  const used = new Set(
    readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => Number(l.split(':')[2])),
  );
  let uid = 61250;
  while (used.has(uid)) uid++;
  return uid;
}

const cfg = (inner: string) => `<config xmlns="${BASE}"><evpn-mirror xmlns="${EM}">${inner}</evpn-mirror></config>`;
const server21 = '<monitor-server><name>SERV21</name><mac>02:00:00:00:00:21</mac><ipv4>10.1.0.21</ipv4><host-id>21</host-id></monitor-server>';
const session = (name: string, mac: string, extra = '') =>
  `<session><name>${name}</name><vni>100</vni><monitored-host><mac>${mac}</mac></monitored-host><monitor-server>SERV21</monitor-server>${extra}</session>`;

describe('interop: yangcli (yuma123) against our NETCONF server over SSH', function () {
  this.timeout(120_000);
  let dir: string;
  let home: string;
  let uid: number;
  let svc: NetconfService;
  let port: number;
  const commits: NorthboundConfig[] = [];
  const admin = () => ({ user: 'admin', password: PASSWORD, port });

  /** yangcli in batch mode: one command (--run-command) or a script file (--run-script). */
  function yangcli(args: string[]): Promise<Proc> {
    return runAsync(
      SETPRIV,
      [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', YANGCLI, '--server=127.0.0.1', `--ncport=${port}`, '--user=admin', `--password=${PASSWORD}`, '--batch-mode', ...args],
      { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: home } },
    );
  }

  before(async () => {
    assert.ok(existsSync(YANGCLI), 'yangcli is not installed (scripts/setup.sh installs the Debian package yangcli)');
    assert.equal(process.getuid?.(), 0, 'this test runs yangcli as an unprivileged uid through setpriv: run it as root (npm test does)');
    dir = mkdtempSync(join(tmpdir(), 'em-yangcli-'));
    home = mkdtempSync(join(tmpdir(), 'em-yangcli-home-'));
    uid = unusedUid();
    chownSync(home, uid, uid);
    svc = new NetconfService({
      stateDir: dir,
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
      users: [{ name: 'admin', role: 'read-write', passwordHash: hashPassword(PASSWORD) }],
    });
    svc.server.on('commit', (c) => commits.push(c));
    port = (await svc.start()).port;
    // The configuration yangcli reads, pushed by another client (ncclient).
    const r = await ncclient([
      { s: 'a', op: 'connect', ...admin() },
      { s: 'a', op: 'edit_config', target: 'running', config: cfg(server21 + session('web-frontend-1', '02:00:00:00:02:10') + session('db.primary', '02:00:00:00:02:11', '<direction>to-host</direction>') + session('cache_3', '02:00:00:00:02:12')) },
    ]);
    for (const x of r) assert.ok(x.ok, `${x.op}: ${x.tag ?? x.exception ?? ''} ${x.message ?? ''}`);
  });

  after(async () => {
    await svc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('fetches our module with <get-schema>, then reads the sessions with sget /evpn-mirror', async () => {
    const r = await yangcli(['--log-level=debug', '--run-command=sget /evpn-mirror']);
    assert.equal(r.code, 0, r.out);
    // The hello does not list evpn-mirror (a YANG 1.1 module, RFC 7950 section 5.6.4): yangcli
    // finds it in the YANG library's /modules-state, has no copy of it, and asks the server.
    assert.match(r.out, /Sending yang-library \/modules-state <get> autoload request/);
    assert.match(r.out, /Module 'evpn-mirror' not available, will try <get-schema>/);
    assert.match(r.out, /Got autoload reply for 'evpn-mirror' r'2026-11-21'/);
    assert.match(r.out, /RPC Data Reply \d+ for session \d+/);
    for (const name of ['web-frontend-1', 'db.primary', 'cache_3']) assert.match(r.out, new RegExp(`session ${name.replace('.', '\\.')} \\{`));
    assert.match(r.out, /direction to-host/);
    assert.match(r.out, /monitor-server SERV21 \{/);
    assert.doesNotMatch(r.out, /rpc-error/);
  });

  it('reads running with get-config, and config + netconf-state with get', async () => {
    const gc = await yangcli(['--run-command=get-config source=running']);
    assert.equal(gc.code, 0, gc.out);
    for (const name of ['web-frontend-1', 'db.primary', 'cache_3']) assert.ok(gc.out.includes(`session ${name} {`), gc.out);
    const g = await yangcli(['--run-command=get']);
    assert.equal(g.code, 0, g.out);
    for (const name of ['web-frontend-1', 'db.primary', 'cache_3']) assert.ok(g.out.includes(`session ${name} {`), g.out);
    assert.match(g.out, /netconf-state \{/);
    assert.match(g.out, /schema evpn-mirror 2026-11-21 ncm:yang \{/);
  });

  it('writes through the candidate: merge of a new session, then commit', async () => {
    const before = commits.length;
    const script = join(home, 'add.yc');
    writeFileSync(
      script,
      [
        "merge /evpn-mirror/session[name='from-yangcli']/vni value=200",
        "merge /evpn-mirror/session[name='from-yangcli']/monitored-host/mac value=02:00:00:00:02:20",
        "merge /evpn-mirror/session[name='from-yangcli']/monitor-server value=SERV21",
        'commit',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    const r = await yangcli([`--run-script=${script}`]);
    assert.equal(r.code, 0, r.out);
    assert.equal((r.out.match(/RPC OK Reply/g) ?? []).length, 4, r.out);
    assert.equal(commits.length, before + 1);
    const s = commits.at(-1)!.monitoring.sessions.find((x) => x.name === 'from-yangcli');
    assert.ok(s, 'the committed configuration has the new session');
    const check = await ncclient([{ s: 'a', op: 'connect', ...admin() }, { s: 'a', op: 'get_config', source: 'running' }]);
    assert.deepEqual(sessionNames(check[1]!.xml), ['web-frontend-1', 'db.primary', 'cache_3', 'from-yangcli']);
  });

  it('shows our rpc-error when a commit fails validation (dangling monitor-server reference)', async () => {
    const before = commits.length;
    const script = join(home, 'bad.yc');
    writeFileSync(
      script,
      [
        "merge /evpn-mirror/session[name='dangling']/vni value=200",
        "merge /evpn-mirror/session[name='dangling']/monitored-host/mac value=02:00:00:00:02:21",
        "merge /evpn-mirror/session[name='dangling']/monitor-server value=GHOST",
        'commit',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    const r = await yangcli([`--run-script=${script}`]);
    assert.match(r.out, /RPC Error Reply \d+ for session \d+/);
    assert.match(r.out, /error-tag data-missing/);
    assert.match(r.out, /error-app-tag instance-required/);
    assert.match(r.out, /error-path \/em:evpn-mirror\/em:session\[em:name='dangling'\]\/em:monitor-server/);
    assert.equal(commits.length, before, 'nothing committed');
    // yangcli stops its script at the error: the candidate still holds the bad session.
    const r2 = await ncclient([{ s: 'a', op: 'connect', ...admin() }, { s: 'a', op: 'discard_changes' }, { s: 'a', op: 'get_config', source: 'running' }]);
    assert.ok(r2[1]!.ok);
    assert.deepEqual(sessionNames(r2[2]!.xml), ['web-frontend-1', 'db.primary', 'cache_3', 'from-yangcli']);
  });
});
