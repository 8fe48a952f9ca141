// Validation of a whole datastore (what <validate>, <commit> and every edit of running run)
// and its conversion to the typed configuration the rest of the agent consumes. YANG
// constraints come first, with the error-tags RFC 7950 section 15 assigns; then the
// monitoring core's own checks (resolveMonitoringConfig), so the northbound refuses exactly
// what the agent could not apply.
import { MonitoringRouteTarget, parseMonitoringRouteTarget } from '../monitoring/monitor-route';
import { Direction, MonitorServerConfig, MonitoringConfig, SessionConfig, SessionConfigError, resolveMonitoringConfig } from '../monitoring/session';
import { RpcErrorInfo } from './errors';
import { InnerSchema, MONITOR_SERVER, ROOT, SESSION } from './schema';
import { ConfigNode } from './tree';

/** The northbound's output: what a commit delivers to the agent. */
export interface NorthboundConfig {
  /** Absent: the agent's default for its AS. */
  routeTarget?: MonitoringRouteTarget;
  monitoring: MonitoringConfig;
}

const q = (v: string) => (v.includes("'") ? `"${v}"` : `'${v}'`);

function mandatory(node: ConfigNode, schema: InnerSchema, path: string, out: RpcErrorInfo[]): void {
  for (const cs of schema.children.values()) {
    if (cs.kind === 'leaf' && cs.mandatory && !node.leaves.has(cs.name))
      out.push({ type: 'application', tag: 'data-missing', appTag: 'missing-element', message: `mandatory leaf '${cs.name}' is missing`, path: `${path}/em:${cs.name}` });
    if (cs.kind === 'container') {
      // A non-presence container with a mandatory leaf is itself mandatory (RFC 7950 section 3).
      mandatory(node.containers.get(cs.name) ?? new ConfigNode(), cs, `${path}/em:${cs.name}`, out);
    }
  }
}

// Per list entry, what validation learns of it alone: its own YANG problems (mandatory,
// must) and its typed, frozen form. Entries are immutable (tree.ts), so this is computed once
// per version of an entry; the cross-entry checks (unique, leafref, resolveMonitoringConfig's
// own, memoised on the frozen forms) are all that a commit repeats over the whole list.
interface EntryCheck<T> {
  errors: RpcErrorInfo[];
  config: T | undefined;
}
const serverChecks = new WeakMap<ConfigNode, EntryCheck<MonitorServerConfig>>();
const sessionChecks = new WeakMap<ConfigNode, EntryCheck<SessionConfig>>();

function checkServer(e: ConfigNode, path: string): EntryCheck<MonitorServerConfig> {
  let c = serverChecks.get(e);
  if (c) return c;
  const errors: RpcErrorInfo[] = [];
  mandatory(e, MONITOR_SERVER, path, errors);
  if (!e.leaves.has('ipv4') && !e.leaves.has('ipv6'))
    errors.push({ type: 'application', tag: 'operation-failed', appTag: 'must-violation', message: 'a monitor server needs an IPv4 or an IPv6 address', path });
  let config: MonitorServerConfig | undefined;
  if (!errors.length) {
    config = { name: e.leaves.get('name')!, mac: e.leaves.get('mac')!, hostId: Number(e.leaves.get('host-id')) };
    const ipv4 = e.leaves.get('ipv4');
    const ipv6 = e.leaves.get('ipv6');
    const vni = e.leaves.get('vni');
    if (ipv4 !== undefined) config.ipv4 = ipv4;
    if (ipv6 !== undefined) config.ipv6 = ipv6;
    if (vni !== undefined) config.vni = Number(vni);
    Object.freeze(config);
  }
  serverChecks.set(e, (c = { errors, config }));
  return c;
}

function checkSession(e: ConfigNode, path: string): EntryCheck<SessionConfig> {
  let c = sessionChecks.get(e);
  if (c) return c;
  const errors: RpcErrorInfo[] = [];
  mandatory(e, SESSION, path, errors);
  let config: SessionConfig | undefined;
  if (!errors.length) {
    const h = e.containers.get('monitored-host')!;
    const host: SessionConfig['host'] = { mac: h.leaves.get('mac')! };
    const ipv4 = h.leaves.get('ipv4');
    const ipv6 = h.leaves.get('ipv6');
    if (ipv4 !== undefined) host.ipv4 = ipv4;
    if (ipv6 !== undefined) host.ipv6 = ipv6;
    config = Object.freeze({
      name: e.leaves.get('name')!,
      vni: Number(e.leaves.get('vni')),
      host: Object.freeze(host),
      monitorServer: e.leaves.get('monitor-server')!,
      direction: (e.leaves.get('direction') ?? 'both') as Direction,
      enabled: (e.leaves.get('admin-state') ?? 'enabled') === 'enabled',
    });
  }
  sessionChecks.set(e, (c = { errors, config }));
  return c;
}

/** Converts a datastore; returns the config, or every problem found. */
export function validateDatastore(root: ConfigNode): { ok: true; config: NorthboundConfig } | { ok: false; errors: RpcErrorInfo[] } {
  const errors: RpcErrorInfo[] = [];
  const base = `/em:${ROOT.name}`;
  const servers = root.lists.get(MONITOR_SERVER.name) ?? new Map<string, ConfigNode>();
  const sessions = root.lists.get(SESSION.name) ?? new Map<string, ConfigNode>();
  const serverPath = (name: string) => `${base}/em:monitor-server[em:name=${q(name)}]`;
  const sessionPath = (name: string) => `${base}/em:session[em:name=${q(name)}]`;

  const monitorServers: MonitorServerConfig[] = [];
  for (const [name, e] of servers) {
    const c = checkServer(e, serverPath(name));
    for (const x of c.errors) errors.push(x);
    if (c.config) monitorServers.push(c.config);
  }
  for (const u of MONITOR_SERVER.unique) {
    const seen = new Map<string, string>();
    for (const [name, e] of servers) {
      const vals = u.map((l) => e.leaves.get(l));
      if (vals.some((v) => v === undefined)) continue; // RFC 7950 7.8.3: entries lacking a leaf are not compared
      const k = JSON.stringify(vals);
      const other = seen.get(k);
      if (other !== undefined)
        errors.push({
          type: 'application',
          tag: 'operation-failed',
          appTag: 'data-not-unique',
          message: `${u.join(' ')} ${vals.join(' ')} of monitor server '${name}' is already used by monitor server '${other}'`,
          path: serverPath(name),
          info: u.map((l) => ['non-unique', `${serverPath(name)}/em:${l}`] as [string, string]),
        });
      else seen.set(k, name);
    }
  }
  const sessionConfigs: SessionConfig[] = [];
  for (const [name, e] of sessions) {
    // Paths are built only for entries with a problem: 10,000 template strings per commit add up.
    let c = sessionChecks.get(e);
    if (!c) c = checkSession(e, sessionPath(name));
    for (const x of c.errors) errors.push(x);
    if (c.config) sessionConfigs.push(c.config);
    const ref = e.leaves.get('monitor-server');
    if (ref !== undefined && !servers.has(ref))
      errors.push({
        type: 'application',
        tag: 'data-missing',
        appTag: 'instance-required',
        message: `monitor server '${ref}' is not configured (session '${name}' refers to it)`,
        path: `${sessionPath(name)}/em:monitor-server`,
      });
  }
  let routeTarget: MonitoringRouteTarget | undefined;
  const rt = root.leaves.get('monitoring-route-target');
  if (rt !== undefined) {
    try {
      routeTarget = parseMonitoringRouteTarget(rt);
    } catch (err) {
      errors.push({ type: 'application', tag: 'invalid-value', message: (err as Error).message, path: `${base}/em:monitoring-route-target` });
    }
  }
  if (errors.length) return { ok: false, errors };

  const monitoring: MonitoringConfig = { monitorServers, sessions: sessionConfigs };
  try {
    resolveMonitoringConfig(monitoring, { sessionId: (n) => n });
  } catch (err) {
    if (!(err instanceof SessionConfigError)) throw err;
    return {
      ok: false,
      errors: err.problems.map((p) => ({
        type: 'application',
        tag: 'invalid-value',
        message: p.message,
        // session[name='x']/vni -> /em:evpn-mirror/em:session[em:name='x']/em:vni
        path: `${base}/${p.path.replace(/(^|\/)([a-z-]+)/g, '$1em:$2').replace(/\[name=/g, '[em:name=')}`,
      })),
    };
  }
  const config: NorthboundConfig = { monitoring };
  if (routeTarget) config.routeTarget = routeTarget;
  return { ok: true, config };
}
