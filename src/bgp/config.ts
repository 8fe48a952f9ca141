// Speaker and neighbor configuration: types, defaults, and validation with messages that
// name the field. Defaults follow RFC 4271 section 10 where it suggests values, and FRR
// where operators expect its behaviour.
import { isIPv4, isIPv6 } from 'node:net';
import { Afi, Safi } from './packet/constants';

export type FamilyName = 'l2vpn-evpn' | 'ipv4-unicast';

export interface Family {
  afi: number;
  safi: number;
}

export const FAMILIES: Record<FamilyName, Family> = {
  'l2vpn-evpn': { afi: Afi.L2vpn, safi: Safi.Evpn },
  'ipv4-unicast': { afi: Afi.Ipv4, safi: Safi.Unicast },
};

export function familyName(afi: number, safi: number): FamilyName | undefined {
  if (afi === Afi.L2vpn && safi === Safi.Evpn) return 'l2vpn-evpn';
  if (afi === Afi.Ipv4 && safi === Safi.Unicast) return 'ipv4-unicast';
  return undefined;
}

export interface GracefulRestartConfig {
  /** Restart Time we advertise: how long peers keep our routes while we are down (s). */
  restartTime: number;
  /** Upper bound on keeping a restarting peer's stale routes after it is back (s). */
  stalePathTime: number;
  /**
   * F bit (RFC 4724 section 3): our forwarding state survives a restart of the speaker (the
   * agent leaves its data plane entries in place). Helpers such as FRR keep our routes
   * across a restart only for families whose last OPEN had it. Default true; set false
   * when the forwarding state was lost (e.g. after a reboot).
   */
  preserveForwarding: boolean;
}

export interface NeighborConfig {
  address: string;
  remoteAs: number;
  /** TCP port to connect to (default 179). */
  port?: number;
  /** Source address for outgoing connections. */
  localAddress?: string;
  /** Never connect out; wait for the peer (RFC 4271 section 8.1.1 PassiveTcpEstablishment). */
  passive?: boolean;
  families?: FamilyName[];
  /** Seconds; 0 disables keepalives (RFC 4271 section 4.2). Default 90. */
  holdTime?: number;
  /** Seconds. Default holdTime / 3. */
  keepaliveTime?: number;
  /** Seconds between connection attempts. Default 5 (RFC 4271 suggests 120; EVPN fabrics
   * want faster recovery, FRR operators set `timers connect`). */
  connectRetryTime?: number;
  /** Graceful restart with this neighbor (default on). */
  gracefulRestart?: boolean;
  description?: string;
}

export interface SpeakerConfig {
  routerId: string;
  localAs: number;
  /** Listen address for incoming BGP connections; undefined = do not listen. */
  listenAddress?: string;
  /** Default 179. 0 picks a free port (tests). */
  listenPort?: number;
  neighbors: NeighborConfig[];
  gracefulRestart?: Partial<GracefulRestartConfig>;
  /** This start is a restart with forwarding state kept (RFC 4724 section 4.1: R and F bits). */
  restarting?: boolean;
  /** Default next hop for the routes we originate (defaults to routerId). */
  nextHop?: string;
}

export interface ResolvedNeighborConfig extends Required<Omit<NeighborConfig, 'localAddress' | 'description'>> {
  localAddress?: string;
  description?: string;
}

export interface ResolvedSpeakerConfig {
  routerId: string;
  localAs: number;
  listenAddress?: string;
  listenPort: number;
  neighbors: ResolvedNeighborConfig[];
  gracefulRestart: GracefulRestartConfig;
  restarting: boolean;
  nextHop: string;
}

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'ConfigError';
  }
}

function uint(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new ConfigError(field, `must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

function ip(v: unknown, field: string): string {
  if (typeof v !== 'string' || !(isIPv4(v) || isIPv6(v))) throw new ConfigError(field, `must be an IP address, got ${JSON.stringify(v)}`);
  return v;
}

function holdTime(v: unknown, field: string): number {
  const h = uint(v, field, 0, 65535);
  if (h === 1 || h === 2) throw new ConfigError(field, 'must be 0 or at least 3 seconds (RFC 4271 section 4.2)');
  return h;
}

export function resolveNeighbor(n: NeighborConfig, index: number): ResolvedNeighborConfig {
  const f = `neighbors[${index}]`;
  const hold = n.holdTime === undefined ? 90 : holdTime(n.holdTime, `${f}.holdTime`);
  const keepalive = n.keepaliveTime === undefined ? Math.floor(hold / 3) : uint(n.keepaliveTime, `${f}.keepaliveTime`, 0, 21845);
  if (hold > 0 && keepalive > hold / 3) throw new ConfigError(`${f}.keepaliveTime`, `must be at most holdTime / 3 (${Math.floor(hold / 3)})`);
  const families = n.families ?? ['l2vpn-evpn'];
  if (!Array.isArray(families) || families.length === 0) throw new ConfigError(`${f}.families`, 'must name at least one family');
  for (const fam of families)
    if (!(fam in FAMILIES)) throw new ConfigError(`${f}.families`, `unknown family ${JSON.stringify(fam)} (l2vpn-evpn, ipv4-unicast)`);
  const out: ResolvedNeighborConfig = {
    address: ip(n.address, `${f}.address`),
    remoteAs: uint(n.remoteAs, `${f}.remoteAs`, 1, 0xffffffff),
    port: n.port === undefined ? 179 : uint(n.port, `${f}.port`, 1, 65535),
    passive: n.passive ?? false,
    families: [...new Set(families)],
    holdTime: hold,
    keepaliveTime: keepalive,
    connectRetryTime: n.connectRetryTime === undefined ? 5 : uint(n.connectRetryTime, `${f}.connectRetryTime`, 1, 65535),
    gracefulRestart: n.gracefulRestart ?? true,
  };
  if (n.localAddress !== undefined) out.localAddress = ip(n.localAddress, `${f}.localAddress`);
  if (n.description !== undefined) out.description = String(n.description);
  return out;
}

export function resolveSpeakerConfig(c: SpeakerConfig): ResolvedSpeakerConfig {
  if (typeof c.routerId !== 'string' || !isIPv4(c.routerId) || c.routerId === '0.0.0.0')
    throw new ConfigError('routerId', `must be a non-zero IPv4 address (RFC 6286), got ${JSON.stringify(c.routerId)}`);
  const neighbors = (c.neighbors ?? []).map(resolveNeighbor);
  const seen = new Set<string>();
  neighbors.forEach((n, i) => {
    if (seen.has(n.address)) throw new ConfigError(`neighbors[${i}].address`, `${n.address} is configured twice`);
    seen.add(n.address);
  });
  const gr = c.gracefulRestart ?? {};
  const out: ResolvedSpeakerConfig = {
    routerId: c.routerId,
    localAs: uint(c.localAs, 'localAs', 1, 0xffffffff),
    listenPort: c.listenPort === undefined ? 179 : uint(c.listenPort, 'listenPort', 0, 65535),
    neighbors,
    gracefulRestart: {
      restartTime: gr.restartTime === undefined ? 120 : uint(gr.restartTime, 'gracefulRestart.restartTime', 1, 4095),
      stalePathTime: gr.stalePathTime === undefined ? 360 : uint(gr.stalePathTime, 'gracefulRestart.stalePathTime', 1, 65535),
      preserveForwarding: gr.preserveForwarding ?? true,
    },
    restarting: c.restarting ?? false,
    nextHop: c.nextHop === undefined ? c.routerId : ip(c.nextHop, 'nextHop'),
  };
  if (c.listenAddress !== undefined) out.listenAddress = ip(c.listenAddress, 'listenAddress');
  return out;
}
