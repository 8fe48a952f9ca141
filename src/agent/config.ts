// The agent's own configuration file (YAML): what the VTEP is and how the agent talks to the
// world. Monitoring sessions are not here: they come over NETCONF. Every error names the
// file, the line, the key and the reason, e.g.
//   agent.yaml:14: bgp.neighbors[0].remoteAs: must be an integer 1..4294967295, got 0
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { LineCounter, parseDocument, isMap, Node as YamlNode } from 'yaml';
import { ConfigError, SpeakerConfig, resolveSpeakerConfig } from '../bgp/config';
import { DEFAULT_DUPLICATE_DETECTION, DuplicateDetectionConfig, validateDuplicateDetection } from '../monitoring/mac-table';
import { MonitoringRouteTarget, defaultMonitoringRouteTarget, parseMonitoringRouteTarget } from '../monitoring/monitor-route';
import { VNI_MAX } from '../monitoring/session';
import { NetconfUser, validateUsers } from '../netconf/users';

export type MacMode = 'alongside-frr' | 'standalone';

export interface AgentConfig {
  /** The agent's BGP identifier; also the next hop of its monitor routes (an address of its own). */
  routerId: string;
  asn: number;
  /** This VTEP's tunnel (underlay) address: FRR's VXLAN source address. */
  vtepIp: string;
  bgp: SpeakerConfig;
  monitoring: {
    /** Default for the monitoring route target; NETCONF's monitoring-route-target overrides it. */
    routeTarget: MonitoringRouteTarget;
    mirrorVni: number;
    macMode: MacMode;
    duplicateDetection: DuplicateDetectionConfig;
  };
  dataplane: {
    driver: 'linux' | 'memory';
    /** Tenant VNI -> bridge. */
    bridges: Record<number, string>;
    mirrorPort: number;
    healIntervalMs: number;
    /** At start, how long the entries a previous run left stay untouched while BGP converges
     * (until End-of-RIB from every neighbor, at most this long). */
    startupHoldSeconds: number;
  };
  netconf: {
    address: string;
    port: number;
    users: NetconfUser[];
  };
  stateDir: string;
  log: { level: string; json: boolean };
  /** Prometheus endpoint; undefined = off. */
  metrics?: { address: string; port: number };
}

export class AgentConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${key}: ${reason}`);
    this.name = 'AgentConfigError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const TOP_KEYS = ['routerId', 'asn', 'vtepIp', 'bgp', 'monitoring', 'dataplane', 'netconf', 'stateDir', 'log', 'metrics'];

/** Reads and checks a config file; throws AgentConfigError. */
export function loadAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AgentConfigError(file, undefined, '(file)', (err as Error).message);
  }
  return parseAgentConfig(text, file);
}

export function parseAgentConfig(text: string, file = 'agent.yaml'): AgentConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new AgentConfigError(file, e.linePos?.[0]?.line, '(syntax)', e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
  }
  const lineOf = (path: (string | number)[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as YamlNode | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const keyText = (path: (string | number)[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');
  const fail = (path: (string | number)[], reason: string): never => {
    throw new AgentConfigError(file, lineOf(path), keyText(path), reason);
  };
  if (!isMap(doc.contents)) fail([], 'the file must be a YAML mapping');
  const raw = doc.toJS() as Record<string, Json>;

  const obj = (path: (string | number)[], v: Json | undefined, keys: string[]): Record<string, Json> => {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) return fail(path, 'must be a mapping');
    for (const k of Object.keys(v)) if (!keys.includes(k)) fail([...path, k], `unknown key (expected one of: ${keys.join(', ')})`);
    return v;
  };
  const str = (path: (string | number)[], v: Json | undefined, dflt?: string): string => {
    if (v === undefined || v === null) return dflt ?? fail(path, 'is required');
    if (typeof v !== 'string') return fail(path, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const int = (path: (string | number)[], v: Json | undefined, min: number, max: number, dflt?: number): number => {
    if (v === undefined || v === null) return dflt ?? fail(path, 'is required');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return fail(path, `must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (path: (string | number)[], v: Json | undefined, dflt: boolean): boolean => {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') return fail(path, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const ipv4 = (path: (string | number)[], v: Json | undefined, dflt?: string): string => {
    const s = str(path, v, dflt);
    if (!isIPv4(s)) fail(path, `must be an IPv4 address, got ${JSON.stringify(s)}`);
    return s;
  };

  obj([], raw, TOP_KEYS);
  const routerId = ipv4(['routerId'], raw.routerId);
  const asn = int(['asn'], raw.asn, 1, 0xffffffff);
  const vtepIp = ipv4(['vtepIp'], raw.vtepIp);
  if (routerId === vtepIp)
    fail(['routerId'], 'must differ from vtepIp: the agent speaks BGP from an address of its own (FRR refuses routes whose next hop is its own address)');

  // BGP: the speaker validates; its ConfigError names the field under bgp.
  const b = obj(['bgp'], raw.bgp, ['listenAddress', 'listenPort', 'neighbors', 'gracefulRestart']);
  if (!Array.isArray(b.neighbors) || b.neighbors.length === 0) fail(['bgp', 'neighbors'], 'must list at least one neighbor (the route reflectors or the local FRR)');
  const bgp: SpeakerConfig = {
    routerId,
    localAs: asn,
    nextHop: routerId,
    neighbors: (b.neighbors as Json[]).map((n, i) => {
      const o = obj(['bgp', 'neighbors', i], n, ['address', 'remoteAs', 'port', 'localAddress', 'passive', 'holdTime', 'keepaliveTime', 'connectRetryTime', 'gracefulRestart', 'description']);
      return { remoteAs: asn, ...o } as unknown as SpeakerConfig['neighbors'][number];
    }),
  };
  if (b.listenAddress !== undefined) bgp.listenAddress = str(['bgp', 'listenAddress'], b.listenAddress);
  if (b.listenPort !== undefined) bgp.listenPort = int(['bgp', 'listenPort'], b.listenPort, 0, 65535);
  if (b.gracefulRestart !== undefined) bgp.gracefulRestart = obj(['bgp', 'gracefulRestart'], b.gracefulRestart, ['restartTime', 'stalePathTime', 'preserveForwarding']) as SpeakerConfig['gracefulRestart'] & object;
  try {
    resolveSpeakerConfig(bgp);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const path: (string | number)[] = ['bgp'];
    for (const part of err.field.split('.')) {
      const m = /^(\w+)\[(\d+)\]$/.exec(part);
      if (m) path.push(m[1]!, Number(m[2]));
      else path.push(part);
    }
    fail(path, err.message.slice(err.field.length + 2));
  }

  const m = obj(['monitoring'], raw.monitoring, ['routeTarget', 'mirrorVni', 'macMode', 'duplicateDetection']);
  let routeTarget = defaultMonitoringRouteTarget(asn);
  if (m.routeTarget !== undefined) {
    try {
      routeTarget = parseMonitoringRouteTarget(str(['monitoring', 'routeTarget'], m.routeTarget));
    } catch (err) {
      fail(['monitoring', 'routeTarget'], (err as Error).message);
    }
  }
  const macMode = str(['monitoring', 'macMode'], m.macMode, 'alongside-frr');
  if (macMode !== 'alongside-frr' && macMode !== 'standalone') fail(['monitoring', 'macMode'], `must be alongside-frr or standalone, got ${JSON.stringify(macMode)}`);
  const d = obj(['monitoring', 'duplicateDetection'], m.duplicateDetection, ['enabled', 'maxMoves', 'windowSeconds', 'freezeSeconds']);
  const dad: DuplicateDetectionConfig = {
    enabled: bool(['monitoring', 'duplicateDetection', 'enabled'], d.enabled, DEFAULT_DUPLICATE_DETECTION.enabled),
    maxMoves: int(['monitoring', 'duplicateDetection', 'maxMoves'], d.maxMoves, 2, 1000, DEFAULT_DUPLICATE_DETECTION.maxMoves),
    windowSeconds: int(['monitoring', 'duplicateDetection', 'windowSeconds'], d.windowSeconds, 2, 1800, DEFAULT_DUPLICATE_DETECTION.windowSeconds),
    freezeSeconds: int(['monitoring', 'duplicateDetection', 'freezeSeconds'], d.freezeSeconds, 0, 3600, DEFAULT_DUPLICATE_DETECTION.freezeSeconds),
  };
  try {
    validateDuplicateDetection(dad);
  } catch (err) {
    fail(['monitoring', 'duplicateDetection'], (err as Error).message);
  }

  const dp = obj(['dataplane'], raw.dataplane, ['driver', 'bridges', 'mirrorPort', 'healIntervalMs', 'startupHoldSeconds']);
  const driver = str(['dataplane', 'driver'], dp.driver, 'linux');
  if (driver !== 'linux' && driver !== 'memory') fail(['dataplane', 'driver'], `must be linux or memory, got ${JSON.stringify(driver)}`);
  const bridgesRaw = obj(['dataplane', 'bridges'], dp.bridges, Object.keys((dp.bridges as Record<string, Json>) ?? {}));
  const bridges: Record<number, string> = {};
  for (const [vni, br] of Object.entries(bridgesRaw)) {
    if (!/^\d+$/.test(vni) || Number(vni) < 1 || Number(vni) > VNI_MAX) fail(['dataplane', 'bridges', vni], `a VNI 1..${VNI_MAX} is expected as key`);
    bridges[Number(vni)] = str(['dataplane', 'bridges', vni], br);
  }
  if (driver === 'linux' && Object.keys(bridges).length === 0) fail(['dataplane', 'bridges'], 'name the bridge of each tenant VNI (e.g. "1: br1")');

  const nc = obj(['netconf'], raw.netconf, ['address', 'port', 'users']);
  const usersRaw = nc.users ?? [];
  if (!Array.isArray(usersRaw)) fail(['netconf', 'users'], 'must be a list');
  const users = (usersRaw as Json[]).map((u, i) => obj(['netconf', 'users', i], u, ['name', 'role', 'passwordHash', 'authorizedKeys']) as unknown as NetconfUser);
  try {
    validateUsers(users);
  } catch (err) {
    fail(['netconf', 'users'], (err as Error).message);
  }

  const lg = obj(['log'], raw.log, ['level', 'json']);
  const level = str(['log', 'level'], lg.level, 'info');
  if (!['error', 'warn', 'info', 'debug'].includes(level)) fail(['log', 'level'], `must be error, warn, info or debug, got ${JSON.stringify(level)}`);

  const config: AgentConfig = {
    routerId,
    asn,
    vtepIp,
    bgp,
    monitoring: {
      routeTarget,
      mirrorVni: int(['monitoring', 'mirrorVni'], m.mirrorVni, 1, VNI_MAX, 16_000_000),
      macMode: macMode as MacMode,
      duplicateDetection: dad,
    },
    dataplane: {
      driver: driver as 'linux' | 'memory',
      bridges,
      mirrorPort: int(['dataplane', 'mirrorPort'], dp.mirrorPort, 1, 65535, 4792),
      healIntervalMs: int(['dataplane', 'healIntervalMs'], dp.healIntervalMs, 0, 3_600_000, 5000),
      startupHoldSeconds: int(['dataplane', 'startupHoldSeconds'], dp.startupHoldSeconds, 0, 600, 10),
    },
    netconf: { address: str(['netconf', 'address'], nc.address, '0.0.0.0'), port: int(['netconf', 'port'], nc.port, 0, 65535, 830), users },
    stateDir: str(['stateDir'], raw.stateDir, '/var/lib/evpn-mirror'),
    log: { level, json: bool(['log', 'json'], lg.json, false) },
  };
  if (Object.values(bridges).length && config.dataplane.mirrorPort === 4789) fail(['dataplane', 'mirrorPort'], 'must differ from the tenant VXLAN port 4789 (see docs/dataplane.md)');
  if (raw.metrics !== undefined && raw.metrics !== null) {
    const mt = obj(['metrics'], raw.metrics, ['address', 'port']);
    config.metrics = { address: str(['metrics', 'address'], mt.address, '127.0.0.1'), port: int(['metrics', 'port'], mt.port, 0, 65535, 9464) };
  }
  for (const vni of Object.keys(bridges)) if (Number(vni) === config.monitoring.mirrorVni) fail(['monitoring', 'mirrorVni'], `is also tenant VNI ${vni}: the mirror VNI must be a VNI of its own`);
  return config;
}

/** True when `a` and `b` differ in a way only a restart applies (for SIGHUP). */
export function restartNeeded(a: AgentConfig, b: AgentConfig): string[] {
  const keys: string[] = [];
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  if (a.routerId !== b.routerId) keys.push('routerId');
  if (a.asn !== b.asn) keys.push('asn');
  if (a.vtepIp !== b.vtepIp) keys.push('vtepIp');
  if (!same({ ...a.bgp, neighbors: [] }, { ...b.bgp, neighbors: [] })) keys.push('bgp (other than neighbors)');
  if (!same(a.monitoring, b.monitoring)) keys.push('monitoring');
  if (!same(a.dataplane, b.dataplane)) keys.push('dataplane');
  if (a.netconf.address !== b.netconf.address || a.netconf.port !== b.netconf.port) keys.push('netconf.address/port');
  if (a.stateDir !== b.stateDir) keys.push('stateDir');
  if (!same(a.metrics, b.metrics)) keys.push('metrics');
  return keys;
}

