// The two NETCONF servers of bench/netconf.ts, each started fresh in a private temp dir on
// loopback, and stopped by PID:
//  - ours: dist/src/netconf/tools/netconf-server-child.js (NETCONF over SSH, password login);
//  - yuma123 netconfd 2.13 with yang/evpn-mirror.yang behind a private OpenSSH sshd whose
//    "netconf" subsystem is netconf-subsystem (key login as root on the private sshd only).
//
// netconfd notes (see shared/docs/peers.md):
//  - it runs unprivileged, as a numeric uid that has no /etc/passwd entry, with HOME in the
//    temp dir: netconfd makes its work dir from getpwuid()'s home when the uid has one
//    (/nonexistent for nobody: "Could not setup Yuma work directory"), from $HOME otherwise;
//  - netconf-subsystem takes --ncxserver-sockname=<sshd port>@<socket>: it picks the entry
//    whose port is the local port of $SSH_CONNECTION (else /tmp/ncxserver.sock);
//  - netconfd drops the session ("agt_connect error (access denied)") unless that sshd port
//    is in its own --port list.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { run, sleep, waitUntil } from '../../src/lab/exec';
import { hashPassword } from '../../src/netconf/users';

const ROOT = join(__dirname, '..', '..', '..');
export const YANG = join(ROOT, 'yang', 'evpn-mirror.yang');
const CHILD = join(ROOT, 'dist', 'src', 'netconf', 'tools', 'netconf-server-child.js');

/** What the ncclient driver needs to log in. */
export interface Login {
  port: number;
  user: string;
  password?: string;
  key?: string;
}

export interface RunningServer {
  login: Login;
  /** The PID whose VmHWM is reported (the server process proper). */
  pid: number;
  /** Processes in the path besides the server (sshd for netconfd). */
  stop(): Promise<void>;
}

function vmHwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export function peakRssMb(pid: number): number {
  return vmHwmKb(pid) / 1024;
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
async function stopProcess(p: ChildProcess, graceMs = 5000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port }, () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export const OUR_PASSWORD = 'bench-password';

/** Our server as its own process; stdout (one JSON line per commit) is read and dropped. */
export async function startOurs(): Promise<RunningServer> {
  const dir = fs.mkdtempSync('/tmp/em-bench-nc-ours-');
  const users = JSON.stringify([{ name: 'admin', role: 'read-write', passwordHash: hashPassword(OUR_PASSWORD) }]);
  const proc = spawn(process.execPath, [CHILD, dir, '0', users], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EM_LOG_LEVEL: 'warn' } });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      if (line.includes('"ready"')) resolve((JSON.parse(line) as { port: number }).port);
    });
    proc.once('exit', (code) => reject(new Error(`our server exited (${code}) before it was ready: ${stderr}`)));
  });
  return {
    login: { port, user: 'admin', password: OUR_PASSWORD },
    pid: proc.pid!,
    stop: async () => {
      await stopProcess(proc);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Why netconfd cannot run here, or undefined when it can. */
export function netconfdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a private sshd that logs in, and setpriv to run netconfd as another uid)';
  for (const p of ['/usr/sbin/netconfd', '/usr/sbin/netconf-subsystem', '/usr/sbin/sshd', '/usr/bin/ssh-keygen', '/usr/bin/setpriv'])
    if (!fs.existsSync(p)) return `${p} is missing (apt-get install netconfd openssh-server; scripts/setup.sh installs them as root)`;
  return undefined;
}

/** A numeric uid with no /etc/passwd entry (see the note at the top). */
function unusedUid(): number {
  const used = new Set(
    fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => Number(l.split(':')[2])),
  );
  let uid = 61234;
  while (used.has(uid)) uid++;
  return uid;
}

export async function startNetconfd(logLevel = 'warn', yangFile = YANG): Promise<RunningServer & { yangNote: string }> {
  const why = netconfdUnavailable();
  if (why) throw new Error(`netconfd cannot be started here: ${why}`);
  const dir = fs.mkdtempSync('/tmp/em-bench-nc-yuma-');
  fs.chmodSync(dir, 0o755);
  const uid = unusedUid();
  const home = join(dir, 'home');
  fs.mkdirSync(home, { mode: 0o700 });
  fs.chownSync(home, uid, uid);
  // The module, unmodified: netconfd 2.13 accepts it as is (leafref, unique, must, when).
  const yang = join(dir, 'evpn-mirror.yang');
  fs.copyFileSync(yangFile, yang);
  fs.chmodSync(yang, 0o644);
  const sock = join(home, 'ncxserver.sock');
  const sshPort = await freePort();
  const procs: ChildProcess[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of procs.reverse()) await stopProcess(p);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    let ncdErr = '';
    const ncd = spawn(
      '/usr/bin/setpriv',
      [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '/usr/sbin/netconfd', `--module=${yang}`, '--target=running', '--superuser=root', `--ncxserver-sockname=${sock}`, `--port=${sshPort}`, '--no-startup', `--log-level=${logLevel}`, `--log=${join(home, 'netconfd.log')}`],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: home } },
    );
    ncd.stderr!.on('data', (d: Buffer) => (ncdErr += d.toString()));
    procs.push(ncd); // setpriv execs netconfd: same PID
    await waitUntil(() => fs.existsSync(sock) || ncd.exitCode !== null, { timeoutMs: 30_000, intervalMs: 50, what: 'netconfd socket' });
    if (ncd.exitCode !== null) throw new Error(`netconfd exited (${ncd.exitCode}): ${ncdErr} ${fs.existsSync(join(home, 'netconfd.log')) ? fs.readFileSync(join(home, 'netconfd.log'), 'utf8') : ''}`);

    const hostKey = join(dir, 'ssh_host_ed25519_key');
    const clientKey = join(dir, 'client_key');
    await run(['/usr/bin/ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    await run(['/usr/bin/ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
    fs.copyFileSync(`${clientKey}.pub`, join(dir, 'authorized_keys'));
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation dir
    const conf = join(dir, 'sshd_config');
    fs.writeFileSync(
      conf,
      [
        `Port ${sshPort}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'AllowUsers root',
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitTTY no',
        'X11Forwarding no',
        'AllowTcpForwarding no',
        'AllowAgentForwarding no',
        'LogLevel ERROR',
        `Subsystem netconf /usr/sbin/netconf-subsystem --ncxserver-sockname=${sshPort}@${sock}`,
        '',
      ].join('\n'),
    );
    let sshdErr = '';
    const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr!.on('data', (d: Buffer) => (sshdErr += d.toString()));
    procs.push(sshd);
    await waitUntil(async () => (await portOpen(sshPort)) || sshd.exitCode !== null, { timeoutMs: 10_000, intervalMs: 50, what: 'the private sshd' });
    if (sshd.exitCode !== null) throw new Error(`sshd exited (${sshd.exitCode}): ${sshdErr}`);
    await sleep(50);
    return {
      login: { port: sshPort, user: 'root', key: clientKey },
      pid: ncd.pid!,
      stop: stopAll,
      yangNote: yangFile === YANG ? 'yang/evpn-mirror.yang loaded unmodified' : `${yangFile} loaded`,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
