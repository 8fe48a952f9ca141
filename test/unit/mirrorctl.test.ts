// evpn-mirrorctl, the operators' CLI, run as a child process (asynchronously: the NETCONF
// server it talks to runs in this process) against a real NetconfService on 127.0.0.1 whose
// state provider returns a fixed AgentState.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { utils } from 'ssh2';
import { formatTable, parseMacs } from '../../src/cli/evpn-mirrorctl';
import { NetconfClient } from '../../src/netconf/client';
import { BASE_NS } from '../../src/netconf/errors';
import { EM_NS } from '../../src/netconf/schema';
import { SAMPLE_STATE as STATE } from '../support/netconf-mem';
import { NetconfService } from '../../src/netconf/service';
import { hashPassword, verifyPassword, type NetconfUser } from '../../src/netconf/users';
import { child, parseXml } from '../../src/netconf/xml';

const CTL = path.join(__dirname, '..', '..', 'src', 'cli', 'evpn-mirrorctl.js');
const PW = 'ctl-secret-Pa55-word';
const RO_PW = 'ro-secret-Pa55';
const FAST = { N: 1024, r: 8, p: 1 };
const opKey = utils.generateKeyPairSync('ed25519', { comment: 'operator@test' });
const USERS: NetconfUser[] = [
  { name: 'admin', role: 'read-write', passwordHash: hashPassword(PW, FAST) },
  { name: 'viewer', role: 'read-only', passwordHash: hashPassword(RO_PW, FAST) },
  { name: 'operator', role: 'read-write', authorizedKeys: [opKey.public] },
];


interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('evpn-mirrorctl', function () {
  this.timeout(60_000);
  let dir: string;
  let svc: NetconfService;
  let port: number;

  /** Runs the CLI against the service (asynchronously: the server is in this process). */
  function ctl(args: string[], opts: { env?: Record<string, string | undefined>; global?: string[] } = {}): Promise<Run> {
    const env: Record<string, string | undefined> = { ...process.env, EVPN_MIRROR_PASSWORD: PW, USER: 'admin', ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const global = opts.global ?? ['--port', String(port)];
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [CTL, ...global, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('error', reject);
      p.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function ok(args: string[], opts?: Parameters<typeof ctl>[1]): Promise<string> {
    const r = await ctl(args, opts);
    assert.equal(r.code, 0, `evpn-mirrorctl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    assert.equal(r.stderr, '');
    return r.stdout;
  }

  const json = async (args: string[]): Promise<unknown> => JSON.parse(await ok([...args, '--json'])) as unknown;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'em-mirrorctl-'));
    svc = new NetconfService({ stateDir: dir, host: '127.0.0.1', port: 0, users: USERS, state: () => STATE });
    port = (await svc.start()).port;
  });

  afterEach(async () => {
    // Leave running empty for the next test.
    const c = await NetconfClient.connect({ host: '127.0.0.1', port, username: 'admin', password: PW });
    if (child(await c.getConfig('running'), 'evpn-mirror', EM_NS))
      await c.editConfig('running', `<evpn-mirror xmlns="${EM_NS}" xmlns:nc="${BASE_NS}" nc:operation="remove"/>`);
    await c.closeSession();
  });

  after(async () => {
    await svc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('hash-password: a scrypt hash of the password on stdin (or in the environment) that the agent accepts', async () => {
    const run = (input: string, env: Record<string, string> = {}) =>
      new Promise<Run>((resolve) => {
        const p = spawn(process.execPath, [CTL, 'hash-password'], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        p.on('close', (code) => resolve({ code, stdout, stderr }));
        p.stdin.end(input);
      });
    const a = await run('s3cret pass\n');
    assert.equal(a.code, 0, a.stderr);
    const hash = a.stdout.trim();
    assert.match(hash, /^scrypt\$16384\$8\$1\$/);
    assert.ok(verifyPassword('s3cret pass', hash), 'the line end is not part of the password');
    assert.ok(!verifyPassword('s3cret pass\n', hash));
    assert.notEqual((await run('s3cret pass\n')).stdout.trim(), hash, 'a fresh salt each time');
    const b = await run('', { EVPN_MIRROR_PASSWORD: 'from-env' });
    assert.ok(verifyPassword('from-env', b.stdout.trim()));
    for (const bad of ['', '\n', 'two\nlines\n']) {
      const r = await run(bad);
      assert.equal(r.code, 2, JSON.stringify(bad));
      assert.match(r.stderr, /evpn-mirrorctl: (empty password|the password must be one line)/);
      assert.equal(r.stdout, '');
    }
  });

  it('usage: --help exits 0; no command, an unknown command or option, a missing option exit 2 (commander)', async () => {
    const help = await ctl(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: evpn-mirrorctl \[options\] \[command\]/);
    for (const word of ['server', 'session', 'show', '--json', '--timeout', 'EVPN_MIRROR_PASSWORD', 'Exit status']) assert.ok(help.stdout.includes(word), word);
    const sub = await ctl(['session', 'add', '--help']);
    assert.equal(sub.code, 0);
    assert.match(sub.stdout, /^usage: evpn-mirrorctl session add \[options\] <name>/);
    assert.match(sub.stdout, /--direction <direction>/);
    assert.match(sub.stdout, /Global Options:/);

    for (const [args, re] of [
      [[], /usage: evpn-mirrorctl/],
      [['server'], /usage: evpn-mirrorctl server/],
      [['bogus'], /unknown command 'bogus'/],
      [['server', 'add', 'S1', '--host-id', '1'], /required option '--mac <mac>' not specified/],
      [['session', 'add', 'x', '--vni', '1', '--host-mac', '02:00:00:00:00:01', '--server', 'S', '--direction', 'sideways'], /Allowed choices are both, from-host, to-host/],
      [['server', 'list', '--port', 'x'], /port number/],
      [['show', 'macs', '--mac', 'nope'], /MAC address/],
      [['server', 'list', '--frobnicate'], /unknown option '--frobnicate'/],
    ] as [string[], RegExp][]) {
      const r = await ctl(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, '');
    }
  });

  it('server add and session add, then list as aligned tables and as JSON', async () => {
    assert.equal(await ok(['server', 'add', 'SERV21', '--mac', '02:00:00:00:00:21', '--host-id', '21', '--ipv4', '10.1.0.21']), "added monitor server 'SERV21'\n");
    await ok(['server', 'add', 'SERV22', '--mac', '02:00:00:00:00:22', '--host-id', '22', '--ipv6', '2001:db8::22', '--vni', '900']);
    assert.equal(await ok(['session', 'add', 'web1', '--vni', '10010', '--host-mac', '02:00:00:00:02:10', '--host-ipv4', '10.0.0.5', '--server', 'SERV21']), "added session 'web1'\n");
    // Global options before the command work as well as after it.
    await ok(['--json', 'session', 'add', 'db', '--vni', '10020', '--host-mac', '02:00:00:00:03:30', '--host-ipv6', '2001:db8::30', '--server', 'SERV22', '--direction', 'from-host', '--disabled']);

    assert.equal(
      await ok(['server', 'list']),
      [
        'NAME    MAC                HOST-ID  IPV4       IPV6          VNI',
        'SERV21  02:00:00:00:00:21       21  10.1.0.21  -               -',
        'SERV22  02:00:00:00:00:22       22  -          2001:db8::22  900',
        '',
      ].join('\n'),
    );
    assert.deepEqual(await json(['server', 'list']), [
      { name: 'SERV21', mac: '02:00:00:00:00:21', hostId: 21, ipv4: '10.1.0.21' },
      { name: 'SERV22', mac: '02:00:00:00:00:22', hostId: 22, ipv6: '2001:db8::22', vni: 900 },
    ]);
    assert.equal(
      await ok(['session', 'list']),
      [
        'NAME    VNI  HOST-MAC           HOST-IPV4  HOST-IPV6     SERVER  DIRECTION  ADMIN',
        'web1  10010  02:00:00:00:02:10  10.0.0.5   -             SERV21  both       enabled',
        'db    10020  02:00:00:00:03:30  -          2001:db8::30  SERV22  from-host  disabled',
        '',
      ].join('\n'),
    );
    assert.deepEqual(await json(['session', 'list']), [
      { name: 'web1', vni: 10010, hostMac: '02:00:00:00:02:10', hostIpv4: '10.0.0.5', monitorServer: 'SERV21', direction: 'both', adminState: 'enabled' },
      { name: 'db', vni: 10020, hostMac: '02:00:00:00:03:30', hostIpv6: '2001:db8::30', monitorServer: 'SERV22', direction: 'from-host', adminState: 'disabled' },
    ]);
    // add merges into an existing entry.
    await ok(['session', 'add', 'db', '--vni', '10020', '--host-mac', '02:00:00:00:03:30', '--server', 'SERV22']);
    const db = ((await json(['session', 'list'])) as { name: string; direction: string; adminState: string }[]).find((s) => s.name === 'db')!;
    assert.deepEqual([db.direction, db.adminState], ['both', 'enabled']);
  });

  it('delete: a session, then its server; a server in use, or one that does not exist, is refused (exit 1)', async () => {
    await ok(['server', 'add', 'SERV21', '--mac', '02:00:00:00:00:21', '--host-id', '21', '--ipv4', '10.1.0.21']);
    await ok(['session', 'add', 'web1', '--vni', '10010', '--host-mac', '02:00:00:00:02:10', '--server', 'SERV21']);
    const inUse = await ctl(['server', 'delete', 'SERV21']);
    assert.equal(inUse.code, 1);
    assert.equal(
      inUse.stderr,
      "evpn-mirrorctl: data-missing: monitor server 'SERV21' is not configured (session 'web1' refers to it) (/em:evpn-mirror/em:session[em:name='web1']/em:monitor-server)\n",
    );
    assert.equal(await ok(['session', 'delete', 'web1']), "deleted session 'web1'\n");
    assert.deepEqual(await json(['session', 'list']), []);
    assert.deepEqual(await json(['server', 'delete', 'SERV21']), { ok: true });
    assert.deepEqual(await json(['server', 'list']), []);
    assert.equal(await ok(['server', 'list']), 'NAME  MAC  HOST-ID  IPV4  IPV6  VNI\n');
    const gone = await ctl(['session', 'delete', 'web1']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^evpn-mirrorctl: data-missing: .*\(\/em:evpn-mirror.*\)\n$/);
  });

  it("an invalid VNI: exit 1 with the server's error-message and error-path on stderr", async () => {
    await ok(['server', 'add', 'SERV21', '--mac', '02:00:00:00:00:21', '--host-id', '21', '--ipv4', '10.1.0.21']);
    const r = await ctl(['session', 'add', 'x', '--vni', '16777216', '--host-mac', '02:00:00:00:02:10', '--server', 'SERV21']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "evpn-mirrorctl: invalid-value: vni: 16777216 is out of range 1..16777215 (/em:evpn-mirror/em:session[em:name='x']/em:vni)\n");
    const j = await ctl(['session', 'add', 'x', '--vni', '0', '--host-mac', '02:00:00:00:02:10', '--server', 'SERV21', '--json']);
    assert.equal(j.code, 1);
    assert.equal(j.stdout, '');
    assert.match(j.stderr, /invalid-value: vni: 0 is out of range/);
    assert.deepEqual(await json(['session', 'list']), []);
  });

  it('a session referring to a monitor server that does not exist: exit 1, data-missing with its path', async () => {
    const r = await ctl(['session', 'add', 'x', '--vni', '10', '--host-mac', '02:00:00:00:02:10', '--server', 'NOPE']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "evpn-mirrorctl: data-missing: monitor server 'NOPE' is not configured (session 'x' refers to it) (/em:evpn-mirror/em:session[em:name='x']/em:monitor-server)\n");
  });

  it('a read-only user may show but not change: access-denied, exit 1', async () => {
    const r = await ctl(['--user', 'viewer', 'server', 'add', 'S', '--mac', '02:00:00:00:00:21', '--host-id', '1', '--ipv4', '10.1.0.1'], { env: { EVPN_MIRROR_PASSWORD: RO_PW } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^evpn-mirrorctl: access-denied: user 'viewer' is read-only/);
    assert.equal((await ctl(['--user', 'viewer', 'show', 'peers'], { env: { EVPN_MIRROR_PASSWORD: RO_PW } })).code, 0);
  });

  it('connection failures exit 2 with a clear message: wrong password, refused port, wrong host key, no credentials; the password is never printed', async () => {
    const wrong = await ctl(['server', 'list', '--password', 'not-the-password-xyzzy']);
    assert.equal(wrong.code, 2);
    assert.equal(wrong.stderr, `evpn-mirrorctl: authentication failed for user 'admin' at 127.0.0.1:${port}\n`);
    assert.equal(wrong.stdout, '');
    const wrongEnv = await ctl(['server', 'list'], { env: { EVPN_MIRROR_PASSWORD: 'env-wrong-secret-plugh' } });
    assert.equal(wrongEnv.code, 2);
    assert.doesNotMatch(wrongEnv.stderr + wrongEnv.stdout, /plugh/);

    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const closedPort = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const refused = await ctl(['server', 'list'], { global: ['--port', String(closedPort)] });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`^evpn-mirrorctl: cannot connect to 127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED`));

    const fp = svc.ssh.hostKeyFingerprint!;
    assert.equal((await ctl(['server', 'list', '--host-key', fp])).code, 0);
    const badKey = await ctl(['server', 'list', '--host-key', 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']);
    assert.equal(badKey.code, 2);
    assert.equal(badKey.stderr, `evpn-mirrorctl: host key of 127.0.0.1:${port} is ${fp}, expected SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n`);

    const none = await ctl(['server', 'list'], { env: { EVPN_MIRROR_PASSWORD: undefined } });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no credentials: give --password, set EVPN_MIRROR_PASSWORD, or give --key/);
  });

  it('--timeout: an agent that never answers gives exit 2 after the timeout', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const t0 = Date.now();
      const r = await ctl(['show', 'peers', '--timeout', '0.5'], { global: ['--port', String((silent.address() as net.AddressInfo).port)] });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^evpn-mirrorctl: .*timed out/);
      assert.ok(Date.now() - t0 < 10_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('authenticates with EVPN_MIRROR_PASSWORD, --password, or --key; --user defaults to $USER', async () => {
    await ok(['server', 'list']); // env password, user from $USER
    await ok(['server', 'list', '--password', PW], { env: { EVPN_MIRROR_PASSWORD: undefined } });
    const keyFile = path.join(dir, 'operator_key');
    fs.writeFileSync(keyFile, opKey.private, { mode: 0o600 });
    await ok(['--user', 'operator', '--key', keyFile, 'server', 'add', 'K1', '--mac', '02:00:00:00:00:31', '--host-id', '31', '--ipv4', '10.1.0.31'], { env: { EVPN_MIRROR_PASSWORD: undefined } });
    assert.deepEqual(((await json(['server', 'list'])) as { name: string }[]).map((s) => s.name), ['K1']);
    const asOperator = await ctl(['server', 'list'], { env: { USER: 'operator' } });
    assert.equal(asOperator.code, 2, 'user operator has no password');
  });

  it('show sessions: every session of the state, as a table and as JSON', async () => {
    assert.equal(
      await ok(['show', 'sessions']),
      [
        'ID          NAME        ORIGIN    VNI  HOST-MAC           HOST-ID  DIRECTION  STATUS           ROLES         HOST-AT     MONITOR-AT',
        '10.0.0.1:7  web1        local   10010  02:00:00:00:02:10       21  both       active           first,second  local swp3  remote 10.0.0.2',
        '10.0.0.9:1  10.0.0.9:1  remote  10020  02:00:00:00:03:30       22  from-host  monitor-unknown  -             unknown     unknown',
        '',
      ].join('\n'),
    );
    // --json prints the agent's state as it is: exactly what the server's state provider gave.
    assert.deepEqual(await json(['show', 'sessions']), STATE.sessions);
  });

  it('show entries (with packet and byte counters) and show peers', async () => {
    assert.equal(
      await ok(['show', 'entries']),
      [
        'ID  KIND    SESSIONS    MATCH                          ACTION                     PACKETS  BYTES',
        'e1  first   10.0.0.1:7  src 02:00:00:00:02:10 on swp3  mirror to 10.0.0.2 gbp 21     1234  98765',
        'e2  second  10.0.0.1:7  dst 02:00:00:00:02:10          mirror to 10.0.0.2 gbp 21        -      -',
        '',
      ].join('\n'),
    );
    assert.deepEqual(await json(['show', 'entries']), [
      { id: 'e1', kind: 'first', sessions: ['10.0.0.1:7'], match: 'src 02:00:00:00:02:10 on swp3', action: 'mirror to 10.0.0.2 gbp 21', packets: 1234, bytes: 98765 },
      { id: 'e2', kind: 'second', sessions: ['10.0.0.1:7'], match: 'dst 02:00:00:00:02:10', action: 'mirror to 10.0.0.2 gbp 21' },
    ]);
    assert.equal(await ok(['show', 'peers']), ['ADDRESS     STATE        PREFIXES', '10.0.0.254  Established        42', '10.0.0.253  Active              0', ''].join('\n'));
    assert.deepEqual(await json(['show', 'peers']), [
      { address: '10.0.0.254', state: 'Established', prefixesReceived: 42 },
      { address: '10.0.0.253', state: 'Active', prefixesReceived: 0 },
    ]);
  });

  it('show macs: all, or filtered by VNI and/or MAC on the server (subtree filter)', async () => {
    assert.equal(
      await ok(['show', 'macs']),
      [
        '  VNI  MAC                LOCATION         SEQ  STICKY  DUPLICATE',
        '10010  02:00:00:00:02:10  local swp3         0  no      no',
        '10010  02:00:00:00:00:21  remote 10.0.0.2    3  yes     no',
        '10020  02:00:00:00:02:10  remote 10.0.0.9    1  no      yes',
        '',
      ].join('\n'),
    );
    assert.deepEqual(await json(['show', 'macs', '--vni', '10020']), [
      { vni: 10020, mac: '02:00:00:00:02:10', location: { kind: 'remote', vtep: '10.0.0.9' }, sequence: 1, sticky: false, duplicate: true },
    ]);
    const byMac = (await json(['show', 'macs', '--mac', '02-00-00-00-02-10'])) as { vni: number }[];
    assert.deepEqual(byMac.map((m) => m.vni), [10010, 10020]);
    const both = (await json(['show', 'macs', '--vni', '10010', '--mac', '02:00:00:00:00:21'])) as { location: unknown }[];
    assert.deepEqual(both.map((m) => m.location), [{ kind: 'remote', vtep: '10.0.0.2' }]);
    assert.deepEqual(await json(['show', 'macs', '--vni', '999']), []);
  });

  it('formatTable aligns columns (right for numbers) and trims trailing blanks; parseMacs reads the mac list', () => {
    assert.equal(formatTable(['A', { header: 'N', right: true }, 'C'], [['xx', '5', ''], ['y', '100', 'z']]), 'A     N  C\nxx    5\ny   100  z\n');
    const data = parseXml(
      `<data xmlns="${BASE_NS}"><evpn-mirror xmlns="${EM_NS}"><state><mac><vni>5</vni><mac>02:00:00:00:00:01</mac><location><kind>local</kind><port>eth1</port></location><sequence>18446744073709551615</sequence><sticky>true</sticky><duplicate>false</duplicate></mac></state></evpn-mirror></data>`,
    );
    assert.deepEqual(parseMacs(data), [{ vni: 5, mac: '02:00:00:00:00:01', location: { kind: 'local', port: 'eth1' }, sequence: '18446744073709551615', sticky: true, duplicate: false }]);
  });
});
