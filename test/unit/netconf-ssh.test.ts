// NETCONF over SSH (RFC 6242): a real server on 127.0.0.1, real ssh2 clients, and ncclient
// (Debian's python3-ncclient) when it is installed. Also users and password hashes.
import { strict as assert } from 'node:assert';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, utils, type ClientChannel, type ConnectConfig } from 'ssh2';
import { FramingError, MessageReader, frameChunked, frameEom } from '../../src/netconf/framing';
import {
  NetconfSshServer,
  loadOrCreateHostKey,
  type NetconfSshServerOptions,
  type NetconfTransport,
} from '../../src/netconf/ssh-server';
import {
  hashPassword,
  keyFingerprint,
  parseAuthorizedKey,
  parsePasswordHash,
  validateUsers,
  verifyPassword,
  verifyPasswordAsync,
  type NetconfUser,
} from '../../src/netconf/users';
import { RecordingLogger, silentLogger } from '../../src/util/log';

const PYTHON = '/usr/bin/python3';
const ALICE_PW = 'alice-Pa55word-xyzzy';
const CAROL_PW = 'carol-other-secret-42';
const bobKey = utils.generateKeyPairSync('ed25519', { comment: 'bob@test' });
const daveKey = utils.generateKeyPairSync('rsa', { bits: 2048, comment: 'dave@test' });
const strangerKey = utils.generateKeyPairSync('ed25519', { comment: 'stranger@test' });

const USERS: NetconfUser[] = [
  { name: 'alice', role: 'read-write', passwordHash: hashPassword(ALICE_PW) },
  { name: 'bob', role: 'read-only', authorizedKeys: [bobKey.public] },
  { name: 'carol', role: 'read-only', passwordHash: hashPassword(CAROL_PW), authorizedKeys: [bobKey.public] },
  { name: 'dave', role: 'read-write', authorizedKeys: [daveKey.public] },
];

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'netconf-ssh-test-'));
let tmpCount = 0;
const tmpPath = (name: string): string => path.join(tmpRoot, `${++tmpCount}-${name}`);

/** A queue of values that arrive by events, taken in order with a timeout. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((v: T) => void)[] = [];
  put(v: T): void {
    const w = this.waiters.shift();
    if (w) w(v);
    else this.items.push(v);
  }
  take(what = 'value', ms = 10000): Promise<T> {
    if (this.items.length) return Promise.resolve(this.items.shift()!);
    return new Promise((resolve, reject) => {
      const waiter = (v: T): void => {
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1); // a late value goes to the next taker
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      this.waiters.push(waiter);
    });
  }
  /** Forget pending takers (they never resolve): after a failure, so they do not steal later values. */
  cancelWaiters(): void {
    this.waiters.length = 0;
  }
  get length(): number {
    return this.items.length;
  }
}

interface Harness {
  server: NetconfSshServer;
  port: number;
  logger: RecordingLogger;
  sessions: Inbox<NetconfTransport>;
}

const servers: NetconfSshServer[] = [];
const clients: Client[] = [];

async function startServer(opts: Partial<NetconfSshServerOptions> = {}): Promise<Harness> {
  const logger = new RecordingLogger();
  const server = new NetconfSshServer({
    host: '127.0.0.1',
    port: 0,
    hostKeyPath: opts.hostKeyPath ?? tmpPath('host_key'),
    users: USERS,
    logger,
    ...opts,
  });
  servers.push(server);
  const sessions = new Inbox<NetconfTransport>();
  server.on('session', (t) => sessions.put(t));
  const { port } = await server.start();
  return { server, port, logger, sessions };
}

function connect(port: number, cfg: ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    clients.push(c);
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('connection closed before authentication')));
    c.connect({ host: '127.0.0.1', port, readyTimeout: 10000, ...cfg });
  });
}

async function authError(port: number, cfg: ConnectConfig): Promise<Error & { level?: string }> {
  try {
    await connect(port, cfg);
  } catch (e) {
    return e as Error & { level?: string };
  }
  assert.fail('authentication unexpectedly succeeded');
}

function subsystem(c: Client, name = 'netconf'): Promise<ClientChannel> {
  return new Promise((resolve, reject) => c.subsys(name, (err, ch) => (err ? reject(err) : resolve(ch))));
}

/** A client-side NETCONF endpoint: raw bytes received and messages parsed with our reader. */
class Peer {
  raw = Buffer.alloc(0);
  readonly reader = new MessageReader();
  readonly messages = new Inbox<string>();
  readonly closed: Promise<void>;
  constructor(readonly ch: ClientChannel) {
    ch.on('data', (d: Buffer) => {
      this.raw = Buffer.concat([this.raw, d]);
      for (const m of this.reader.push(d)) this.messages.put(m);
    });
    this.closed = new Promise((resolve) => ch.once('close', () => resolve()));
  }
}

async function netconfSession(h: Harness, cfg: ConnectConfig): Promise<{ client: Client; peer: Peer; t: NetconfTransport }> {
  const client = await connect(h.port, cfg);
  const ch = await subsystem(client);
  const t = await h.sessions.take('session');
  return { client, peer: new Peer(ch), t };
}

function messagesOf(t: NetconfTransport): Inbox<string> {
  const box = new Inbox<string>();
  t.on('message', (m) => box.put(m));
  return box;
}

function when(emitter: { once(ev: string, fn: (...a: unknown[]) => void): unknown }, ev: string, ms = 10000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for '${ev}'`)), ms);
    emitter.once(ev, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

const logsText = (l: RecordingLogger): string => JSON.stringify(l.records);

after(async () => {
  for (const c of clients) c.end();
  await Promise.all(servers.map((s) => s.stop()));
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

describe('NETCONF users and password hashes', () => {
  it('hashes with scrypt in a self-describing format, never containing the password', () => {
    const pw = 'correct horse battery staple';
    const h = hashPassword(pw);
    assert.match(h, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/);
    assert.ok(!h.includes(pw));
    assert.ok(!h.includes(Buffer.from(pw).toString('base64')));
    assert.notEqual(hashPassword(pw), h, 'random salt');
    const parsed = parsePasswordHash(h);
    assert.equal(parsed.salt.length, 16);
    assert.equal(parsed.hash.length, 32);
    assert.equal(verifyPassword(pw, h), true);
    assert.equal(verifyPassword(pw + ' ', h), false);
    assert.equal(verifyPassword('', h), false);
    assert.equal(verifyPassword(pw, 'not-a-hash'), false);
    assert.equal(verifyPassword(pw, h.replace('$16384$', '$3$')), false);
    const cheap = hashPassword('x', { N: 1024 });
    assert.match(cheap, /^scrypt\$1024\$8\$1\$/);
    assert.equal(verifyPassword('x', cheap), true);
    assert.throws(() => hashPassword('x', { N: 1000 }), /power of two/);
  });

  it('verifies asynchronously too', async () => {
    const h = hashPassword('pw', { N: 1024 });
    assert.equal(await verifyPasswordAsync('pw', h), true);
    assert.equal(await verifyPasswordAsync('pW', h), false);
    assert.equal(await verifyPasswordAsync('pw', 'scrypt$1024$8$1$AAAA$AAAA'), false);
  });

  it('refuses hashes with absurd scrypt parameters (no denial of service by config)', () => {
    const salt = Buffer.alloc(16).toString('base64');
    const hash = Buffer.alloc(32).toString('base64');
    assert.throws(() => parsePasswordHash(`scrypt$${2 ** 30}$8$1$${salt}$${hash}`), /power of two/);
    assert.throws(() => parsePasswordHash(`scrypt$16384$999$1$${salt}$${hash}`), /scrypt r/);
    assert.throws(() => parsePasswordHash(`scrypt$016384$8$1$${salt}$${hash}`), /not a positive decimal/);
    assert.throws(() => parsePasswordHash(`scrypt$16384$8$1$${salt}$short`), /hash is not base64/);
    assert.throws(() => parsePasswordHash('$2b$10$abcdefghijklmnopqrstuv'), /not in the format/);
  });

  it('validates users with clear errors, all at once', () => {
    const table = validateUsers(USERS);
    assert.equal(table.size, 4);
    assert.equal(table.get('bob')?.keys.length, 1);
    assert.throws(
      () =>
        validateUsers([
          { name: 'a', role: 'admin' as never, passwordHash: hashPassword('a', { N: 1024 }) },
          { name: 'b', role: 'read-only' },
          { name: 'c', role: 'read-only', passwordHash: 'hunter2' },
          { name: 'd', role: 'read-only', authorizedKeys: ['ssh-ed25519 AAAAnotakey d@x'] },
          { name: 'e', role: 'read-only', authorizedKeys: [bobKey.private] },
          { name: 'f', role: 'read-only', authorizedKeys: [`from="10.0.0.1" ${bobKey.public}`] },
          { name: 'a', role: 'read-only', authorizedKeys: [bobKey.public] },
          { name: '', role: 'read-only', authorizedKeys: [bobKey.public] },
        ]),
      (e: Error) => {
        const m = e.message;
        assert.match(m, /user 'a': unknown role "admin" \(expected read-only or read-write\)/);
        assert.match(m, /user 'b': no authentication method/);
        assert.match(m, /user 'c': password hash is not in the format/);
        assert.ok(!m.includes('hunter2'), 'the bad hash is not echoed');
        assert.match(m, /user 'd': authorizedKeys\[0\]: authorized key cannot be parsed/);
        assert.match(m, /user 'e': authorizedKeys\[0\]: authorized key is a private key/);
        assert.match(m, /user 'f': authorizedKeys\[0\]: .*options are not supported/);
        assert.match(m, /user 'a': defined more than once/);
        assert.match(m, /user #8: name must be a non-empty string/);
        return true;
      },
    );
  });

  it('fingerprints keys as ssh-keygen does', async function () {
    const fp = keyFingerprint(parseAuthorizedKey(bobKey.public));
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    const file = tmpPath('bob.pub');
    fs.writeFileSync(file, bobKey.public + '\n');
    const out = await new Promise<string | undefined>((resolve) =>
      execFile('ssh-keygen', ['-lf', file], (err, stdout) => resolve(err ? undefined : stdout)),
    );
    if (out === undefined) return; // no ssh-keygen here
    assert.ok(out.includes(fp), `${out} does not include ${fp}`);
  });
});

describe('NETCONF SSH server', function () {
  this.timeout(60000);
  let h: Harness;

  before(async () => {
    h = await startServer();
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.end();
  });

  describe('authentication', () => {
    it('password: the right password gets in, with the user and role on the session', async () => {
      const { t } = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      assert.equal(t.user, 'alice');
      assert.equal(t.role, 'read-write');
      assert.equal(t.remoteAddress, '127.0.0.1');
      assert.ok(t.id >= 1);
      assert.ok(
        h.logger.records.some((r) => r.message === 'NETCONF SSH user authenticated' && r.meta?.user === 'alice' && r.meta?.method === 'password'),
      );
    });

    it('password: a wrong password is rejected, with a warning naming user and address but not the password', async () => {
      const wrong = 'Wrong-Password-Do-Not-Log';
      const err = await authError(h.port, { username: 'alice', password: wrong });
      assert.equal(err.level, 'client-authentication');
      const warn = h.logger.records.find(
        (r) => r.level === 'warn' && r.meta?.user === 'alice' && r.meta?.reason === 'wrong password',
      );
      assert.ok(warn, 'warning logged');
      assert.equal(warn.meta?.address, '127.0.0.1');
      assert.ok(!logsText(h.logger).includes(wrong), 'password not logged');
      assert.ok(!logsText(h.logger).includes(ALICE_PW), 'password not logged');
    });

    it('password: an unknown user is rejected (and a key-only user has no password)', async () => {
      const err = await authError(h.port, { username: 'mallory', password: ALICE_PW });
      assert.equal(err.level, 'client-authentication');
      assert.ok(h.logger.records.some((r) => r.level === 'warn' && r.meta?.user === 'mallory' && r.meta?.reason === 'unknown user'));
      const err2 = await authError(h.port, { username: 'bob', password: ALICE_PW });
      assert.equal(err2.level, 'client-authentication');
    });

    it('publickey: an authorized ed25519 key gets in; another key is rejected', async () => {
      const { t } = await netconfSession(h, { username: 'bob', privateKey: bobKey.private });
      assert.equal(t.user, 'bob');
      assert.equal(t.role, 'read-only');
      const err = await authError(h.port, { username: 'bob', privateKey: strangerKey.private });
      assert.equal(err.level, 'client-authentication');
      // bob's key is not dave's.
      const err2 = await authError(h.port, { username: 'dave', privateKey: bobKey.private });
      assert.equal(err2.level, 'client-authentication');
    });

    it('publickey: an authorized RSA key gets in (rsa-sha2 signatures)', async () => {
      const { t } = await netconfSession(h, { username: 'dave', privateKey: daveKey.private });
      assert.equal(t.user, 'dave');
      assert.equal(t.role, 'read-write');
    });

    it("a client offering 'none', then a key not on file, then the password gets in", async () => {
      const offered: string[] = [];
      const client = await connect(h.port, {
        username: 'carol',
        authHandler: (_left, _partial, next) => {
          const steps = [
            { type: 'none' as const, username: 'carol' },
            { type: 'publickey' as const, username: 'carol', key: strangerKey.private },
            { type: 'password' as const, username: 'carol', password: CAROL_PW },
          ];
          const step = steps[offered.length];
          if (!step) return next(false as never);
          offered.push(step.type);
          next(step);
        },
      });
      assert.deepEqual(offered, ['none', 'publickey', 'password']);
      await subsystem(client);
      const t = await h.sessions.take('session');
      assert.equal(t.user, 'carol');
      assert.ok(
        h.logger.records.some((r) => r.meta?.user === 'carol' && r.meta?.method === 'publickey' && /key not authorized/.test(String(r.meta?.reason))),
      );
    });

    it('disconnects after maxAuthAttempts rejections', async () => {
      const h2 = await startServer({ maxAuthAttempts: 2 });
      const tries = ['a', 'b', 'c', 'd'].map((p) => ({ type: 'password' as const, username: 'alice', password: p }));
      const err = await authError(h2.port, { username: 'alice', authHandler: tries });
      assert.ok(err);
      assert.ok(h2.logger.records.some((r) => /too many authentication failures/.test(r.message)));
      const rejected = h2.logger.records.filter((r) => r.message === 'NETCONF SSH authentication rejected');
      assert.equal(rejected.length, 2);
      await h2.server.stop();
    });

    it('closes connections that do not authenticate within authTimeoutMs', async () => {
      const h2 = await startServer({ authTimeoutMs: 200 });
      const sock = net.connect(h2.port, '127.0.0.1');
      sock.on('error', () => undefined);
      sock.on('data', () => undefined);
      const t0 = Date.now();
      await when(sock, 'close', 5000);
      assert.ok(Date.now() - t0 < 3000);
      await h2.server.stop();
    });
  });

  describe('host key', () => {
    it('is generated once (mode 0600) and the same after a restart', async () => {
      const keyPath = tmpPath('dir/sub/ssh_host_key');
      const seen: string[] = [];
      const hostVerifier = (key: Buffer): boolean => {
        seen.push(keyFingerprint(key));
        return true;
      };
      const h1 = await startServer({ hostKeyPath: keyPath });
      assert.equal((fs.statSync(keyPath).mode & 0o777).toString(8), '600');
      const bytes = fs.readFileSync(keyPath);
      assert.match(bytes.toString(), /BEGIN OPENSSH PRIVATE KEY/);
      (await connect(h1.port, { username: 'alice', password: ALICE_PW, hostVerifier })).end();
      assert.ok(h1.logger.records.some((r) => r.message === 'generated NETCONF SSH host key'));
      await h1.server.stop();

      const h2 = await startServer({ hostKeyPath: keyPath });
      (await connect(h2.port, { username: 'alice', password: ALICE_PW, hostVerifier })).end();
      await h2.server.stop();
      assert.equal(seen.length, 2);
      assert.equal(seen[0], seen[1]);
      assert.equal(seen[0], h1.server.hostKeyFingerprint);
      assert.equal(h2.server.hostKeyFingerprint, h1.server.hostKeyFingerprint);
      assert.ok(fs.readFileSync(keyPath).equals(bytes), 'file unchanged');
      assert.ok(!h2.logger.records.some((r) => r.message === 'generated NETCONF SSH host key'));
      assert.deepEqual(fs.readdirSync(path.dirname(keyPath)), ['ssh_host_key'], 'no temporary file left');
      assert.ok(!logsText(h1.logger).includes('PRIVATE KEY'));
    });

    it('concurrent first starts agree on one key', async () => {
      const keyPath = tmpPath('race_key');
      const keys = await Promise.all([1, 2, 3, 4, 5].map(() => loadOrCreateHostKey(keyPath, 'ed25519', silentLogger)));
      assert.equal(new Set(keys.map((k) => k.fingerprint)).size, 1);
      assert.equal(keys.filter((k) => k.created).length, 1);
      assert.equal(keys[0]!.fingerprint, (await loadOrCreateHostKey(keyPath, 'ed25519', silentLogger)).fingerprint);
    });

    it('an unreadable key file is an error, never overwritten', async () => {
      const keyPath = tmpPath('bad_key');
      fs.writeFileSync(keyPath, 'garbage\n', { mode: 0o600 });
      const s = new NetconfSshServer({ host: '127.0.0.1', port: 0, hostKeyPath: keyPath, users: USERS, logger: silentLogger });
      await assert.rejects(s.start(), /host key .*bad_key cannot be parsed/);
      assert.equal(fs.readFileSync(keyPath, 'utf8'), 'garbage\n');
      await s.stop();
    });

    it('can generate an RSA host key', async () => {
      let algo = '';
      const h2 = await startServer({ hostKeyType: 'rsa' });
      (
        await connect(h2.port, {
          username: 'alice',
          password: ALICE_PW,
          hostVerifier: (key: Buffer) => {
            algo = key.subarray(4, 4 + key.readUInt32BE(0)).toString();
            return true;
          },
        })
      ).end();
      assert.equal(algo, 'ssh-rsa');
      await h2.server.stop();
    });
  });

  describe('netconf subsystem', () => {
    it('end-of-message both ways, then chunked both ways after useChunked()', async () => {
      const { peer, t } = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      const inbox = messagesOf(t);
      assert.equal(t.framing, 'eom');
      peer.ch.write(frameEom('<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>'));
      assert.equal(await inbox.take('hello'), '<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>');

      t.send('<hello>server</hello>');
      assert.equal(await peer.messages.take('server hello'), '<hello>server</hello>');
      assert.equal(peer.raw.toString(), '<hello>server</hello>]]>]]>');

      t.useChunked();
      peer.reader.useChunked();
      assert.equal(t.framing, 'chunked');
      const rpc = '<rpc message-id="1"><get/>é€😀</rpc>';
      peer.ch.write(frameChunked(rpc, 7));
      assert.equal(await inbox.take('rpc'), rpc);

      peer.raw = Buffer.alloc(0);
      t.send('<rpc-reply message-id="1"><ok/></rpc-reply>');
      assert.equal(await peer.messages.take('reply'), '<rpc-reply message-id="1"><ok/></rpc-reply>');
      assert.equal(peer.raw.toString(), '\n#43\n<rpc-reply message-id="1"><ok/></rpc-reply>\n##\n');
      // An end-of-message frame is now a framing error.
      const errors = new Inbox<Error>();
      t.on('error', (e) => errors.put(e));
      peer.ch.write(frameEom('<rpc/>'));
      assert.match((await errors.take('error')).message, /end-of-message framing/);
      await peer.closed;
    });

    it('reads a chunked client hello while in end-of-message mode (ncclient race)', async () => {
      const { peer, t } = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      const inbox = messagesOf(t);
      peer.ch.write(frameChunked('<hello/>'));
      assert.equal(await inbox.take('hello'), '<hello/>');
    });

    it('switching inside the hello listener applies to an rpc that came in the same data', async () => {
      const { peer, t } = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      const got: string[] = [];
      const done = new Inbox<void>();
      t.on('message', (m) => {
        got.push(m);
        if (got.length === 1) t.useChunked();
        if (got.length === 3) done.put();
      });
      peer.ch.write(Buffer.concat([frameEom('<hello/>'), b('\n'), frameChunked('<rpc a="1"/>'), frameChunked('<rpc a="2"/>', 3)]));
      await done.take('three messages');
      assert.deepEqual(got, ['<hello/>', '<rpc a="1"/>', '<rpc a="2"/>']);
    });

    it('an RPC layer that switches in a promise job (not synchronously) still reads the next rpc as chunks', async () => {
      const { peer, t } = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      const got = new Inbox<string>();
      let queue = Promise.resolve();
      t.on('message', (m) => {
        queue = queue.then(() => {
          got.put(m);
          if (m === '<hello/>') t.useChunked();
        });
      });
      // "]]>]]>" inside the chunked rpc: read in the wrong framing, it would split it.
      const rpc = '<rpc message-id="1"><x a="]]>]]>"/></rpc>';
      peer.ch.write(Buffer.concat([frameEom('<hello/>'), frameChunked(rpc)]));
      assert.equal(await got.take('hello'), '<hello/>');
      assert.equal(await got.take('rpc'), rpc);
    });

    it('a late switch (after a timer) still delivers a chunked rpc already buffered', async () => {
      const { peer, t } = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      const got = messagesOf(t);
      t.once('message', () => setTimeout(() => t.useChunked(), 50));
      peer.ch.write(Buffer.concat([frameEom('<hello/>'), frameChunked('<rpc message-id="2"/>')]));
      assert.equal(await got.take('hello'), '<hello/>');
      assert.equal(await got.take('rpc'), '<rpc message-id="2"/>');
    });

    it('base:1.0 only: a hello and rpcs in one write are all delivered in end-of-message framing', async () => {
      const { peer, t } = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      const got = messagesOf(t);
      peer.ch.write(Buffer.concat([frameEom('<hello/>'), frameEom('<rpc message-id="1"/>'), frameEom('<rpc message-id="2"/>')]));
      assert.equal(await got.take('hello'), '<hello/>');
      assert.equal(await got.take('rpc 1'), '<rpc message-id="1"/>');
      assert.equal(await got.take('rpc 2'), '<rpc message-id="2"/>');
      assert.equal(t.framing, 'eom');
    });

    it('refuses exec, shell, other subsystems and port forwarding; the connection stays usable', async () => {
      const client = await connect(h.port, { username: 'alice', password: ALICE_PW });
      const execErr = await new Promise<Error | undefined>((resolve) => client.exec('cat /etc/passwd', (err) => resolve(err)));
      assert.ok(execErr, 'exec refused');
      const shellErr = await new Promise<Error | undefined>((resolve) => client.shell((err) => resolve(err)));
      assert.ok(shellErr, 'shell refused');
      await assert.rejects(subsystem(client, 'sftp'));
      await assert.rejects(subsystem(client, 'netconf2'));
      const fwdErr = await new Promise<Error | undefined>((resolve) =>
        client.forwardOut('127.0.0.1', 1234, '127.0.0.1', h.port, (err) => resolve(err)),
      );
      assert.ok(fwdErr, 'port forwarding refused');
      assert.ok(h.logger.records.some((r) => r.message === 'NETCONF SSH request refused' && r.meta?.request === 'exec'));
      const ch = await subsystem(client);
      const t = await h.sessions.take('session');
      const inbox = messagesOf(t);
      ch.write(frameEom('<hello/>'));
      assert.equal(await inbox.take('hello'), '<hello/>');
    });

    it("a framing error closes that session only; another client's session keeps working", async () => {
      const a = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      const bb = await netconfSession(h, { username: 'bob', privateKey: bobKey.private });
      const events: string[] = [];
      let error: Error | undefined;
      a.t.on('error', (e) => {
        events.push('error');
        error = e;
      });
      a.t.on('close', () => events.push('close'));
      const aClosed = when(a.t as never, 'close');
      a.peer.ch.write(Buffer.from('\n#0\n'));
      await aClosed;
      await a.peer.closed;
      assert.deepEqual(events, ['error', 'close']);
      assert.ok(error instanceof FramingError);
      assert.match(error.message, /starts with 0/);
      assert.equal(a.t.closed, true);
      a.t.send('<dropped/>'); // no throw after close

      const inbox = messagesOf(bb.t);
      bb.peer.ch.write(frameEom('<hello from="bob"/>'));
      assert.equal(await inbox.take('bob hello'), '<hello from="bob"/>');
      bb.t.send('<still-here/>');
      assert.equal(await bb.peer.messages.take('reply'), '<still-here/>');
      assert.ok(h.logger.records.some((r) => r.level === 'warn' && r.message === 'NETCONF framing error; closing the session'));
    });

    it('a listener that throws closes the session with an error, not the server', async () => {
      const { peer, t } = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      const errors = new Inbox<Error>();
      t.on('message', () => {
        throw new Error('bug in the RPC layer');
      });
      t.on('error', (e) => errors.put(e));
      peer.ch.write(frameEom('<hello/>'));
      assert.match((await errors.take('error')).message, /bug in the RPC layer/);
      await peer.closed;
      const again = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      again.t.send('<ok/>');
      assert.equal(await again.peer.messages.take('ok'), '<ok/>');
    });

    it('respects back-pressure: output queued while the client does not read, all delivered in order', async () => {
      const { peer, t } = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      peer.ch.pause();
      const big = (i: number): string => `<data n="${i}">${'x'.repeat(1024 * 1024)}</data>`;
      let drained = 0;
      t.on('drain', () => drained++);
      for (let i = 0; i < 8; i++) t.send(big(i));
      assert.equal(t.needDrain, true, 'the channel is full');
      // close() must not lose queued output.
      t.close();
      peer.ch.resume();
      for (let i = 0; i < 8; i++) assert.equal(await peer.messages.take(`message ${i}`), big(i));
      await peer.closed;
      assert.equal(drained, 0, "no 'drain' once closing");

      const s2 = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      s2.peer.ch.pause();
      for (let i = 0; i < 4; i++) s2.t.send(big(i));
      assert.equal(s2.t.needDrain, true);
      const drain = when(s2.t as never, 'drain');
      s2.peer.ch.resume();
      await drain;
      assert.equal(s2.t.needDrain, false);
      for (let i = 0; i < 4; i++) assert.equal(await s2.peer.messages.take(`message ${i}`), big(i));
    });

    it('enforces maxSessions', async () => {
      const h2 = await startServer({ maxSessions: 1 });
      const client = await connect(h2.port, { username: 'alice', password: ALICE_PW });
      await subsystem(client);
      await h2.sessions.take('session');
      await assert.rejects(subsystem(client));
      assert.equal(h2.server.sessionsOpen, 1);
      await h2.server.stop();
    });

    it('stop() flushes output, closes every client and leaves nothing open', async () => {
      const h2 = await startServer({ stopGraceMs: 1000 });
      const s1 = await netconfSession(h2, { username: 'alice', password: ALICE_PW });
      const s2 = await netconfSession(h2, { username: 'bob', privateKey: bobKey.private });
      const idle = await connect(h2.port, { username: 'carol', password: CAROL_PW });
      const raw = net.connect(h2.port, '127.0.0.1'); // never speaks SSH
      raw.on('error', () => undefined);
      raw.resume();
      await when(raw, 'connect');
      const closes = [s1.client, s2.client, idle].map((c) => when(c as never, 'close'));
      const rawClosed = when(raw, 'close');
      assert.equal(h2.server.sessionsOpen, 2);
      s1.t.send('<last-words/>');
      const t0 = Date.now();
      await h2.server.stop();
      assert.ok(Date.now() - t0 < 5000);
      assert.equal(await s1.peer.messages.take('last words'), '<last-words/>');
      await Promise.all([...closes, rawClosed, s1.peer.closed, s2.peer.closed]);
      assert.equal(h2.server.sessionsOpen, 0);
      assert.equal(h2.server.connectionsOpen, 0);
      assert.equal(s1.t.closed, true);
      await assert.rejects(connect(h2.port, { username: 'alice', password: ALICE_PW }));
    });

    it('a client that disconnects abruptly: the transport closes and the count drops', async () => {
      const { client, t } = await netconfSession(h, { username: 'alice', password: ALICE_PW });
      const open = h.server.sessionsOpen;
      const closed = when(t as never, 'close');
      client.destroy();
      await closed;
      assert.equal(t.closed, true);
      assert.equal(h.server.sessionsOpen, open - 1);
      t.send('<nobody-listens/>'); // dropped, no throw
    });

    it('start() fails cleanly on a port in use; stop() during start() leaves nothing behind', async () => {
      const s = new NetconfSshServer({ host: '127.0.0.1', port: h.port, hostKeyPath: tmpPath('k'), users: USERS, logger: silentLogger });
      await assert.rejects(s.start(), /EADDRINUSE/);
      await s.stop();
      const s2 = new NetconfSshServer({ host: '127.0.0.1', port: 0, hostKeyPath: tmpPath('k2'), users: USERS, logger: silentLogger });
      const started = s2.start();
      await s2.stop();
      await assert.rejects(started, /stopped while starting/);
      assert.equal(s2.connectionsOpen, 0);
      assert.throws(() => new NetconfSshServer({ hostKeyPath: tmpPath('k3'), users: [{ name: 'x', role: 'root' as never }], logger: silentLogger }), /unknown role/);
    });

    it('idle connections are closed after idleTimeoutMs', async () => {
      const h2 = await startServer({ idleTimeoutMs: 300 });
      const s = await netconfSession(h2, { username: 'alice', password: ALICE_PW });
      const inbox = messagesOf(s.t);
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 150));
        s.peer.ch.write(frameEom(`<keep i="${i}"/>`)); // traffic keeps it open
        await inbox.take('message');
      }
      await when(s.client as never, 'close', 5000);
      assert.ok(h2.logger.records.some((r) => r.message === 'NETCONF SSH connection idle; closing'));
      await h2.server.stop();
    });
  });

  describe('with ncclient (python3-ncclient)', function () {
    let available = false;
    let agent: ChildProcess | undefined;
    let agentSock = '';
    let home = '';
    let idRsaPublic = '';

    before(async function () {
      available = await new Promise<boolean>((resolve) =>
        execFile(PYTHON, ['-c', 'import ncclient.manager'], (err) => resolve(!err)),
      );
      if (!available) return this.skip();
      // A HOME with a key ncclient finds by itself (not on file for anyone), and an agent with another.
      home = tmpPath('home');
      fs.mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
      const rsa = utils.generateKeyPairSync('rsa', { bits: 2048 });
      fs.writeFileSync(path.join(home, '.ssh', 'id_rsa'), rsa.private, { mode: 0o600 });
      idRsaPublic = rsa.public;
      fs.writeFileSync(path.join(home, 'bob_key'), bobKey.private, { mode: 0o600 });
      fs.writeFileSync(path.join(home, 'agent_key'), strangerKey.private, { mode: 0o600 });
      agentSock = path.join(home, 'agent.sock');
      try {
        agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
        agent.on('error', () => undefined);
        for (let i = 0; i < 100 && !fs.existsSync(agentSock); i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise<void>((resolve, reject) =>
          execFile('ssh-add', [path.join(home, 'agent_key')], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } }, (err) =>
            err ? reject(err) : resolve(),
          ),
        );
      } catch {
        agent?.kill();
        agent = undefined;
      }
    });

    after(() => {
      agent?.kill();
    });

    /** A minimal NETCONF peer: hello with base:1.0 and 1.1, chunked after the client hello, <ok/> to every rpc. */
    function serveHelloAndOk(t: NetconfTransport): { seen: { framing: string; xml: string }[] } {
      const seen: { framing: string; xml: string }[] = [];
      t.send(
        '<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability>' +
          '<capability>urn:ietf:params:netconf:base:1.1</capability></capabilities><session-id>1</session-id></hello>',
      );
      t.on('message', (xml) => {
        seen.push({ framing: t.framing, xml });
        if (seen.length === 1) {
          if (xml.includes('urn:ietf:params:netconf:base:1.1')) t.useChunked();
          return;
        }
        const id = /message-id="([^"]*)"/.exec(xml)?.[1] ?? '';
        t.send(`<rpc-reply message-id="${id}" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><ok/></rpc-reply>`);
        if (xml.includes('close-session')) t.close();
      });
      return { seen };
    }

    function ncclient(port: number, connectArgs: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
      const script = [
        'import sys',
        'from ncclient import manager',
        `with manager.connect(host="127.0.0.1", port=int(sys.argv[1]), hostkey_verify=False, timeout=20, ${connectArgs}) as m:`,
        '    r = m.lock("running")',
        '    u = m.unlock("running")',
        '    print("LOCK", r.ok, "UNLOCK", u.ok)',
      ].join('\n');
      return new Promise((resolve, reject) =>
        execFile(
          PYTHON,
          ['-c', script, String(port)],
          { timeout: 45000, env: { PATH: process.env.PATH, HOME: home, ...env } },
          (err, stdout, stderr) => (err ? reject(new Error(`ncclient failed: ${err.message}\n${stderr}`)) : resolve(stdout)),
        ),
      );
    }

    async function runNcclient(connectArgs: string, env?: NodeJS.ProcessEnv) {
      const session = h.sessions.take('ncclient session', 45000).then(serveHelloAndOk);
      let out: string;
      try {
        out = await ncclient(h.port, connectArgs, env);
      } catch (e) {
        h.sessions.cancelWaiters();
        throw e;
      }
      const { seen } = await session;
      assert.match(out, /LOCK True UNLOCK True/);
      assert.match(seen[0]!.xml, /<(\w+:)?hello/);
      const rpcs = seen.slice(1);
      assert.ok(rpcs.some((s) => /<(\w+:)?lock/.test(s.xml)));
      assert.ok(rpcs.some((s) => /<(\w+:)?unlock/.test(s.xml)));
      assert.ok(rpcs.some((s) => /close-session/.test(s.xml)));
      assert.ok(rpcs.every((s) => s.framing === 'chunked'), 'rpcs arrive after the switch to chunked');
      return seen;
    }

    it('logs in with a password (no agent, no key files), base:1.1 chunked framing, lock/unlock ok', async () => {
      await runNcclient(`username="alice", password="${ALICE_PW}", allow_agent=False, look_for_keys=False`);
    });

    it('with look_for_keys and allow_agent (keys offered first), still logs in with the password', async () => {
      const before = h.logger.records.length;
      await runNcclient(`username="alice", password="${ALICE_PW}"`, agent ? { SSH_AUTH_SOCK: agentSock } : {});
      const records = h.logger.records.slice(before);
      const keyRejects = records.filter(
        (r) => r.meta?.user === 'alice' && r.meta?.method === 'publickey' && /key not authorized/.test(String(r.meta?.reason)),
      );
      const offered = keyRejects.map((r) => String(r.meta?.reason)).join(' ');
      assert.ok(offered.includes(keyFingerprint(parseAuthorizedKey(idRsaPublic))), '~/.ssh/id_rsa offered first');
      if (agent) assert.ok(offered.includes(keyFingerprint(parseAuthorizedKey(strangerKey.public))), 'agent key offered first');
      assert.ok(records.some((r) => r.message === 'NETCONF SSH user authenticated' && r.meta?.user === 'alice' && r.meta?.method === 'password'));
      assert.ok(!logsText(h.logger).includes(ALICE_PW));
    });

    it('logs in with a public key file', async () => {
      await runNcclient(`username="bob", key_filename="${path.join(home, 'bob_key')}", allow_agent=False, look_for_keys=False`);
      assert.ok(
        h.logger.records.some((r) => r.message === 'NETCONF SSH user authenticated' && r.meta?.user === 'bob' && r.meta?.method === 'publickey'),
      );
    });
  });
});

function b(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}
