// Writes the per-node files of the containerlab topology (evpn-mirror.clab.yml) from the
// generators the namespace lab runs (src/lab/fabric.ts), so that the two labs cannot drift:
//
//   <node>/daemons, <node>/frr.conf   rr and v101..v104: FRR 8.4 zebra + bgpd; frr.conf is
//                                     rrConfig() / leafConfig() under a comment header
//   agent<no>/agent.yaml              agentConfigYaml() of VTEP<no>, MAC mode alongside-frr
//
//   npx tsc -p tsconfig.json && node dist/examples/containerlab/generate.js    (re)write them
//   node dist/examples/containerlab/generate.js --check     exit 1 if a committed file differs
//   node dist/examples/containerlab/generate.js --out DIR   write into DIR instead
//
// test/unit/containerlab.test.ts writes them into a temp dir and compares byte for byte with the
// committed files. Everything comes from fabric.ts's exports; nothing of its logic is copied here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HOSTS, HostName, MacMode, VTEP_NOS, VtepNo, agentConfigYaml, leafConfig, rrConfig } from '../../src/lab/fabric';

/** examples/containerlab in the source tree (this file runs from dist/examples/containerlab). */
export const TOPOLOGY_DIR = path.resolve(__dirname, '..', '..', '..', 'examples', 'containerlab');
export const TOPOLOGY_FILE = 'evpn-mirror.clab.yml';
/** containerlab's lab name: containers are clab-<lab>-<node>. */
export const LAB_NAME = 'evpn-mirror';
/** FRR runs on every leaf, as in the namespace lab's default mode. */
export const MAC_MODE: MacMode = 'alongside-frr';
/** The agent image's state volume (docker/Dockerfile VOLUME). */
export const AGENT_STATE_DIR = '/var/lib/evpn-mirror';
/** Where the agent image reads its configuration (docker/Dockerfile CMD). */
export const AGENT_CONFIG_PATH = '/etc/evpn-mirror/agent.yaml';

/**
 * hashPassword(NETCONF_PASSWORD) ('evpn-mirror-lab', user admin), made once and stored: scrypt
 * salts are random, and generated files must come out the same on every run. The same hash as
 * examples/configs/vtep101-agent.yaml; the test checks that it verifies the lab's password.
 */
export const LAB_PASSWORD_HASH = 'scrypt$16384$8$1$1idTuSaV/4Ta7KK4qFZuiQ==$8Mh8cxEMnBkqAqlyDpTeYQQHRreUVKa4EHoIpvaVkLk=';

/** Node names of the topology, after the namespace lab's namespaces (ul, rr, ops, v101, vm210, ...). */
export const vtepNode = (no: VtepNo): string => `v${no}`;
export const agentNode = (no: VtepNo): string => `agent${no}`;
export const hostNode = (h: HostName): string => h.toLowerCase();
export const FRR_NODES: readonly string[] = ['rr', ...VTEP_NOS.map(vtepNode)];

const OFF_DAEMONS = ['ospfd', 'ospf6d', 'ripd', 'ripngd', 'isisd', 'pimd', 'ldpd', 'nhrpd', 'eigrpd', 'babeld', 'sharpd', 'pbrd', 'bfdd', 'fabricd', 'vrrpd', 'pathd'];

/** /etc/frr/daemons: zebra (watchfrr always starts it) and bgpd, options as src/lab/frr.ts runs them. */
export function frrDaemons(node: string): string {
  return [
    `# /etc/frr/daemons of the containerlab node ${node}: written by examples/containerlab/generate.ts, do not edit.`,
    '# zebra + bgpd, as the namespace lab runs FRR (src/lab/frr.ts startFrr: zebra -s 90000000).',
    '# watchfrr always starts zebra (and staticd); bgpd is the only other daemon.',
    'bgpd=yes',
    ...OFF_DAEMONS.map((d) => `${d}=no`),
    '',
    'vtysh_enable=yes',
    'zebra_options="  -A 127.0.0.1 -s 90000000"',
    'bgpd_options="   -A 127.0.0.1"',
    // The namespace lab runs Debian's FRR 8.4.4, built with the traditional defaults.
    'frr_profile="traditional"',
    '',
  ].join('\n');
}

/** /etc/frr/frr.conf: a comment header, then the namespace lab's bgpd.conf, byte for byte. */
export function frrConf(node: string): string {
  const [what, body] =
    node === 'rr'
      ? [`the route reflector's bgpd.conf (src/lab/fabric.ts rrConfig('${MAC_MODE}'))`, rrConfig(MAC_MODE)]
      : ((): [string, string] => {
          const no = VTEP_NOS.find((n) => vtepNode(n) === node);
          if (no === undefined) throw new Error(`no FRR node ${node}`);
          return [`the bgpd.conf of leaf ${no} (src/lab/fabric.ts leafConfig(${no}))`, leafConfig(no)];
        })();
  return [
    `! /etc/frr/frr.conf of the containerlab node ${node}: written by examples/containerlab/generate.ts, do not edit.`,
    `! It is ${what}; zebra needs nothing but the hostname.`,
    body,
  ].join('\n');
}

/** agent.yaml of the agent of VTEP<no>: the namespace lab's, with the image's state dir and the stored hash. */
export function agentYaml(no: VtepNo): string {
  return (
    `# ${agentNode(no)}/agent.yaml: written by examples/containerlab/generate.ts, do not edit. Mounted at\n` +
    `# ${AGENT_CONFIG_PATH} in clab-${LAB_NAME}-${agentNode(no)}; NETCONF user admin, password evpn-mirror-lab.\n` +
    agentConfigYaml(no, { macMode: MAC_MODE, passwordHash: LAB_PASSWORD_HASH, stateDir: AGENT_STATE_DIR })
  );
}

/** Every generated file: path relative to examples/containerlab (POSIX separators) -> content. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const node of FRR_NODES) {
    files.set(`${node}/daemons`, frrDaemons(node));
    files.set(`${node}/frr.conf`, frrConf(node));
  }
  for (const no of VTEP_NOS) files.set(`${agentNode(no)}/agent.yaml`, agentYaml(no));
  return files;
}

/** Writes the generated files under `dir`; returns their relative paths. */
export function writeGenerated(dir: string): string[] {
  const out: string[] = [];
  for (const [rel, text] of generatedFiles()) {
    const file = path.join(dir, ...rel.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // 0644: FRR reads its files after dropping to user frr; the agent reads agent.yaml as root.
    fs.writeFileSync(file, text, { mode: 0o644 });
    out.push(rel);
  }
  return out;
}

/** The generated files that are missing under `dir` or differ from what the generators produce now. */
export function staleFiles(dir: string): string[] {
  const stale: string[] = [];
  for (const [rel, text] of generatedFiles()) {
    const file = path.join(dir, ...rel.split('/'));
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) stale.push(rel);
  }
  return stale;
}

/** Hosts of the lab by VTEP (the access ports each VTEP's exec lines enslave to br1). */
export function hostsOf(no: VtepNo): HostName[] {
  return (Object.keys(HOSTS) as HostName[]).filter((h) => HOSTS[h].vtep === no);
}

function main(argv: string[]): number {
  let dir = TOPOLOGY_DIR;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') check = true;
    else if (a === '--out' && argv[i + 1] !== undefined) dir = path.resolve(argv[++i]!);
    else {
      process.stderr.write('usage: generate.js [--check] [--out DIR]\n');
      return 2;
    }
  }
  if (check) {
    const stale = staleFiles(dir);
    for (const s of stale) process.stderr.write(`stale: ${path.join(dir, s)} (run node dist/examples/containerlab/generate.js)\n`);
    if (stale.length === 0) process.stdout.write(`${generatedFiles().size} files in ${dir} are what the generators produce\n`);
    return stale.length === 0 ? 0 : 1;
  }
  for (const rel of writeGenerated(dir)) process.stdout.write(`wrote ${path.join(dir, rel)}\n`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
