// The containerlab topology (examples/containerlab/): Docker does not run here, so the files are
// checked instead of deployed: the topology's structure, that it is the namespace lab's fabric
// (src/lab/fabric.ts) node for node and address for address, that every agent.yaml passes the
// agent's own parser, that the generated files are what the generators produce now (drift
// fails), and that the README's evpn-mirrorctl commands are accepted by the real CLI.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseAgentConfig } from '../../src/agent/config';
import { main as mirrorctl } from '../../src/cli/evpn-mirrorctl';
import {
  ASN,
  HOSTS,
  HOST_NAMES,
  MIRROR_PORT,
  MIRROR_VNI,
  MONITOR,
  NETCONF_PASSWORD,
  NETCONF_PORT,
  NETCONF_USER,
  OPS_IP,
  RR_IP,
  SESSION_NAME,
  Stage,
  TENANT_VNI,
  UNDERLAY_PREFIX,
  VTEP_NOS,
  VtepNo,
  agentConfigYaml,
  agentIp,
  leafConfig,
  rrConfig,
  vtepIp,
  workedExample,
} from '../../src/lab/fabric';
import { verifyPassword } from '../../src/netconf/users';
import {
  AGENT_CONFIG_PATH,
  AGENT_STATE_DIR,
  FRR_NODES,
  LAB_NAME,
  LAB_PASSWORD_HASH,
  MAC_MODE,
  TOPOLOGY_DIR,
  TOPOLOGY_FILE,
  agentNode,
  generatedFiles,
  hostNode,
  hostsOf,
  staleFiles,
  vtepNode,
  writeGenerated,
} from '../../examples/containerlab/generate';

const root = path.join(__dirname, '..', '..', '..');
const dir = path.join(root, 'examples', 'containerlab');
const GENERATE_JS = path.join(root, 'dist', 'examples', 'containerlab', 'generate.js');

interface ClabNode {
  kind?: string;
  image?: string;
  binds?: string[];
  exec?: string[];
  env?: Record<string, string>;
  entrypoint?: string;
  cmd?: string;
  'network-mode'?: string;
  'image-pull-policy'?: string;
  healthcheck?: { test?: string[]; interval?: number; timeout?: number; retries?: number; 'start-period'?: number };
  stages?: { create?: { 'wait-for'?: { node: string; stage: string }[] } };
  [k: string]: unknown;
}
interface Clab {
  name: string;
  topology: { nodes: Record<string, ClabNode>; links: { endpoints: string[] }[]; [k: string]: unknown };
  [k: string]: unknown;
}

const topo = parseYaml(fs.readFileSync(path.join(dir, TOPOLOGY_FILE), 'utf8'), { uniqueKeys: true }) as Clab;
const nodes = topo.topology.nodes;
const links = topo.topology.links;
const node = (name: string): ClabNode => {
  const n = nodes[name];
  assert.ok(n, `node ${name} exists`);
  return n;
};
const endpoint = (e: string): { node: string; ifname: string } => {
  const m = /^([^:]+):([^:]+)$/.exec(e);
  assert.ok(m, `endpoint ${JSON.stringify(e)} is node:interface`);
  return { node: m[1]!, ifname: m[2]! };
};
const linkSet = new Set(links.map((l) => l.endpoints.join(' <-> ')));
/** Binds as { src (absolute), dst, mode }. */
const bindsOf = (n: ClabNode): { src: string; dst: string; mode?: string }[] =>
  (n.binds ?? []).map((b) => {
    const [src, dst, mode, ...rest] = b.split(':');
    assert.ok(src && dst && rest.length === 0, `bind ${b} is src:dst[:mode]`);
    return { src: path.resolve(dir, src), dst, ...(mode === undefined ? {} : { mode }) };
  });

const FRR_IMAGE = /^(quay\.io\/frrouting\/frr:8\.4\.\d+|(docker\.io\/)?frrouting\/frr:v8\.4\.\d+)$/;
const AGENT_IMAGE = 'evpn-mirror-agent:latest';
const IPV6_OFF = 'sysctl -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1';
const HOST_IF = 'eth1';
const UNDERLAY_NODES = ['rr', 'ops', ...VTEP_NOS.map(vtepNode)];

describe('containerlab topology (examples/containerlab/evpn-mirror.clab.yml)', () => {
  it('is a containerlab topology: a name, nodes with a kind and an image (or a bridge), links of two node:interface endpoints', () => {
    assert.equal(topo.name, LAB_NAME);
    assert.deepEqual(Object.keys(topo).sort(), ['name', 'topology']);
    assert.ok(nodes && typeof nodes === 'object' && Array.isArray(links));
    const KEYS = new Set(['kind', 'image', 'binds', 'exec', 'env', 'entrypoint', 'cmd', 'network-mode', 'image-pull-policy', 'healthcheck', 'stages']);
    for (const [name, n] of Object.entries(nodes)) {
      assert.match(name, /^[a-z][a-z0-9-]*$/, `node name ${name}`);
      for (const k of Object.keys(n)) assert.ok(KEYS.has(k), `${name}: unexpected key ${k}`);
      assert.ok(n.kind === 'linux' || n.kind === 'bridge', `${name}: kind linux or bridge, got ${n.kind}`);
      if (n.kind === 'linux') assert.ok(typeof n.image === 'string' && n.image.length > 0, `${name} has an image`);
      else assert.equal(n.image, undefined, `${name}: a bridge has no image`);
      for (const e of n.exec ?? []) assert.equal(typeof e, 'string', `${name}: exec lines are strings`);
      // containerlab runs exec lines without a shell: no operators that only a shell understands
      for (const e of n.exec ?? []) if (!e.startsWith('sh -c ')) assert.doesNotMatch(e, /&&|\|\||[|;<>$`]/, `${name}: ${e}`);
    }
    for (const l of links) {
      assert.deepEqual(Object.keys(l), ['endpoints']);
      assert.equal(l.endpoints.length, 2);
    }
  });

  it("has the namespace lab's nodes: ul, rr, ops, v101..v104, an agent per VTEP, a host per HOSTS entry", () => {
    const want = ['ul', 'rr', 'ops', ...VTEP_NOS.map(vtepNode), ...VTEP_NOS.map(agentNode), ...HOST_NAMES.map(hostNode)];
    assert.deepEqual(Object.keys(nodes).sort(), want.sort());
    assert.deepEqual(
      HOST_NAMES.map(hostNode),
      HOST_NAMES.map((h) => h.toLowerCase()),
      'host nodes are named as the lab names their namespaces',
    );
  });

  it('links: every endpoint names an existing node, each interface is used once per node, names are valid Linux names', () => {
    const used = new Set<string>();
    for (const l of links) {
      const [a, b] = l.endpoints.map(endpoint);
      assert.notEqual(a!.node, b!.node, `link ${l.endpoints.join(' ')} joins two nodes`);
      for (const ep of [a!, b!]) {
        const n = node(ep.node);
        assert.equal(n['network-mode'], undefined, `${ep.node} shares another node's namespace: no links of its own`);
        assert.match(ep.ifname, /^[A-Za-z0-9_.-]{1,15}$/, `${ep.node}:${ep.ifname} is a valid interface name`);
        assert.notEqual(ep.ifname, 'eth0', `${ep.node}: eth0 is the management interface`);
        const key = `${ep.node}:${ep.ifname}`;
        assert.ok(!used.has(key), `${key} used once`);
        used.add(key);
      }
    }
  });

  it("is wired as the namespace lab: each node's ul to the ulbr port named after it, each host's eth1 to its VTEP's port named after it", () => {
    const want = [
      ...UNDERLAY_NODES.map((n) => `${n}:ul <-> ul:${n}`),
      ...HOST_NAMES.map((h) => `${hostNode(h)}:${HOST_IF} <-> ${vtepNode(HOSTS[h].vtep)}:${HOSTS[h].port}`),
    ];
    assert.deepEqual([...linkSet].sort(), want.sort());
    for (const h of HOST_NAMES) assert.equal(HOSTS[h].port, h.toLowerCase(), `the lab names ${h}'s port after it`);
  });

  it('every bind source exists in the repo (relative to the topology); FRR nodes bind daemons and frr.conf read-only', () => {
    for (const [name, n] of Object.entries(nodes)) {
      for (const b of bindsOf(n)) {
        assert.ok(b.src.startsWith(dir + path.sep), `${name}: ${b.src} is under examples/containerlab`);
        assert.ok(fs.existsSync(b.src) && fs.statSync(b.src).isFile(), `${name}: bind source ${path.relative(root, b.src)} exists`);
        assert.ok(path.posix.isAbsolute(b.dst), `${name}: bind target ${b.dst} is absolute`);
        assert.equal(b.mode, 'ro', `${name}: ${b.dst} bound read-only`);
      }
    }
    for (const name of FRR_NODES) {
      const n = node(name);
      assert.match(n.image!, FRR_IMAGE, `${name}: FRR 8.4, as the namespace lab`);
      assert.deepEqual(
        bindsOf(n).map((b) => [path.relative(dir, b.src), b.dst]),
        [
          [path.join(name, 'daemons'), '/etc/frr/daemons'],
          [path.join(name, 'frr.conf'), '/etc/frr/frr.conf'],
        ],
      );
    }
  });

  it("agents: docker/Dockerfile's image, reading agent.yaml where its CMD says, in the network namespace of their VTEP, created once it is healthy", () => {
    const lines = fs
      .readFileSync(path.join(root, 'docker', 'Dockerfile'), 'utf8')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim());
    const instr = (word: string) => lines.filter((l) => l.startsWith(`${word} `)).map((l) => l.slice(word.length + 1));
    assert.deepEqual(JSON.parse(instr('ENTRYPOINT').at(-1)!), ['node', 'dist/src/cli/evpn-mirror-agent.js'], 'the image runs the agent');
    assert.deepEqual(JSON.parse(instr('CMD').at(-1)!), ['--config', AGENT_CONFIG_PATH]);
    assert.ok(instr('VOLUME').includes(AGENT_STATE_DIR), `state volume ${AGENT_STATE_DIR}`);
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    assert.ok(readme.includes('docker build -f docker/Dockerfile -t evpn-mirror-agent .'), 'the README builds the image the topology uses');
    for (const no of VTEP_NOS) {
      const a = node(agentNode(no));
      const v = vtepNode(no);
      assert.equal(a.kind, 'linux');
      assert.equal(a.image, AGENT_IMAGE);
      assert.equal(a['network-mode'], `container:${v}`, `${agentNode(no)} shares ${v}'s network namespace`);
      assert.match(node(v).image!, FRR_IMAGE, `${v} is an FRR VTEP`);
      assert.equal(a.entrypoint, undefined, 'the image entrypoint (the agent) runs');
      assert.equal(a.cmd, undefined, "the image's CMD (--config) is kept");
      assert.equal(a.exec, undefined);
      assert.deepEqual(
        bindsOf(a).map((b) => [path.relative(dir, b.src), b.dst]),
        [[path.join(agentNode(no), 'agent.yaml'), AGENT_CONFIG_PATH]],
      );
      assert.deepEqual(a.stages?.create?.['wait-for'], [{ node: v, stage: 'healthy' }]);
      // The VTEP turns healthy once the agent's address and its host ports are in place.
      const hc = node(v).healthcheck;
      assert.ok(hc?.test?.[0] === 'CMD-SHELL' && hc.test.length === 2, `${v} has a CMD-SHELL healthcheck`);
      assert.ok(hc.test[1]!.includes(`inet ${agentIp(no)}/${UNDERLAY_PREFIX}`), `${v}'s healthcheck waits for ${agentIp(no)}`);
      const last = hostsOf(no).at(-1)!;
      assert.ok(hc.test[1]!.includes(` ${HOSTS[last].port} `), `${v}'s healthcheck waits for port ${HOSTS[last].port}`);
      for (const k of ['interval', 'timeout', 'retries', 'start-period'] as const) assert.ok(Number.isInteger(hc[k]) && hc[k]! > 0, `${v}: healthcheck ${k} in seconds`);
    }
  });

  it('ops: the agent image, idle, with evpn-mirrorctl on the PATH (an executable wrapper of the CLI the image ships) and the lab password', () => {
    const ops = node('ops');
    assert.equal(ops.image, AGENT_IMAGE);
    assert.equal(ops.entrypoint, 'sleep');
    assert.equal(ops.cmd, 'infinity');
    assert.deepEqual(ops.env, { EVPN_MIRROR_PASSWORD: NETCONF_PASSWORD });
    const [b, ...more] = bindsOf(ops);
    assert.equal(more.length, 0);
    assert.equal(b!.dst, '/usr/local/bin/evpn-mirrorctl');
    assert.ok((fs.statSync(b!.src).mode & 0o111) === 0o111, 'the wrapper is executable');
    const script = fs.readFileSync(b!.src, 'utf8');
    assert.match(script, /^#!\/bin\/sh\n/);
    const m = /^exec node (\/opt\/evpn-mirror\/(dist\/src\/cli\/evpn-mirrorctl\.js)) "\$@"$/m.exec(script);
    assert.ok(m, 'the wrapper execs the compiled CLI');
    const docker = fs.readFileSync(path.join(root, 'docker', 'Dockerfile'), 'utf8');
    assert.match(docker, /^WORKDIR \/opt\/evpn-mirror$/m);
    assert.match(docker, /^COPY --from=build \/src\/dist\/src \.\/dist\/src$/m);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin['evpn-mirrorctl'], m[2], 'the file the package installs as evpn-mirrorctl');
  });

  it("uses the namespace lab's addresses, bridges, VXLAN and host MACs (exec lines)", () => {
    const up = (dev: string, master: string) => [`ip link set ${dev} master ${master}`, `ip link set ${dev} up`];
    assert.deepEqual(node('ul').exec, ['ip link add ulbr type bridge', 'ip link set ulbr up', ...UNDERLAY_NODES.flatMap((n) => up(n, 'ulbr')), IPV6_OFF]);
    assert.deepEqual(node('rr').exec, [`ip addr add ${RR_IP}/${UNDERLAY_PREFIX} dev ul`, IPV6_OFF]);
    assert.deepEqual(node('ops').exec, [`ip addr add ${OPS_IP}/${UNDERLAY_PREFIX} dev ul`, 'sh -c "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6"']);
    for (const no of VTEP_NOS) {
      const ports = hostsOf(no).flatMap((h) => up(HOSTS[h].port, 'br1'));
      const monitor = hostsOf(no).includes(MONITOR) ? [`bridge link set dev ${HOSTS[MONITOR].port} flood off`] : [];
      assert.deepEqual(node(vtepNode(no)).exec, [
        `ip addr add ${vtepIp(no)}/${UNDERLAY_PREFIX} dev ul`,
        `ip addr add ${agentIp(no)}/${UNDERLAY_PREFIX} dev ul`,
        // Fabric.buildAll: addBridge(ns, 'br1', { ageingTime: 60_000 }), addVxlan(vx1, VNI, local, 4789, nolearning)
        'ip link add br1 type bridge ageing_time 60000',
        'ip link set br1 up',
        `ip link add vx1 type vxlan id ${TENANT_VNI} local ${vtepIp(no)} dstport 4789 nolearning`,
        ...up('vx1', 'br1'),
        ...ports,
        ...monitor,
        IPV6_OFF,
      ]);
    }
    assert.deepEqual(
      VTEP_NOS.flatMap(hostsOf).sort(),
      [...HOST_NAMES].sort(),
      'every host is on one VTEP',
    );
    for (const h of HOST_NAMES) {
      const s = HOSTS[h];
      assert.deepEqual(node(hostNode(h)).exec, [
        `ip link set ${HOST_IF} address ${s.mac}`,
        `ip addr add ${s.ipv4}/24 dev ${HOST_IF}`,
        `ip link set ${HOST_IF} up`,
        IPV6_OFF,
        ...HOST_NAMES.filter((o) => o !== h).map((o) => `ip neigh replace ${HOSTS[o].ipv4} lladdr ${HOSTS[o].mac} dev ${HOST_IF} nud permanent`),
      ]);
    }
  });
});

describe('containerlab: generated files (examples/containerlab/generate.ts)', () => {
  it("every agent.yaml passes the agent's parser and is the namespace lab's agent of its VTEP; the stored hash verifies the lab password", () => {
    assert.ok(verifyPassword(NETCONF_PASSWORD, LAB_PASSWORD_HASH), `the stored hash is ${NETCONF_PASSWORD}'s`);
    for (const no of VTEP_NOS) {
      const file = path.join(dir, agentNode(no), 'agent.yaml');
      const text = fs.readFileSync(file, 'utf8');
      const c = parseAgentConfig(text, file);
      assert.equal(c.routerId, agentIp(no));
      assert.equal(c.vtepIp, vtepIp(no));
      assert.equal(c.asn, ASN);
      assert.deepEqual(
        c.bgp.neighbors.map((n) => [n.address, n.localAddress]),
        [[RR_IP, agentIp(no)]],
      );
      assert.equal(c.monitoring.macMode, MAC_MODE);
      assert.equal(c.monitoring.mirrorVni, MIRROR_VNI);
      assert.equal(c.dataplane.driver, 'linux');
      assert.deepEqual(c.dataplane.bridges, { [TENANT_VNI]: 'br1' });
      assert.equal(c.dataplane.mirrorPort, MIRROR_PORT);
      assert.equal(c.netconf.address, agentIp(no));
      assert.equal(c.netconf.port, NETCONF_PORT);
      assert.deepEqual(
        c.netconf.users.map((u) => [u.name, u.role]),
        [[NETCONF_USER, 'read-write']],
      );
      assert.equal(c.netconf.users[0]!.passwordHash, LAB_PASSWORD_HASH);
      assert.equal(c.stateDir, AGENT_STATE_DIR);
      // Below its header, the file is the namespace lab's agent.yaml of this VTEP.
      assert.ok(text.endsWith(agentConfigYaml(no, { macMode: MAC_MODE, passwordHash: LAB_PASSWORD_HASH, stateDir: AGENT_STATE_DIR })));
    }
  });

  it("frr.conf is the namespace lab's bgpd.conf (rrConfig, leafConfig) under a comment header; daemons start zebra and bgpd", () => {
    const body = (name: string) => {
      const text = fs.readFileSync(path.join(dir, name, 'frr.conf'), 'utf8');
      const lines = text.split('\n');
      const header = lines.findIndex((l) => !l.startsWith('! '));
      return lines.slice(header).join('\n');
    };
    assert.equal(body('rr'), rrConfig(MAC_MODE));
    for (const no of VTEP_NOS) assert.equal(body(vtepNode(no)), leafConfig(no));
    for (const name of FRR_NODES) {
      const daemons = fs.readFileSync(path.join(dir, name, 'daemons'), 'utf8');
      const on = daemons.split('\n').filter((l) => /^[a-z0-9]+d=yes$/.test(l));
      assert.deepEqual(on, ['bgpd=yes'], `${name}: bgpd (zebra is always started)`);
      assert.match(daemons, /^zebra_options=".*-s 90000000.*"$/m);
      assert.match(daemons, /^vtysh_enable=yes$/m);
    }
  });

  it('the committed files are what the generators produce now, byte for byte (drift fails), and nothing else is there', () => {
    assert.equal(TOPOLOGY_DIR, dir);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clab-gen-'));
    try {
      const written = writeGenerated(tmp);
      assert.deepEqual(written, [...generatedFiles().keys()]);
      for (const rel of written) {
        const want = fs.readFileSync(path.join(tmp, rel));
        const got = fs.readFileSync(path.join(dir, rel));
        assert.ok(got.equals(want), `${rel} differs from what generate.ts writes: run node dist/examples/containerlab/generate.js`);
      }
      assert.deepEqual(staleFiles(dir), []);
      // Every file of examples/containerlab is generated, or one of the hand-written ones.
      const handWritten = ['README.md', TOPOLOGY_FILE, 'generate.ts', 'ops/evpn-mirrorctl'];
      const present: string[] = [];
      const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          // What a deploy leaves in a checkout: containerlab's lab directory and topology backup.
          if (d === dir && (e.name === `clab-${LAB_NAME}` || e.name.startsWith('.'))) continue;
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else present.push(path.relative(dir, p).split(path.sep).join('/'));
        }
      };
      walk(dir);
      assert.deepEqual(present.sort(), [...handWritten, ...written].sort());
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('generate.js --check passes on the committed files and fails (exit 1) on a changed one', () => {
    const ok = spawnSync(process.execPath, [GENERATE_JS, '--check'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clab-gen-'));
    try {
      const w = spawnSync(process.execPath, [GENERATE_JS, '--out', tmp], { encoding: 'utf8' });
      assert.equal(w.status, 0, w.stderr);
      fs.appendFileSync(path.join(tmp, 'rr', 'frr.conf'), 'neighbor 192.0.2.99 remote-as 65000\n');
      const bad = spawnSync(process.execPath, [GENERATE_JS, '--check', '--out', tmp], { encoding: 'utf8' });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /stale: .*rr[/\\]frr\.conf/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('containerlab: README (examples/containerlab/README.md)', () => {
  const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');

  it('builds the image, deploys and destroys the topology, moves the hosts as the namespace lab does', () => {
    for (const s of [
      'docker build -f docker/Dockerfile -t evpn-mirror-agent .',
      `containerlab deploy -t examples/containerlab/${TOPOLOGY_FILE}`,
      `containerlab destroy -t examples/containerlab/${TOPOLOGY_FILE}`,
      `docker exec -it clab-${LAB_NAME}-${hostNode(MONITOR)} tcpdump -i ${HOST_IF}`,
      `ip -n clab-${LAB_NAME}-v101 link set ${HOSTS.VM210.port} netns clab-${LAB_NAME}-v102`,
      `ip -n clab-${LAB_NAME}-v104 link set ${HOSTS.SERV21.port} netns clab-${LAB_NAME}-v103`,
      `docker exec clab-${LAB_NAME}-v103 bridge link set dev ${HOSTS.SERV21.port} flood off`,
      `docker exec clab-${LAB_NAME}-vm210 arping -U -c 1 -I ${HOST_IF} ${HOSTS.VM210.ipv4}`,
      `docker exec clab-${LAB_NAME}-serv21 arping -U -c 1 -I ${HOST_IF} ${HOSTS.SERV21.ipv4}`,
    ])
      assert.ok(readme.includes(s), `README: ${s}`);
  });

  it("pushes the worked example's session (monitor VM210, copies to SERV21 HOST-ID 1) to VTEP101's agent", () => {
    const s = HOSTS.SERV21;
    const ctl = `docker exec clab-${LAB_NAME}-ops evpn-mirrorctl --host ${agentIp(101)} --user ${NETCONF_USER}`;
    assert.ok(readme.includes(`${ctl} server add SERV21 --mac ${s.mac} --host-id ${s.hostId} --ipv4 ${s.ipv4}\n`));
    assert.ok(readme.includes(`${ctl} session add ${SESSION_NAME} --vni ${TENANT_VNI} --host-mac ${HOSTS.VM210.mac} --server SERV21\n`));
    assert.ok(readme.includes(`${ctl} session delete ${SESSION_NAME}\n`));
  });

  it('every evpn-mirrorctl command it shows is accepted by the real CLI (only the connection fails here)', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    const cmds = readme
      .split('\n')
      .map((l) => /docker exec clab-evpn-mirror-ops evpn-mirrorctl (.+)$/.exec(l.trim())?.[1])
      .filter((c): c is string => c !== undefined);
    assert.ok(cmds.length >= 8, `${cmds.length} commands`);
    for (const c of cmds) {
      const argv = c.split(/\s+/);
      const h = argv.indexOf('--host');
      assert.ok(h >= 0, `${c}: names the agent with --host`);
      argv.splice(h, 2, '--host', '127.0.0.1', '--port', String(closedPort), '--timeout', '2');
      let err = '';
      const code = await mirrorctl(argv, { out: () => undefined, err: (s) => (err += s), env: { EVPN_MIRROR_PASSWORD: NETCONF_PASSWORD } });
      assert.equal(code, 2, `${c}: ${err}`);
      assert.match(err, new RegExp(`^evpn-mirrorctl: cannot connect to 127\\.0\\.0\\.1:${closedPort}: `), `${c}: parsed, then the connection failed: ${err}`);
    }
  });

  it("its table of entries is the worked example's (workedExample() of src/lab/fabric.ts)", () => {
    const rows = readme.split('\n').filter((l) => /^\| VTEP1\d\d \|/.test(l));
    const header = readme.split('\n').find((l) => l.startsWith('| VTEP | '));
    assert.ok(header, 'the table has a header');
    const stages = [...header.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1] as Stage);
    assert.deepEqual(stages, ['initial', 'vm210-moved', 'serv21-moved']);
    assert.equal(rows.length, VTEP_NOS.length);
    for (const row of rows) {
      const cells = row.split('|').slice(1, -1).map((c) => c.trim());
      const no = Number(cells[0]!.slice('VTEP'.length)) as VtepNo;
      stages.forEach((st, i) => assert.deepEqual(cells[i + 1]!.split('<br>').sort(), workedExample(st)[no], `VTEP${no} ${st}`));
    }
  });

  it('the top-level README points to it from its Lab section', () => {
    const top = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const lab = top.slice(top.indexOf('\n## Lab\n'), top.indexOf('\n## ', top.indexOf('\n## Lab\n') + 1));
    assert.match(lab, /\n### Containerlab\n/);
    assert.ok(lab.includes('examples/containerlab/README.md'));
  });
});
