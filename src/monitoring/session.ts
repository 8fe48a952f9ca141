// Monitoring sessions: what an operator configures ("monitor host H in VXLAN V, send the
// copies to monitor server S whose id is HOST-ID") and the validated, canonical form the
// rest of the agent works with.
//
// Configuration has two lists, as the YANG module does: monitor servers (name, MAC, IPs,
// HOST-ID) and sessions that reference one by name. resolveMonitoringConfig() checks both,
// across entries too (unique names and HOST-IDs, references that exist, a monitor that is
// not the monitored host), and returns every problem with the field that causes it, so a
// NETCONF edit can be refused whole with a precise error.
//
// A session's fabric-wide identity is the Route Distinguisher of its monitor route
// (`<agent router id>:<index>`, RFC 4364 section 4.2 type 1): unique per (originating agent,
// session) and the same string on every VTEP, so every agent names the same session the
// same way in its entries and state.
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIp, canonicalMac, isMac, macToBytes } from '../bgp/packet/addr';

export type Direction = 'both' | 'from-host' | 'to-host';
export const DIRECTIONS: readonly Direction[] = ['both', 'from-host', 'to-host'];

export const VNI_MAX = 0xffffff;
export const HOST_ID_MAX = 0xffff;

export interface MonitoredHost {
  mac: string;
  ipv4?: string;
  ipv6?: string;
}

/** Where copies go. `vni` is the VXLAN the monitor server sits in (its MAC is looked up there). */
export interface MonitorTarget {
  mac: string;
  ipv4?: string;
  ipv6?: string;
  hostId: number;
  vni: number;
}

/** A validated session, local or learned from another agent's monitor route. */
export interface MonitoringSession {
  /** Fabric-wide identity: the RD of its monitor route. */
  readonly id: string;
  /** The operator's name on the originating agent; remote sessions are named by their id. */
  readonly name: string;
  readonly origin: 'local' | 'remote';
  readonly vni: number;
  readonly host: Readonly<MonitoredHost>;
  readonly monitor: Readonly<MonitorTarget>;
  readonly direction: Direction;
  /** Disabled sessions are kept in config but neither advertised nor installed. */
  readonly enabled: boolean;
}

/** Configuration as the northbound delivers it (YANG names in comments). */
export interface MonitorServerConfig {
  name: string;
  mac: string;
  ipv4?: string;
  ipv6?: string;
  /** host-id: 1..65535, unique among monitor servers. */
  hostId: number;
  /** The VXLAN the server is attached to; defaults to the session's VNI. */
  vni?: number;
}

export interface SessionConfig {
  name: string;
  vni: number;
  host: MonitoredHost;
  /** Name of a monitor server. */
  monitorServer: string;
  direction?: Direction;
  /** admin-state: true = enabled (default). */
  enabled?: boolean;
}

export interface MonitoringConfig {
  monitorServers: MonitorServerConfig[];
  sessions: SessionConfig[];
}

/** One validation problem: `path` names the field the way the YANG module does. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class SessionConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    this.name = 'SessionConfigError';
  }
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A MAC a host can have: not all-zero and not a group (multicast/broadcast) address. */
export function unicastMacProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !isMac(value)) return `'${String(value)}' is not a MAC address (expected xx:xx:xx:xx:xx:xx)`;
  const b = macToBytes(value);
  if (b.every((x) => x === 0)) return 'the all-zero MAC is not a host address';
  if ((b[0]! & 0x01) !== 0) return `${canonicalMac(value)} is a group (multicast/broadcast) address, not a host`;
  return undefined;
}

function vniProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > VNI_MAX)
    return `must be an integer 1..${VNI_MAX}, got ${JSON.stringify(value)}`;
  return undefined;
}

function hostIdProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > HOST_ID_MAX)
    return `must be an integer 1..${HOST_ID_MAX}, got ${JSON.stringify(value)}`;
  return undefined;
}

function ipProblem(value: unknown, family: 4 | 6): string | undefined {
  if (value === undefined) return undefined;
  // A zone index (fe80::1%eth0) has no meaning for a host elsewhere in the fabric.
  if (typeof value !== 'string' || !(family === 4 ? isIPv4(value) : isIPv6(value) && !value.includes('%')))
    return `'${String(value)}' is not an IPv${family} address`;
  return undefined;
}

class Problems {
  readonly list: ConfigProblem[] = [];
  add(path: string, message: string | undefined): boolean {
    if (message === undefined) return false;
    this.list.push({ path, message });
    return true;
  }
}

function checkName(p: Problems, path: string, name: unknown): void {
  if (typeof name !== 'string' || !NAME_RE.test(name))
    p.add(path, `'${String(name)}' is not a valid name (1-64 of letters, digits, '.', '_', '-', starting with a letter or digit)`);
}

function canonIps<T extends { ipv4?: string; ipv6?: string }>(x: T): { ipv4?: string; ipv6?: string } {
  const out: { ipv4?: string; ipv6?: string } = {};
  if (x.ipv4 !== undefined) out.ipv4 = canonicalIp(x.ipv4);
  if (x.ipv6 !== undefined) out.ipv6 = canonicalIp(x.ipv6);
  return out;
}

interface SessionCheck {
  server: MonitorServerConfig | undefined;
  problems: ConfigProblem[];
  /** The session without its id, when it has no problem of its own. */
  resolved: Omit<MonitoringSession, 'id'> | undefined;
  /** The last sessions made from `resolved`, by id (the northbound's check and the core use different ids). */
  made?: Map<string, MonitoringSession>;
}

const sessionMemo = new WeakMap<SessionConfig, SessionCheck>();

/** Everything about one session but its name, given the monitor server it names. */
function checkSession(s: SessionConfig, server: MonitorServerConfig | undefined, base: string): SessionCheck {
  const p = new Problems();
  const done = (resolved?: Omit<MonitoringSession, 'id'>): SessionCheck => ({ server, problems: p.list, resolved });
  p.add(`${base}/vni`, vniProblem(s.vni));
  const host = s.host ?? ({} as MonitoredHost);
  const hostMacBad = p.add(`${base}/monitored-host/mac`, unicastMacProblem(host.mac));
  p.add(`${base}/monitored-host/ipv4`, ipProblem(host.ipv4, 4));
  p.add(`${base}/monitored-host/ipv6`, ipProblem(host.ipv6, 6));
  const direction = s.direction ?? 'both';
  if (!DIRECTIONS.includes(direction)) p.add(`${base}/direction`, `must be one of ${DIRECTIONS.join(', ')}, got '${String(direction)}'`);
  if (s.enabled !== undefined && typeof s.enabled !== 'boolean') p.add(`${base}/enabled`, 'must be true or false');
  if (!server) {
    p.add(`${base}/monitor-server`, `no monitor server named '${String(s.monitorServer)}'`);
    return done();
  }
  if (!hostMacBad && !unicastMacProblem(server.mac) && canonicalMac(server.mac) === canonicalMac(host.mac))
    p.add(`${base}/monitor-server`, `monitor server '${server.name}' has the monitored host's MAC ${canonicalMac(host.mac)}: a host cannot monitor itself`);
  if (p.list.length) return done();
  // Every field was checked above; a bad monitor server has its own problems listed.
  if (unicastMacProblem(server.mac) || hostIdProblem(server.hostId) || (server.vni !== undefined && vniProblem(server.vni)) || ipProblem(server.ipv4, 4) || ipProblem(server.ipv6, 6)) return done();
  return done({
    name: s.name,
    origin: 'local',
    vni: s.vni,
    host: Object.freeze({ mac: canonicalMac(host.mac), ...canonIps(host) }),
    monitor: Object.freeze({ mac: canonicalMac(server.mac), ...canonIps(server), hostId: server.hostId, vni: server.vni ?? s.vni }),
    direction,
    enabled: s.enabled ?? true,
  });
}

export interface ResolveOptions {
  /** The RD of each session by name (see SessionRdAllocator). */
  sessionId: (name: string) => string;
}

/**
 * Checks a whole monitoring configuration and returns its sessions in canonical form.
 * Throws SessionConfigError listing every problem; nothing is returned unless all is valid.
 */
export function resolveMonitoringConfig(config: MonitoringConfig, opts: ResolveOptions): MonitoringSession[] {
  const p = new Problems();
  const servers = new Map<string, MonitorServerConfig>();
  const serverByHostId = new Map<number, string>();
  const serverByMac = new Map<string, string>();
  for (const s of config.monitorServers) {
    const base = `monitor-server[name='${String(s.name)}']`;
    checkName(p, `${base}/name`, s.name);
    if (servers.has(s.name)) p.add(`${base}/name`, 'duplicate monitor server name');
    const macBad = p.add(`${base}/mac`, unicastMacProblem(s.mac));
    p.add(`${base}/ipv4`, ipProblem(s.ipv4, 4));
    p.add(`${base}/ipv6`, ipProblem(s.ipv6, 6));
    if (s.ipv4 === undefined && s.ipv6 === undefined) p.add(`${base}`, 'a monitor server needs an IPv4 or an IPv6 address');
    const idBad = p.add(`${base}/host-id`, hostIdProblem(s.hostId));
    if (s.vni !== undefined) p.add(`${base}/vni`, vniProblem(s.vni));
    if (!idBad) {
      const other = serverByHostId.get(s.hostId);
      if (other !== undefined && other !== s.name)
        p.add(`${base}/host-id`, `HOST-ID ${s.hostId} is already used by monitor server '${other}'`);
      else serverByHostId.set(s.hostId, s.name);
    }
    if (!macBad) {
      const mac = canonicalMac(s.mac);
      const other = serverByMac.get(mac);
      if (other !== undefined && other !== s.name) p.add(`${base}/mac`, `MAC ${mac} is already monitor server '${other}'`);
      else serverByMac.set(mac, s.name);
    }
    if (!servers.has(s.name)) servers.set(s.name, s);
  }

  const out: MonitoringSession[] = [];
  const names = new Set<string>();
  for (const s of config.sessions) {
    // Paths are only built for a problem: 10,000 template strings per commit add up.
    const base = () => `session[name='${String(s.name)}']`;
    if (typeof s.name !== 'string' || !NAME_RE.test(s.name)) checkName(p, `${base()}/name`, s.name);
    if (names.has(s.name)) p.add(`${base()}/name`, 'duplicate session name');
    names.add(s.name);
    const server = servers.get(s.monitorServer);
    // Frozen configuration (the NETCONF northbound's) cannot change under us: what it resolved
    // to is kept, and a commit of one change among 10,000 sessions re-checks only that one.
    const frozen = Object.isFrozen(s) && Object.isFrozen(s.host) && (server === undefined || Object.isFrozen(server));
    let m = frozen ? sessionMemo.get(s) : undefined;
    if (!m || m.server !== server) {
      m = checkSession(s, server, base());
      if (frozen) sessionMemo.set(s, m);
    }
    for (const q of m.problems) p.list.push(q);
    if (m.resolved) {
      const id = opts.sessionId(s.name);
      let made = m.made?.get(id);
      if (!made) {
        made = Object.freeze({ id, ...m.resolved });
        if (frozen) (m.made ??= new Map()).set(id, made);
        if (m.made && m.made.size > 4) m.made.delete(m.made.keys().next().value!);
      }
      out.push(made);
    }
  }
  if (p.list.length) throw new SessionConfigError(p.list);
  return out;
}

/**
 * Gives each local session a stable RD `<router id>:<index>` (index 1..65535). Indexes are
 * kept for as long as the session exists and can be persisted (snapshot/restore) so a
 * restarted agent re-advertises the same routes instead of new ones.
 */
export class SessionRdAllocator {
  private readonly byName = new Map<string, number>();
  private readonly used = new Set<number>();
  /** No index below this one is free: allocation does not rescan from 1. */
  private lowestFree = 1;

  constructor(
    readonly routerId: string,
    saved: Record<string, number> = {},
  ) {
    if (!isIPv4(routerId)) throw new RangeError(`router id '${routerId}' is not an IPv4 address`);
    for (const [name, index] of Object.entries(saved)) {
      if (Number.isInteger(index) && index >= 1 && index <= 0xffff && !this.used.has(index)) {
        this.byName.set(name, index);
        this.used.add(index);
      }
    }
  }

  /** The RD for `name`, allocating the lowest free index for a new name. */
  rd(name: string): string {
    let index = this.byName.get(name);
    if (index === undefined) {
      index = this.lowestFree;
      while (this.used.has(index)) index++;
      this.lowestFree = index + 1;
      if (index > 0xffff) throw new RangeError('no free session index: at most 65535 sessions per agent');
      this.byName.set(name, index);
      this.used.add(index);
    }
    return `${this.routerId}:${index}`;
  }

  /** Frees the indexes of names not in `keep`. */
  retain(keep: Iterable<string>): void {
    const k = new Set(keep);
    for (const [name, index] of this.byName)
      if (!k.has(name)) {
        this.byName.delete(name);
        this.used.delete(index);
        if (index < this.lowestFree) this.lowestFree = index;
      }
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.byName].sort((a, b) => a[1] - b[1]));
  }
}

/** Field-by-field equality of two sessions (what decides whether a route is re-advertised). */
export function sameSession(a: MonitoringSession, b: MonitoringSession): boolean {
  return (
    a.id === b.id &&
    a.name === b.name &&
    a.origin === b.origin &&
    a.vni === b.vni &&
    a.direction === b.direction &&
    a.enabled === b.enabled &&
    a.host.mac === b.host.mac &&
    a.host.ipv4 === b.host.ipv4 &&
    a.host.ipv6 === b.host.ipv6 &&
    a.monitor.mac === b.monitor.mac &&
    a.monitor.ipv4 === b.monitor.ipv4 &&
    a.monitor.ipv6 === b.monitor.ipv6 &&
    a.monitor.hostId === b.monitor.hostId &&
    a.monitor.vni === b.monitor.vni
  );
}
