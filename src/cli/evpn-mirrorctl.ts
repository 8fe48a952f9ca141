#!/usr/bin/env node
// evpn-mirrorctl: the operators' CLI. A NETCONF client (src/netconf/client.ts) of one agent:
// configures monitor servers and sessions in the running datastore (<edit-config>, merge to
// add, operation="delete" to delete) and shows configuration (<get-config>) and state (<get>),
// each read with a subtree filter that selects only what the command shows.
//
// Exit codes: 0 success; 1 the server refused the request (rpc-error: its error-message(s)
// and error-path(s) go to stderr); 2 usage error (commander's message), or the agent could not
// be reached (connection, authentication, host key, timeout, protocol).
import { Command, CommanderError, Help, InvalidArgumentError, Option } from 'commander';
import { NetconfClient, NetconfRpcError, NetconfTransportError } from '../netconf/client';
import { BASE_NS } from '../netconf/errors';
import { EM_NS } from '../netconf/schema';
import { XmlElement, child, escapeAttr, escapeText } from '../netconf/xml';
import { hashPassword } from '../netconf/users';

const PROG = 'evpn-mirrorctl';
export const EXIT_OK = 0;
export const EXIT_RPC_ERROR = 1;
export const EXIT_FAILURE = 2;
export const PASSWORD_ENV = 'EVPN_MIRROR_PASSWORD';

/** A failure with its own exit code and message (printed as "evpn-mirrorctl: <message>"). */
class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Io {
  out(s: string): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
  /** All of standard input (hash-password reads the password there). */
  stdin?: () => Promise<string>;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const chunk of stream) s += chunk.toString();
  return s;
}

interface GlobalOptions {
  host: string;
  port: number;
  user?: string;
  password?: string;
  key?: string;
  hostKey?: string;
  json?: boolean;
  timeout: number;
}

// ---------------------------------------------------------------------------------------------
// Tables

export interface Column {
  header: string;
  /** Right-align (numbers). */
  right?: boolean;
}

/** Aligned columns, two spaces apart, header first; trailing blanks trimmed. */
export function formatTable(columns: (Column | string)[], rows: string[][]): string {
  const cols = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cols
      .map((c, i) => {
        const v = cells[i] ?? '';
        return c.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n';
}

const dash = (v: string | number | undefined): string => (v === undefined || v === '' ? '-' : String(v));

// ---------------------------------------------------------------------------------------------
// Reading replies (elements of the evpn-mirror module)

function list(parent: XmlElement | undefined, name: string): XmlElement[] {
  return (parent?.children ?? []).filter((c) => c.local === name && c.ns === EM_NS);
}

function leaf(el: XmlElement | undefined, name: string): string | undefined {
  return el ? child(el, name, EM_NS)?.text.trim() : undefined;
}

function leafList(el: XmlElement, name: string): string[] {
  return list(el, name).map((c) => c.text.trim());
}

/** A number, or the text itself when it is not a safe integer (a counter64 above 2^53). */
function num(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return /^[0-9]+$/.test(text) && Number.isSafeInteger(n) ? n : text;
}

function flag(text: string | undefined): boolean {
  return text !== undefined && text !== 'false';
}

function root(data: XmlElement): XmlElement | undefined {
  return child(data, 'evpn-mirror', EM_NS);
}

function stateOf(data: XmlElement): XmlElement | undefined {
  const r = root(data);
  return r ? child(r, 'state', EM_NS) : undefined;
}

/** Assign only defined values (so JSON output has no nulls and optional keys are absent). */
function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export interface MonitorServerRow {
  name: string;
  mac: string;
  hostId: number | string;
  ipv4?: string;
  ipv6?: string;
  vni?: number | string;
}

export function parseServers(data: XmlElement): MonitorServerRow[] {
  return list(root(data), 'monitor-server').map((e) =>
    defined({ name: leaf(e, 'name') ?? '', mac: leaf(e, 'mac') ?? '', hostId: num(leaf(e, 'host-id')) ?? '', ipv4: leaf(e, 'ipv4'), ipv6: leaf(e, 'ipv6'), vni: num(leaf(e, 'vni')) }),
  );
}

export interface ConfiguredSessionRow {
  name: string;
  vni: number | string;
  hostMac: string;
  hostIpv4?: string;
  hostIpv6?: string;
  monitorServer: string;
  direction: string;
  adminState: string;
}

export function parseConfiguredSessions(data: XmlElement): ConfiguredSessionRow[] {
  return list(root(data), 'session').map((e) => {
    const h = child(e, 'monitored-host', EM_NS);
    return defined({
      name: leaf(e, 'name') ?? '',
      vni: num(leaf(e, 'vni')) ?? '',
      hostMac: leaf(h, 'mac') ?? '',
      hostIpv4: leaf(h, 'ipv4'),
      hostIpv6: leaf(h, 'ipv6'),
      monitorServer: leaf(e, 'monitor-server') ?? '',
      direction: leaf(e, 'direction') ?? 'both',
      adminState: leaf(e, 'admin-state') ?? 'enabled',
    });
  });
}

export interface LocationRow {
  kind: string;
  port?: string;
  vtep?: string;
}

function location(el: XmlElement | undefined): LocationRow {
  return defined({ kind: leaf(el, 'kind') ?? 'unknown', port: leaf(el, 'port'), vtep: leaf(el, 'vtep') });
}

function showLocation(l: LocationRow): string {
  if (l.kind === 'local') return l.port ? `local ${l.port}` : 'local';
  if (l.kind === 'remote') return l.vtep ? `remote ${l.vtep}` : 'remote';
  return l.kind;
}

export interface StateSessionRow {
  id: string;
  name: string;
  origin: string;
  vni: number | string;
  hostMac: string;
  hostId: number | string;
  direction: string;
  status: string;
  roles: string[];
  hostLocation: LocationRow;
  monitorLocation: LocationRow;
}

export function parseStateSessions(data: XmlElement): StateSessionRow[] {
  return list(stateOf(data), 'session').map((e) => ({
    id: leaf(e, 'id') ?? '',
    name: leaf(e, 'name') ?? '',
    origin: leaf(e, 'origin') ?? '',
    vni: num(leaf(e, 'vni')) ?? '',
    hostMac: leaf(e, 'monitored-host-mac') ?? '',
    hostId: num(leaf(e, 'host-id')) ?? '',
    direction: leaf(e, 'direction') ?? '',
    status: leaf(e, 'status') ?? '',
    roles: leafList(e, 'role'),
    hostLocation: location(child(e, 'monitored-host-location', EM_NS)),
    monitorLocation: location(child(e, 'monitor-server-location', EM_NS)),
  }));
}

export interface EntryRow {
  id: string;
  kind: string;
  sessions: string[];
  match: string;
  action: string;
  packets?: number | string;
  bytes?: number | string;
}

export function parseEntries(data: XmlElement): EntryRow[] {
  return list(stateOf(data), 'entry').map((e) =>
    defined({
      id: leaf(e, 'id') ?? '',
      kind: leaf(e, 'kind') ?? '',
      sessions: leafList(e, 'session'),
      match: leaf(e, 'match') ?? '',
      action: leaf(e, 'action') ?? '',
      packets: num(leaf(e, 'packets')),
      bytes: num(leaf(e, 'bytes')),
    }),
  );
}

export interface MacRow {
  vni: number | string;
  mac: string;
  location: LocationRow;
  sequence?: number | string;
  sticky: boolean;
  duplicate: boolean;
}

/** The state list `mac` (keys vni, mac; location/kind, port, vtep; sequence; sticky; duplicate). */
export function parseMacs(data: XmlElement): MacRow[] {
  return list(stateOf(data), 'mac').map((e) =>
    defined({
      vni: num(leaf(e, 'vni')) ?? '',
      mac: leaf(e, 'mac') ?? '',
      location: location(child(e, 'location', EM_NS)),
      sequence: num(leaf(e, 'sequence')),
      sticky: flag(leaf(e, 'sticky')),
      duplicate: flag(leaf(e, 'duplicate')),
    }),
  );
}

export interface PeerRow {
  address: string;
  state: string;
  prefixesReceived: number | string;
}

export function parsePeers(data: XmlElement): PeerRow[] {
  return list(stateOf(data), 'bgp-peer').map((e) => ({
    address: leaf(e, 'address') ?? '',
    state: leaf(e, 'state') ?? '',
    prefixesReceived: num(leaf(e, 'prefixes-received')) ?? '',
  }));
}

// ---------------------------------------------------------------------------------------------
// Requests

const em = (inner: string, extraNs = ''): string => `<evpn-mirror xmlns="${EM_NS}"${extraNs}>${inner}</evpn-mirror>`;
const stateFilter = (inner: string): string => em(`<state>${inner}</state>`);
const leafXml = (name: string, value: string | undefined): string => (value === undefined ? '' : `<${name}>${escapeText(value)}</${name}>`);
/** A list entry to delete, by key (operation in the base namespace, RFC 6241 section 7.2). */
const deleteEntry = (list: string, name: string): string =>
  em(`<${list} nc:operation="delete"><name>${escapeText(name)}</name></${list}>`, ` xmlns:nc="${escapeAttr(BASE_NS)}"`);

function parsePort(v: string): number {
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new InvalidArgumentError('must be a port number 1..65535');
  return Number(v);
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!/^[0-9]*\.?[0-9]+$/.test(v) || !(n > 0)) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

function parseVniFilter(v: string): string {
  if (!/^\+?[0-9]+$/.test(v)) throw new InvalidArgumentError('must be a VNI (a number)');
  return String(Number(v));
}

function parseMacFilter(v: string): string {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(v)) throw new InvalidArgumentError('must be a MAC address (xx:xx:xx:xx:xx:xx)');
  return v.toLowerCase().replace(/-/g, ':'); // yang:mac-address canonical form
}

async function withSession(cmd: Command, io: Io, fn: (c: NetconfClient, g: GlobalOptions) => Promise<void>): Promise<void> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const password = g.password ?? io.env[PASSWORD_ENV];
  if (password === undefined && g.key === undefined) {
    throw new CliError(EXIT_FAILURE, `no credentials: give --password, set ${PASSWORD_ENV}, or give --key`);
  }
  const client = await NetconfClient.connect({
    host: g.host,
    port: g.port,
    username: g.user ?? (io.env['USER'] || 'admin'),
    ...(password !== undefined ? { password } : {}),
    ...(g.key !== undefined ? { privateKey: g.key } : {}),
    ...(g.hostKey !== undefined ? { hostKeyFingerprint: g.hostKey } : {}),
    timeoutMs: Math.round(g.timeout * 1000),
  });
  try {
    await fn(client, g);
  } finally {
    await client.closeSession({ timeoutMs: Math.min(2000, Math.round(g.timeout * 1000)) }).catch(() => undefined);
  }
}

function emit(io: Io, g: GlobalOptions, json: unknown, table: () => string): void {
  io.out(g.json ? `${JSON.stringify(json, null, 2)}\n` : table());
}

function done(io: Io, g: GlobalOptions, what: string): void {
  io.out(g.json ? `${JSON.stringify({ ok: true })}\n` : `${what}\n`);
}

// ---------------------------------------------------------------------------------------------
// Commands

const HELP_AFTER = `
Credentials: --password, or the environment variable ${PASSWORD_ENV} (better: a command
line is visible to other users), and/or --key <private key file>.

Global options may come before or after the command.

Exit status:
  0  success
  1  the agent refused the request (its rpc-error messages are printed on stderr)
  2  usage error, or the agent could not be reached (connection, authentication,
     host key, timeout)

Examples:
  printf '%s\\n' "$PASSWORD" | ${PROG} hash-password     # a passwordHash for agent.yaml
  ${PROG} server add SERV21 --mac 02:00:00:00:00:21 --host-id 21 --ipv4 10.1.0.21
  ${PROG} session add web1 --vni 10010 --host-mac 02:00:00:00:02:10 --server SERV21
  ${PROG} show sessions --json`;

export function buildProgram(io: Io): Command {
  const program = new Command(PROG);
  // Settings first: subcommands inherit them when they are created.
  program
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .configureHelp({
      showGlobalOptions: true,
      formatHelp: (cmd, helper) => Help.prototype.formatHelp.call(helper, cmd, helper).replace(/^Usage:/, 'usage:'),
    })
    .showHelpAfterError(`(run ${PROG} --help for usage)`)
    .description('Configure and inspect an evpn-mirror agent over NETCONF (SSH).')
    .option('--host <address>', 'the agent (NETCONF server) address', '127.0.0.1')
    .option('--port <port>', 'NETCONF over SSH port', parsePort, 830)
    .option('--user <name>', 'NETCONF user (default: $USER, or admin)')
    .option('--password <password>', `password (default: $${PASSWORD_ENV})`)
    .option('--key <file>', 'SSH private key file (public key authentication)')
    .option('--host-key <fingerprint>', "the agent's SSH host key fingerprint (SHA256:...); checked when given")
    .option('--json', 'print JSON (for scripts) instead of tables')
    .option('--timeout <seconds>', 'timeout of the connection and of each request', parseSeconds, 30)
    .addHelpText('after', HELP_AFTER);

  // server ------------------------------------------------------------------------------------
  const server = program.command('server').description('monitor servers (configuration in running)');
  server
    .command('add')
    .description('add a monitor server (or update it: the given leaves are merged)')
    .argument('<name>', 'monitor server name')
    .requiredOption('--mac <mac>', "the server's MAC address")
    .requiredOption('--host-id <id>', 'HOST-ID (1..65535), unique per server')
    .option('--ipv4 <address>', "the server's IPv4 address")
    .option('--ipv6 <address>', "the server's IPv6 address (an IPv4 or IPv6 address is required)")
    .option('--vni <vni>', 'the VXLAN the server is attached to (default: each session\'s VNI)')
    .action((name: string, o: { mac: string; hostId: string; ipv4?: string; ipv6?: string; vni?: string }, cmd: Command) =>
      withSession(cmd, io, async (c, g) => {
        const xml = em(
          `<monitor-server>${leafXml('name', name)}${leafXml('mac', o.mac)}${leafXml('ipv4', o.ipv4)}${leafXml('ipv6', o.ipv6)}${leafXml('host-id', o.hostId)}${leafXml('vni', o.vni)}</monitor-server>`,
        );
        await c.editConfig('running', xml);
        done(io, g, `added monitor server '${name}'`);
      }),
    );
  server
    .command('delete')
    .description('delete a monitor server (refused while a session uses it)')
    .argument('<name>', 'monitor server name')
    .action((name: string, _o: unknown, cmd: Command) =>
      withSession(cmd, io, async (c, g) => {
        await c.editConfig('running', deleteEntry('monitor-server', name));
        done(io, g, `deleted monitor server '${name}'`);
      }),
    );
  server
    .command('list')
    .description('list the configured monitor servers')
    .action((_o: unknown, cmd: Command) =>
      withSession(cmd, io, async (c, g) => {
        const rows = parseServers(await c.getConfig('running', em('<monitor-server/>')));
        emit(io, g, rows, () =>
          formatTable(
            ['NAME', 'MAC', { header: 'HOST-ID', right: true }, 'IPV4', 'IPV6', { header: 'VNI', right: true }],
            rows.map((r) => [r.name, r.mac, dash(r.hostId), dash(r.ipv4), dash(r.ipv6), dash(r.vni)]),
          ),
        );
      }),
    );

  // session -----------------------------------------------------------------------------------
  const session = program.command('session').description('monitoring sessions (configuration in running)');
  session
    .command('add')
    .description('add a monitoring session (or update it: the given leaves are merged)')
    .argument('<name>', 'session name')
    .requiredOption('--vni <vni>', 'the VXLAN of the monitored host')
    .requiredOption('--host-mac <mac>', "the monitored host's MAC address")
    .option('--host-ipv4 <address>', "the monitored host's IPv4 address")
    .option('--host-ipv6 <address>', "the monitored host's IPv6 address")
    .requiredOption('--server <name>', 'the monitor server that receives the copies')
    .addOption(new Option('--direction <direction>', 'which packets are copied').choices(['both', 'from-host', 'to-host']).default('both'))
    .option('--disabled', 'keep the session in the configuration only (admin-state disabled)')
    .action(
      (
        name: string,
        o: { vni: string; hostMac: string; hostIpv4?: string; hostIpv6?: string; server: string; direction: string; disabled?: boolean },
        cmd: Command,
      ) =>
        withSession(cmd, io, async (c, g) => {
          const host = `<monitored-host>${leafXml('mac', o.hostMac)}${leafXml('ipv4', o.hostIpv4)}${leafXml('ipv6', o.hostIpv6)}</monitored-host>`;
          const xml = em(
            `<session>${leafXml('name', name)}${leafXml('vni', o.vni)}${host}${leafXml('monitor-server', o.server)}${leafXml('direction', o.direction)}${leafXml('admin-state', o.disabled ? 'disabled' : 'enabled')}</session>`,
          );
          await c.editConfig('running', xml);
          done(io, g, `added session '${name}'`);
        }),
    );
  session
    .command('delete')
    .description('delete a monitoring session')
    .argument('<name>', 'session name')
    .action((name: string, _o: unknown, cmd: Command) =>
      withSession(cmd, io, async (c, g) => {
        await c.editConfig('running', deleteEntry('session', name));
        done(io, g, `deleted session '${name}'`);
      }),
    );
  session
    .command('list')
    .description('list the sessions configured on this agent (see also: show sessions)')
    .action((_o: unknown, cmd: Command) =>
      withSession(cmd, io, async (c, g) => {
        const rows = parseConfiguredSessions(await c.getConfig('running', em('<session/>')));
        emit(io, g, rows, () =>
          formatTable(
            ['NAME', { header: 'VNI', right: true }, 'HOST-MAC', 'HOST-IPV4', 'HOST-IPV6', 'SERVER', 'DIRECTION', 'ADMIN'],
            rows.map((r) => [r.name, dash(r.vni), r.hostMac, dash(r.hostIpv4), dash(r.hostIpv6), r.monitorServer, r.direction, r.adminState]),
          ),
        );
      }),
    );

  // show --------------------------------------------------------------------------------------
  const show = program.command('show').description('operational state of the agent');
  show
    .command('sessions')
    .description('every session this VTEP knows (its own and those flooded by other agents)')
    .action((_o: unknown, cmd: Command) =>
      withSession(cmd, io, async (c, g) => {
        const rows = parseStateSessions(await c.get(stateFilter('<session/>')));
        emit(io, g, rows, () =>
          formatTable(
            ['ID', 'NAME', 'ORIGIN', { header: 'VNI', right: true }, 'HOST-MAC', { header: 'HOST-ID', right: true }, 'DIRECTION', 'STATUS', 'ROLES', 'HOST-AT', 'MONITOR-AT'],
            rows.map((r) => [r.id, r.name, r.origin, dash(r.vni), r.hostMac, dash(r.hostId), dash(r.direction), r.status, r.roles.join(',') || '-', showLocation(r.hostLocation), showLocation(r.monitorLocation)]),
          ),
        );
      }),
    );
  show
    .command('entries')
    .description('the mirror entries installed on this VTEP, with their counters')
    .action((_o: unknown, cmd: Command) =>
      withSession(cmd, io, async (c, g) => {
        const rows = parseEntries(await c.get(stateFilter('<entry/>')));
        emit(io, g, rows, () =>
          formatTable(
            ['ID', 'KIND', 'SESSIONS', 'MATCH', 'ACTION', { header: 'PACKETS', right: true }, { header: 'BYTES', right: true }],
            rows.map((r) => [r.id, r.kind, r.sessions.join(',') || '-', r.match, r.action, dash(r.packets), dash(r.bytes)]),
          ),
        );
      }),
    );
  show
    .command('macs')
    .description('the MAC addresses this VTEP knows and where they are')
    .option('--vni <vni>', 'only this VNI', parseVniFilter)
    .option('--mac <mac>', 'only this MAC address', parseMacFilter)
    .action((o: { vni?: string; mac?: string }, cmd: Command) =>
      withSession(cmd, io, async (c, g) => {
        const rows = parseMacs(await c.get(stateFilter(`<mac>${leafXml('vni', o.vni)}${leafXml('mac', o.mac)}</mac>`)));
        emit(io, g, rows, () =>
          formatTable(
            [{ header: 'VNI', right: true }, 'MAC', 'LOCATION', { header: 'SEQ', right: true }, 'STICKY', 'DUPLICATE'],
            rows.map((r) => [dash(r.vni), r.mac, showLocation(r.location), dash(r.sequence), r.sticky ? 'yes' : 'no', r.duplicate ? 'yes' : 'no']),
          ),
        );
      }),
    );
  show
    .command('peers')
    .description("the agent's BGP neighbors")
    .action((_o: unknown, cmd: Command) =>
      withSession(cmd, io, async (c, g) => {
        const rows = parsePeers(await c.get(stateFilter('<bgp-peer/>')));
        emit(io, g, rows, () =>
          formatTable(['ADDRESS', 'STATE', { header: 'PREFIXES', right: true }], rows.map((r) => [r.address, r.state, dash(r.prefixesReceived)])),
        );
      }),
    );
  // hash-password -------------------------------------------------------------------------------
  program
    .command('hash-password')
    .description("print the scrypt hash of a password read from standard input (or $" + PASSWORD_ENV + "), for a user's passwordHash in the agent's configuration")
    .action(async () => {
      let pw = io.env[PASSWORD_ENV];
      if (pw === undefined) {
        if (!io.stdin) throw new CliError(EXIT_FAILURE, 'no standard input to read the password from');
        // One line: the password; the line's end is not part of it.
        pw = (await io.stdin()).replace(/\r?\n$/, '');
        if (pw.includes('\n')) throw new CliError(EXIT_FAILURE, 'the password must be one line');
      }
      if (pw === '') throw new CliError(EXIT_FAILURE, 'empty password');
      io.out(`${hashPassword(pw)}\n`);
    });
  return program;
}

/** Runs the CLI on argv (without node and script); resolves with the exit status. */
export async function main(
  argv: string[],
  io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env, stdin: () => readAll(process.stdin) },
): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help / help: 0. Usage errors, and a missing command (help shown on stderr): 2.
      return e.exitCode === 0 ? EXIT_OK : EXIT_FAILURE;
    }
    if (e instanceof NetconfRpcError) {
      for (const x of e.errors) if (x.severity !== 'warning') io.err(`${PROG}: ${x.tag}: ${x.message}${x.path ? ` (${x.path})` : ''}\n`);
      return EXIT_RPC_ERROR;
    }
    if (e instanceof NetconfTransportError) {
      io.err(`${PROG}: ${e.message}\n`);
      return EXIT_FAILURE;
    }
    if (e instanceof CliError) {
      io.err(`${PROG}: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`${PROG}: ${(e as Error).message ?? String(e)}\n`);
    return EXIT_FAILURE;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
