// The YANG modules this server knows, and the three ways it tells a manager about them:
//
// - the <hello> (RFC 6020 section 5.6.4): a module capability URI for each implemented
//   YANG 1.0 module only. RFC 7950 section 5.6.4 moves announcement of YANG 1.1 modules
//   (ours, evpn-mirror, is one) to the YANG library; libnetconf2 (netopeer2) likewise lists
//   1.0 modules in the hello and announces the library with the yang-library:1.0
//   capability, whose module-set-id changes whenever the set of modules does.
// - /modules-state of ietf-yang-library@2016-06-21 (RFC 7895): every module, implemented
//   or import-only, with its revision, namespace and conformance type.
// - /netconf-state/schemas of ietf-netconf-monitoring (RFC 6022 section 2.1.3) and
//   <get-schema> (section 3.1): the text of every module above, from the package's yang/.
//
// ietf-netconf itself is not listed: the base operations are announced by the base:1.0/1.1
// capabilities, and its import of ietf-netconf-acm would claim a NACM this server does not
// implement (our access rule is the per-user role, users.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataNode, leafNode } from './filter';
import { EM_MODULE, EM_NS, EM_REVISION } from './schema';

export const MONITORING_NS = 'urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring';
export const YANG_LIBRARY_NS = 'urn:ietf:params:xml:ns:yang:ietf-yang-library';
export const YANG_LIBRARY_REVISION = '2016-06-21';

export interface YangModule {
  name: string;
  revision: string;
  namespace: string;
  /** RFC 7895 conformance-type: implemented, or only there for its typedefs/groupings. */
  conformance: 'implement' | 'import';
  yangVersion: '1' | '1.1';
  /** File name under the yang/ directory. */
  file: string;
}

export const MODULES: readonly YangModule[] = [
  { name: EM_MODULE, revision: EM_REVISION, namespace: EM_NS, conformance: 'implement', yangVersion: '1.1', file: `${EM_MODULE}.yang` },
  { name: 'ietf-netconf-monitoring', revision: '2010-10-04', namespace: MONITORING_NS, conformance: 'implement', yangVersion: '1', file: 'ietf-netconf-monitoring@2010-10-04.yang' },
  { name: 'ietf-yang-library', revision: YANG_LIBRARY_REVISION, namespace: YANG_LIBRARY_NS, conformance: 'implement', yangVersion: '1', file: `ietf-yang-library@${YANG_LIBRARY_REVISION}.yang` },
  { name: 'ietf-yang-types', revision: '2013-07-15', namespace: 'urn:ietf:params:xml:ns:yang:ietf-yang-types', conformance: 'import', yangVersion: '1', file: 'ietf-yang-types@2013-07-15.yang' },
  { name: 'ietf-inet-types', revision: '2013-07-15', namespace: 'urn:ietf:params:xml:ns:yang:ietf-inet-types', conformance: 'import', yangVersion: '1', file: 'ietf-inet-types@2013-07-15.yang' },
];

/** RFC 7895 section 2.2: an id that changes whenever the module set does. */
export const MODULE_SET_ID = createHash('sha256')
  .update(MODULES.map((m) => `${m.name}@${m.revision}/${m.conformance}`).join('\n'))
  .digest('hex')
  .slice(0, 16);

/** Module capability URIs for the <hello>: implemented YANG 1.0 modules, then the library. */
export function moduleCapabilities(): string[] {
  return [
    ...MODULES.filter((m) => m.conformance === 'implement' && m.yangVersion === '1' && m.name !== 'ietf-yang-library').map((m) => `${m.namespace}?module=${m.name}&revision=${m.revision}`),
    `urn:ietf:params:netconf:capability:yang-library:1.0?revision=${YANG_LIBRARY_REVISION}&module-set-id=${MODULE_SET_ID}`,
  ];
}

/** The module named `identifier` (at `version` when given), or undefined. */
export function findModule(identifier: string, version?: string): YangModule | undefined {
  return MODULES.find((m) => m.name === identifier && (!version || m.revision === version));
}

export function moduleText(dir: string, m: YangModule): string {
  return readFileSync(join(dir, m.file), 'utf8');
}

/** /modules-state (RFC 7895 section 2.2). Features: our modules define none. */
export function modulesState(): DataNode {
  const ns = YANG_LIBRARY_NS;
  return {
    name: 'modules-state',
    ns,
    children: [
      ...leafNode('module-set-id', ns, MODULE_SET_ID),
      ...MODULES.map((m) => ({
        name: 'module',
        ns,
        children: [...leafNode('name', ns, m.name), ...leafNode('revision', ns, m.revision), ...leafNode('namespace', ns, m.namespace), ...leafNode('conformance-type', ns, m.conformance)],
      })),
    ],
  };
}

/** /netconf-state/schemas (RFC 6022 section 2.1.3): every module, retrievable by <get-schema>. */
export function monitoringSchemas(): DataNode {
  const ns = MONITORING_NS;
  return {
    name: 'schemas',
    ns,
    children: MODULES.map((m) => ({
      name: 'schema',
      ns,
      children: [...leafNode('identifier', ns, m.name), ...leafNode('version', ns, m.revision), ...leafNode('format', ns, 'yang'), ...leafNode('namespace', ns, m.namespace), ...leafNode('location', ns, 'NETCONF')],
    })),
  };
}
