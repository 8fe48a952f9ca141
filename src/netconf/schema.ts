// The configuration part of yang/evpn-mirror.yang as the server's edit and validation code
// sees it: containers, lists with keys, leaves with their types. It is written out here,
// not generated, and held to the module by test/unit/netconf-yang.test.ts, which checks
// the same instance documents against this schema and against yanglint (libyang).
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIp } from '../bgp/packet/addr';

export const EM_NS = 'urn:evpn-mirror:yang:evpn-mirror';
export const EM_MODULE = 'evpn-mirror';
export const EM_REVISION = '2026-11-21';

export type Parsed = { ok: true; value: string } | { ok: false; message: string };

export interface LeafType {
  readonly name: string;
  /** Text from the wire -> canonical value, or why it is not one (RFC 7950 section 9). */
  parse(text: string): Parsed;
}

export interface LeafSchema {
  kind: 'leaf';
  name: string;
  type: LeafType;
  mandatory?: boolean;
  default?: string;
}

export interface ContainerSchema {
  kind: 'container';
  name: string;
  children: Map<string, SchemaNode>;
}

export interface ListSchema {
  kind: 'list';
  name: string;
  keys: string[];
  children: Map<string, SchemaNode>;
  /** RFC 7950 section 7.8.3: each set of leaves must be unique across entries. */
  unique: string[][];
}

export type SchemaNode = LeafSchema | ContainerSchema | ListSchema;
export type InnerSchema = ContainerSchema | ListSchema;

const ok = (value: string): Parsed => ({ ok: true, value });
const bad = (message: string): Parsed => ({ ok: false, message });

function uint(name: string, min: number, max: number): LeafType {
  return {
    name,
    parse(text) {
      const t = text.trim();
      // RFC 7950 section 9.2.1: an optional '+', decimal digits; no leading zeros in the canonical form.
      if (!/^\+?[0-9]+$/.test(t)) return bad(`'${text}' is not an integer`);
      const n = Number(t);
      if (!Number.isSafeInteger(n) || n < min || n > max) return bad(`${t} is out of range ${min}..${max}`);
      return ok(String(n));
    },
  };
}

function pattern(name: string, re: RegExp, what: string, minLen = 0, maxLen = Infinity, trim = true): LeafType {
  return {
    name,
    parse(text) {
      const t = trim ? text.trim() : text;
      if (t.length < minLen || t.length > maxLen) return bad(`'${t}' must be ${minLen}..${maxLen} characters long`);
      if (!re.test(t)) return bad(`'${t}' is not ${what}`);
      return ok(t);
    },
  };
}

export const TYPES = {
  vni: uint('vni', 1, 16_777_215),
  hostId: uint('host-id', 1, 65_535),
  objectName: pattern('object-name', /^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a name (letters, digits, '.', '_', '-', starting with a letter or digit)", 1, 64, false),
  macAddress: {
    name: 'yang:mac-address',
    parse(text: string): Parsed {
      const t = text.trim();
      if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(t)) return bad(`'${t}' is not a MAC address (xx:xx:xx:xx:xx:xx)`);
      return ok(t.toLowerCase());
    },
  } as LeafType,
  ipv4: {
    name: 'inet:ipv4-address-no-zone',
    parse(text: string): Parsed {
      const t = text.trim();
      return isIPv4(t) ? ok(t) : bad(`'${t}' is not an IPv4 address`);
    },
  } as LeafType,
  ipv6: {
    name: 'inet:ipv6-address-no-zone',
    parse(text: string): Parsed {
      const t = text.trim();
      return isIPv6(t) && !t.includes('%') ? ok(canonicalIp(t)) : bad(`'${t}' is not an IPv6 address (without zone)`);
    },
  } as LeafType,
  routeTarget: pattern('route-target', /^[0-9]{1,5}:[0-9]{1,10}$/, 'ASN:N'),
  direction: enumeration('direction', ['both', 'from-host', 'to-host']),
  adminState: enumeration('admin-state', ['enabled', 'disabled']),
};

function enumeration(name: string, values: string[]): LeafType {
  return {
    name,
    parse(text) {
      const t = text.trim();
      return values.includes(t) ? ok(t) : bad(`'${t}' is not one of ${values.join(', ')}`);
    },
  };
}

const leaf = (name: string, type: LeafType, extra: Partial<LeafSchema> = {}): LeafSchema => ({ kind: 'leaf', name, type, ...extra });
const children = (...nodes: SchemaNode[]) => new Map(nodes.map((n) => [n.name, n]));

export const MONITOR_SERVER: ListSchema = {
  kind: 'list',
  name: 'monitor-server',
  keys: ['name'],
  unique: [['host-id'], ['mac']],
  children: children(
    leaf('name', TYPES.objectName),
    leaf('mac', TYPES.macAddress, { mandatory: true }),
    leaf('ipv4', TYPES.ipv4),
    leaf('ipv6', TYPES.ipv6),
    leaf('host-id', TYPES.hostId, { mandatory: true }),
    leaf('vni', TYPES.vni),
  ),
};

export const SESSION: ListSchema = {
  kind: 'list',
  name: 'session',
  keys: ['name'],
  unique: [],
  children: children(
    leaf('name', TYPES.objectName),
    leaf('vni', TYPES.vni, { mandatory: true }),
    {
      kind: 'container',
      name: 'monitored-host',
      children: children(leaf('mac', TYPES.macAddress, { mandatory: true }), leaf('ipv4', TYPES.ipv4), leaf('ipv6', TYPES.ipv6)),
    },
    leaf('monitor-server', TYPES.objectName, { mandatory: true }),
    leaf('direction', TYPES.direction, { default: 'both' }),
    leaf('admin-state', TYPES.adminState, { default: 'enabled' }),
  ),
};

/** The module's top-level config container. */
export const ROOT: ContainerSchema = {
  kind: 'container',
  name: 'evpn-mirror',
  children: children(leaf('monitoring-route-target', TYPES.routeTarget), MONITOR_SERVER, SESSION),
};
