// The worked example of the monitoring method (shared/docs/method.md) as a lab fabric in
// network namespaces, with real FRR and real evpn-mirror agents: what the demo
// (examples/lab.ts) and the end-to-end tests (test/interop/e2e-*.test.ts) build.
//
//   ul (bridge ulbr, the underlay L2 segment 192.0.2.0/24)
//    |- rr     192.0.2.1    FRR zebra + bgpd, EVPN route reflector
//    |- ops    192.0.2.250  the operator's station: NETCONF clients (ncclient, evpn-mirrorctl)
//    |- v101..v104          VTEPs: underlay address 192.0.2.10x (FRR and the tenant VXLAN) and
//                           a second address 192.0.2.20x (the agent's BGP router id, next hop
//                           of its monitor routes and its NETCONF address: FRR refuses a next
//                           hop that is its own address, method.md "Deploying alongside FRR")
//   each VTEP: bridge br1 + vx1 (VNI 1, port 4789), access ports named after their host,
//   evpn-mirror agent (dist/src/cli/evpn-mirror-agent.js) as a process in the namespace.
//   hosts (IPv6 off, 10.1.0.0/24 on eth0): VM210@101, VM220@102, VM230@103, VM240@104,
//   SERV21@104 (the monitor server, HOST-ID 1; its port has `flood off` so that it only gets
//   copies and its own traffic).
//
// MAC modes:
// - 'alongside-frr': FRR on each leaf (advertise-all-vni, vx1 `nolearning`); the agents read
//   tenant MAC locations from the FRR leaves' Type-2 routes and from their bridge FDB.
// - 'standalone': no FRR on the leaves; the tenant vxlan learns (`learning`) and floods to
//   static head-end replication lists; the agents advertise their local MACs (Type-2 with
//   MAC Mobility) for the monitoring.
//
// NETCONF <get> state is read through one helper process in the ops namespace
// (src/lab/netconf-helper.ts, on the project's NetconfClient); ncclient and evpn-mirrorctl run there
// too (opsExec). Everything is removed by destroy(), on failure and on Ctrl-C (Lab).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { run, RunOptions, RunResult, sleep, waitUntil } from './exec';
import { FrrInstance, rrBgpdConf, startFrr, vtepBgpdConf } from './frr';
import { Lab, LabProcess, Netns } from './netns';
import { HelperReply, NetconfHelperClient } from './netconf-helper';
import { utils as sshUtils } from 'ssh2';
import { EntryRow, LocationRow, MacRow, PeerRow, StateSessionRow, parseEntries, parseMacs, parsePeers, parseStateSessions } from '../cli/evpn-mirrorctl';
import { hashPassword } from '../netconf/users';
import type { XmlElement } from '../netconf/xml';

export type MacMode = 'alongside-frr' | 'standalone';
export type VtepNo = 101 | 102 | 103 | 104;
export const VTEP_NOS: readonly VtepNo[] = [101, 102, 103, 104];

export const ASN = 65000;
export const RR_IP = '192.0.2.1';
export const OPS_IP = '192.0.2.250';
export const UNDERLAY_PREFIX = 24;
export const vtepIp = (no: VtepNo): string => `192.0.2.${no}`;
export const agentIp = (no: VtepNo): string => `192.0.2.${no + 100}`;
export const NETCONF_PORT = 830;
export const NETCONF_USER = 'admin';
export const NETCONF_PASSWORD = 'evpn-mirror-lab';
export const EM_NS = 'urn:evpn-mirror:yang:evpn-mirror';
export const MIRROR_VNI = 16_000_000;
export const MIRROR_PORT = 4792;
export const TENANT_VNI = 1;
/** UDP port of the lab's test datagrams. */
export const UDP_PORT = 5000;

export interface HostSpec {
  mac: string;
  ipv4: string;
  vtep: VtepNo;
  /** Name of its access port on the VTEP (the VTEP end of its veth). */
  port: string;
  hostId?: number;
}

export const HOSTS = {
  VM210: { mac: '02:00:00:00:02:10', ipv4: '10.1.0.210', vtep: 101, port: 'vm210' },
  VM220: { mac: '02:00:00:00:02:20', ipv4: '10.1.0.220', vtep: 102, port: 'vm220' },
  VM230: { mac: '02:00:00:00:02:30', ipv4: '10.1.0.230', vtep: 103, port: 'vm230' },
  VM240: { mac: '02:00:00:00:02:40', ipv4: '10.1.0.240', vtep: 104, port: 'vm240' },
  SERV21: { mac: '02:00:00:00:00:21', ipv4: '10.1.0.21', vtep: 104, port: 'serv21', hostId: 1 },
} as const satisfies Record<string, HostSpec>;
export type HostName = keyof typeof HOSTS;
export const HOST_NAMES = Object.keys(HOSTS) as HostName[];
export const MONITOR: HostName = 'SERV21';

/** The NETCONF config of the worked example: monitor VM210, copies to SERV21 (HOST-ID 1). */
export const SESSION_NAME = 'watch-vm210';
export function sessionConfigXml(name = SESSION_NAME, host: HostName = 'VM210'): string {
  const s = HOSTS.SERV21;
  return (
    `<evpn-mirror xmlns="${EM_NS}">` +
    `<monitor-server><name>SERV21</name><mac>${s.mac}</mac><ipv4>${s.ipv4}</ipv4><host-id>${s.hostId}</host-id></monitor-server>` +
    `<session><name>${name}</name><vni>${TENANT_VNI}</vni><monitored-host><mac>${HOSTS[host].mac}</mac></monitored-host>` +
    `<monitor-server>SERV21</monitor-server></session></evpn-mirror>`
  );
}
export function deleteSessionXml(name = SESSION_NAME): string {
  return (
    `<evpn-mirror xmlns="${EM_NS}" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">` +
    `<session nc:operation="delete"><name>${name}</name></session></evpn-mirror>`
  );
}

export type Stage = 'initial' | 'vm210-moved' | 'serv21-moved';

/**
 * The worked example's table (method.md), entry by entry, with the required improvement (the
 * VTEP holding H also matches dst H on its other access ports), as entry labels (entryLabel()).
 */
export function workedExample(stage: Stage): Record<VtepNo, string[]> {
  const to = (v: VtepNo) => `tunnel VTEP${v}`;
  const local = `port ${HOSTS.SERV21.port}`;
  const third = `3rd HOST-ID 1 -> ${local}`;
  const hAt = stage === 'initial' ? 101 : 102;
  const sAt: VtepNo = stage === 'serv21-moved' ? 103 : 104;
  const out = {} as Record<VtepNo, string[]>;
  for (const v of VTEP_NOS) {
    const act = v === sAt ? local : to(sAt);
    const e: string[] = [];
    if (v === hAt) e.push(`1st src VM210 -> ${act}`, `2nd dst VM210 except ${HOSTS.VM210.port} -> ${act}`);
    else e.push(`2nd dst VM210 -> ${act}`);
    if (v === sAt) e.push(third);
    out[v] = e.sort();
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// NETCONF state as the agent reports it (yang/evpn-mirror.yang, container state)

// The row types and parsers of evpn-mirrorctl: one reading of the state XML for the CLI and the lab.
export type StateLocation = LocationRow;
export type StateSession = StateSessionRow;
export type StateEntry = EntryRow;
export type StateMac = MacRow;
export interface AgentStateView {
  sessions: StateSession[];
  entries: StateEntry[];
  peers: PeerRow[];
  macs: StateMac[];
}

/** Parses the <data> of a <get> into the state view. */
export function parseState(data: XmlElement): AgentStateView {
  return { sessions: parseStateSessions(data), entries: parseEntries(data), peers: parsePeers(data), macs: parseMacs(data) };
}

/** Host name of a MAC of the lab (or the MAC itself). */
export function hostOfMac(mac: string): string {
  const m = mac.toLowerCase();
  return HOST_NAMES.find((h) => HOSTS[h].mac === m) ?? mac;
}

/** VTEPxxx for a VTEP address of the lab (or the address itself). */
export function vtepName(ip: string): string {
  const no = VTEP_NOS.find((n) => vtepIp(n) === ip);
  return no === undefined ? ip : `VTEP${no}`;
}

/**
 * A short, canonical label of an installed entry, in the words of the method's table:
 * "1st src VM210 -> tunnel VTEP104", "2nd dst VM210 except vm210 -> port serv21",
 * "3rd HOST-ID 1 -> port serv21". Unparseable entries keep their raw text.
 */
export function entryLabel(e: Pick<StateEntry, 'kind' | 'match' | 'action'>): string {
  const act = (a: string): string => {
    const t = /^tunnel (\S+) hostId=(\d+)/.exec(a);
    if (t) return `tunnel ${vtepName(t[1]!)}`;
    const p = /^port (\S+)/.exec(a);
    return p ? `port ${p[1]}` : a;
  };
  if (e.kind === 'third') {
    const m = /hostId=(\d+)/.exec(e.match);
    return m ? `3rd HOST-ID ${m[1]} -> ${act(e.action)}` : `${e.match} -> ${e.action}`;
  }
  const m = /^(first|second) session=\S+ vni=\d+ (src|dst)=([0-9a-f:]+)(?:,\S+)?(?: except=(\S+))?$/.exec(e.match);
  if (!m) return `${e.match} -> ${e.action}`;
  return `${m[1] === 'first' ? '1st' : '2nd'} ${m[2]} ${hostOfMac(m[3]!)}${m[4] ? ` except ${m[4]}` : ''} -> ${act(e.action)}`;
}

// ---------------------------------------------------------------------------------------
// Captures and gap analysis of numbered streams

export interface Seen {
  /** Capture time (seconds, epoch). */
  t: number;
  src: string;
  dst: string;
  /** icmpreq:<id>:<seq>, icmprep:<id>:<seq> or udp:<payload>. */
  kind: string;
}

export interface StreamGap {
  /** Datagrams sent. */
  sent: number;
  /** Datagrams never seen. */
  missing: number;
  /** Datagrams seen more than once. */
  duplicated: number;
  /** The longest run of consecutive missing sequence numbers. */
  longestRun: number;
  /** longestRun × interval (ms). */
  gapMs: number;
  /** First and last missing sequence numbers of the longest run. */
  run?: [number, number];
}

/** Gap analysis of one numbered UDP stream (payload `<tag>-<seq>`) in a capture. */
export function streamGap(seen: readonly Seen[], tag: string, sent: number, intervalMs: number): StreamGap {
  const count = new Map<number, number>();
  const prefix = `udp:${tag}-`;
  for (const s of seen) if (s.kind.startsWith(prefix)) {
    const n = Number(s.kind.slice(prefix.length));
    count.set(n, (count.get(n) ?? 0) + 1);
  }
  let missing = 0;
  let longest = 0;
  let cur = 0;
  let runEnd = 0;
  for (let i = 1; i <= sent; i++) {
    if (!count.has(i)) {
      missing++;
      cur++;
      if (cur > longest) {
        longest = cur;
        runEnd = i;
      }
    } else cur = 0;
  }
  const g: StreamGap = { sent, missing, duplicated: [...count.values()].filter((c) => c > 1).length, longestRun: longest, gapMs: longest * intervalMs };
  if (longest > 0) g.run = [runEnd - longest + 1, runEnd];
  return g;
}

export interface Capture {
  readonly file: string;
  readonly proc: LabProcess;
  /** Stops tcpdump (after a short drain) and resolves once its file is complete. */
  stop(): Promise<void>;
}

export interface CaptureOptions {
  /** pcap file name in the lab dir (default: <host>-<n>.pcap). */
  file?: string;
  /** tcpdump filter (default: icmp or udp). */
  filter?: string[];
  /** Called with each line tcpdump prints (adds tcpdump's --print). */
  print?: (line: string) => void;
}

// ---------------------------------------------------------------------------------------
// Scripts run in host namespaces

const GARP_PY = `
import socket, struct, sys
ifn, mac, ip = sys.argv[1:4]
m = bytes.fromhex(mac.replace(':', '')); a = socket.inet_aton(ip)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((ifn, 0))
s.send(b'\\xff' * 6 + m + b'\\x08\\x06' + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 2) + m + a + b'\\xff' * 6 + a)
`;

/** A gratuitous ARP (reply form) for `ipv4` from `mac`, sent on `ifname` inside `ns`. */
export async function sendGarp(ns: Netns, ifname: string, mac: string, ipv4: string): Promise<void> {
  await ns.exec(['/usr/bin/python3', '-c', GARP_PY, ifname, mac, ipv4]);
}

/** Numbered datagrams `<tag>-<seq>` every intervalMs (drift-free schedule), then exit. */
const UDP_STREAM_JS = `
const d = require('node:dgram').createSocket('udp4');
const [addr, port, tag, n, ivl] = process.argv.slice(1);
const count = Number(n), interval = Number(ivl);
const t0 = Date.now();
let i = 0;
function tick() {
  i++;
  d.send(tag + '-' + i, Number(port), addr);
  if (i >= count) { setTimeout(() => process.exit(0), 50); return; }
  setTimeout(tick, Math.max(0, t0 + i * interval - Date.now()));
}
process.stdout.write('started\\n');
tick();
`;

// ---------------------------------------------------------------------------------------
// The fabric

export interface VtepNode {
  no: VtepNo;
  ns: Netns;
  vtepIp: string;
  agentIp: string;
  frr: FrrInstance | undefined;
  agent: LabProcess | undefined;
  configFile: string;
  stateDir: string;
  logFile: string;
}

export interface HostNode {
  name: HostName;
  ns: Netns;
  spec: HostSpec;
  /** Where its port is now. */
  vtep: VtepNo;
}

export interface FabricOptions {
  macMode?: MacMode;
  /** Lab name (namespace and temp dir names); default 'fabric'. */
  name?: string;
  /** Progress lines while building. */
  progress?: (line: string) => void;
  /** Agent log level; default info (env EM_AGENT_LOG_LEVEL overrides). */
  agentLogLevel?: string;
  /** Keep the lab's temp dir (logs, configs, captures) after destroy(). */
  keep?: boolean;
}

/** The agent configuration file (agent.yaml) of a VTEP of the lab. */
export function agentConfigYaml(no: VtepNo, o: { macMode: MacMode; passwordHash: string; stateDir: string; logLevel?: string }): string {
  return [
    `# evpn-mirror agent of VTEP${no} (generated by src/lab/fabric.ts)`,
    `routerId: ${agentIp(no)}       # an address of its own: FRR refuses a next hop that is its own address`,
    `asn: ${ASN}`,
    `vtepIp: ${vtepIp(no)}         # the VTEP's tunnel address (FRR's VXLAN source)`,
    'bgp:',
    '  neighbors:',
    `    - address: ${RR_IP}       # the FRR route reflector`,
    `      localAddress: ${agentIp(no)}`,
    '      holdTime: 9',
    '      connectRetryTime: 1',
    'monitoring:',
    `  macMode: ${o.macMode}`,
    `  mirrorVni: ${MIRROR_VNI}`,
    'dataplane:',
    '  driver: linux',
    '  bridges:',
    `    ${TENANT_VNI}: br1`,
    `  mirrorPort: ${MIRROR_PORT}`,
    '  healIntervalMs: 5000',
    'netconf:',
    `  address: ${agentIp(no)}`,
    `  port: ${NETCONF_PORT}`,
    '  users:',
    `    - name: ${NETCONF_USER}`,
    '      role: read-write',
    `      passwordHash: "${o.passwordHash}"`,
    `stateDir: ${o.stateDir}`,
    'log:',
    `  level: ${o.logLevel ?? 'info'}`,
    '',
  ].join('\n');
}

/** bgpd.conf of the lab's route reflector: FRR leaves (alongside-frr) and agents as clients. */
export function rrConfig(macMode: MacMode): string {
  const agents = VTEP_NOS.map(agentIp);
  const leaves = macMode === 'alongside-frr' ? VTEP_NOS.map(vtepIp) : [];
  return rrBgpdConf({
    asn: ASN,
    routerId: RR_IP,
    hostname: 'rr',
    clients: [...leaves, ...agents],
    timers: { keepalive: 3, hold: 9 },
    // The agents' addresses sit in namespaces where the leaf's own bgpd listens on port
    // 179: the RR must not connect to them (it would reach that bgpd); they connect to it.
    extra: agents.map((a) => `neighbor ${a} passive`),
  });
}

/** bgpd.conf of a leaf's FRR (alongside-frr mode). */
export function leafConfig(no: VtepNo): string {
  return vtepBgpdConf({ asn: ASN, routerId: vtepIp(no), hostname: `leaf${no}`, neighbors: [RR_IP], timers: { keepalive: 3, hold: 9 } });
}

export class Fabric {
  readonly lab: Lab;
  readonly macMode: MacMode;
  readonly ul: Netns;
  readonly ops: Netns;
  readonly rrNs: Netns;
  rr!: FrrInstance;
  readonly vteps = new Map<VtepNo, VtepNode>();
  readonly hosts = new Map<HostName, HostNode>();
  private readonly progress: (line: string) => void;
  private readonly agentLogLevel: string;
  private helper: NetconfHelperClient | undefined;
  private captureSeq = 0;
  private passwordHash: string | undefined;

  private constructor(lab: Lab, ul: Netns, ops: Netns, rrNs: Netns, opts: FabricOptions) {
    this.lab = lab;
    this.ul = ul;
    this.ops = ops;
    this.rrNs = rrNs;
    this.macMode = opts.macMode ?? 'alongside-frr';
    this.progress = opts.progress ?? (() => undefined);
    this.agentLogLevel = process.env['EM_AGENT_LOG_LEVEL'] ?? opts.agentLogLevel ?? 'info';
  }

  /** Builds the whole fabric: namespaces, FRR, agents, hosts; waits until BGP is up and every agent knows every host. */
  static async build(opts: FabricOptions = {}): Promise<Fabric> {
    const lab = new Lab(opts.name ?? 'fabric', opts.keep === undefined ? {} : { keep: opts.keep });
    try {
      const ul = await lab.addNamespace('ul');
      const ops = await lab.addNamespace('ops');
      const rrNs = await lab.addNamespace('rr');
      const f = new Fabric(lab, ul, ops, rrNs, opts);
      await f.buildAll();
      return f;
    } catch (e) {
      await lab.destroy().catch(() => undefined);
      throw e;
    }
  }

  private async buildAll(): Promise<void> {
    const lab = this.lab;
    const say = this.progress;
    say(`underlay: bridge ulbr in namespace ${this.ul.name}; rr ${RR_IP}, ops ${OPS_IP}`);
    await lab.addBridge(this.ul, 'ulbr');
    const toUl = async (ns: Netns, cidrs: string[], port: string) => {
      const l = await lab.link(ns, cidrs[0]!, this.ul, null, { aName: 'ul', bName: port });
      for (const c of cidrs.slice(1)) await lab.addAddress(ns, 'ul', c);
      await lab.attach(this.ul, l.b, 'ulbr');
    };
    await toUl(this.rrNs, [`${RR_IP}/${UNDERLAY_PREFIX}`], 'rr');
    await toUl(this.ops, [`${OPS_IP}/${UNDERLAY_PREFIX}`], 'ops');

    for (const no of VTEP_NOS) {
      const ns = await lab.addNamespace(`v${no}`);
      await toUl(ns, [`${vtepIp(no)}/${UNDERLAY_PREFIX}`, `${agentIp(no)}/${UNDERLAY_PREFIX}`], `v${no}`);
      // Long FDB ageing (10 min): hosts that talk once stay known for the whole run.
      await lab.addBridge(ns, 'br1', { ageingTime: 60_000 });
      const standalone = this.macMode === 'standalone';
      await lab.addVxlan(ns, { name: 'vx1', vni: TENANT_VNI, local: vtepIp(no), dstport: 4789, learning: standalone });
      await lab.attach(ns, 'vx1', 'br1');
      if (standalone)
        for (const other of VTEP_NOS) if (other !== no) await ns.exec(['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx1', 'dst', vtepIp(other)]);
      const dir = lab.file(`agent-v${no}`);
      fs.mkdirSync(dir, { recursive: true });
      this.vteps.set(no, {
        no,
        ns,
        vtepIp: vtepIp(no),
        agentIp: agentIp(no),
        frr: undefined,
        agent: undefined,
        configFile: path.join(dir, 'agent.yaml'),
        stateDir: path.join(dir, 'state'),
        logFile: lab.file(`v${no}-agent.log`),
      });
      say(`VTEP${no}: namespace ${ns.name}, underlay ${vtepIp(no)}, agent ${agentIp(no)}, br1 + vx1 (VNI ${TENANT_VNI}${standalone ? ', learning, static flood list' : ', nolearning'})`);
    }

    for (const name of HOST_NAMES) {
      const spec: HostSpec = HOSTS[name];
      const ns = await lab.addNamespace(name.toLowerCase());
      const node: HostNode = { name, ns, spec, vtep: spec.vtep };
      this.hosts.set(name, node);
      const v = this.vtep(spec.vtep).ns;
      await lab.link(ns, `${spec.ipv4}/24`, v, null, { aName: 'eth0', bName: spec.port, aMac: spec.mac });
      await lab.attach(v, spec.port, 'br1');
      if (name === MONITOR) await v.exec(['bridge', 'link', 'set', 'dev', spec.port, 'flood', 'off']);
    }
    // Permanent neighbours: a host whose link flaps during a move keeps its ARP entries (the
    // kernel flushes learned ones on carrier down), so the gaps measured are the fabric's.
    for (const name of HOST_NAMES)
      for (const other of HOST_NAMES)
        if (other !== name) await this.host(name).ns.ip(['neigh', 'replace', HOSTS[other].ipv4, 'lladdr', HOSTS[other].mac, 'dev', 'eth0', 'nud', 'permanent']);
    say(`hosts: ${HOST_NAMES.map((h) => `${h} ${HOSTS[h].ipv4} on VTEP${HOSTS[h].vtep} port ${HOSTS[h].port}`).join(', ')}`);

    // FRR: the route reflector, and the leaves in alongside-frr mode (all started at once).
    const agents = VTEP_NOS.map(agentIp);
    const leaves = this.macMode === 'alongside-frr' ? VTEP_NOS.map(vtepIp) : [];
    const rrConf = rrConfig(this.macMode);
    const starts: Promise<unknown>[] = [
      startFrr(lab, this.rrNs, { name: 'rr', bgpdConf: rrConf }).then((rr) => {
        this.rr = rr;
      }),
    ];
    if (this.macMode === 'alongside-frr')
      for (const no of VTEP_NOS) {
        const node = this.vtep(no);
        starts.push(
          startFrr(lab, node.ns, {
            name: `leaf${no}`,
            bgpdConf: leafConfig(no),
          }).then((frr) => {
            node.frr = frr;
          }),
        );
      }
    await Promise.all(starts);
    say(`FRR 8.4: route reflector${this.macMode === 'alongside-frr' ? ' + 4 leaves (zebra + bgpd, advertise-all-vni)' : ' only (standalone mode: no FRR on the leaves)'} started`);

    this.passwordHash = hashPassword(NETCONF_PASSWORD);
    for (const no of VTEP_NOS) {
      this.writeAgentConfig(no);
      this.provisionHostKey(no);
    }
    for (const no of VTEP_NOS) this.startAgent(no);
    await this.waitAgentsUp();
    say(`evpn-mirror agents up (macMode ${this.macMode}): ${VTEP_NOS.map((n) => `VTEP${n} pid ${this.vtep(n).agent!.pid}`).join(', ')}`);
    await this.waitBgpEstablished();
    say(`BGP: the route reflector has ${leaves.length + agents.length} clients Established (${leaves.length ? '4 FRR leaves + ' : ''}4 agents)`);
    await this.introduceHosts();
    say('every agent knows where every host is (NETCONF <get> state/mac)');
  }

  vtep(no: VtepNo): VtepNode {
    const v = this.vteps.get(no);
    if (!v) throw new Error(`no VTEP${no}`);
    return v;
  }

  host(name: HostName): HostNode {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  // ----- agents

  private writeAgentConfig(no: VtepNo): void {
    const v = this.vtep(no);
    const yaml = agentConfigYaml(no, { macMode: this.macMode, passwordHash: this.passwordHash!, stateDir: v.stateDir, logLevel: this.agentLogLevel });
    fs.writeFileSync(v.configFile, yaml, { mode: 0o600 });
  }

  /**
   * Provisions the agent's NETCONF SSH host key (state/netconf/ssh_host_ed25519_key) unless it
   * exists. The agent would generate one itself, but ssh2 1.17's generateKeyPair('ed25519')
   * makes an unparseable key about once in 256 (it strips leading zero bytes of the public key:
   * mscdex/ssh2 issues 1390 and 1513), and the agent then refuses to start. Here a key is only
   * written once ssh2 parses it back.
   */
  private provisionHostKey(no: VtepNo): void {
    const file = path.join(this.vtep(no).stateDir, 'netconf', 'ssh_host_ed25519_key');
    if (fs.existsSync(file)) return;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    for (let i = 0; i < 20; i++) {
      const kp = sshUtils.generateKeyPairSync('ed25519', { comment: `lab VTEP${no} netconf host key` });
      const priv = sshUtils.parseKey(kp.private);
      const pub = sshUtils.parseKey(kp.public);
      if (priv instanceof Error || pub instanceof Error) continue;
      fs.writeFileSync(file, kp.private, { mode: 0o600 });
      return;
    }
    throw new Error('could not generate a parseable ed25519 host key');
  }

  /** Path of the compiled agent daemon. */
  static agentScript(): string {
    return path.join(__dirname, '..', 'cli', 'evpn-mirror-agent.js');
  }

  /** Starts (or restarts) the agent of a VTEP as a process inside its namespace. */
  startAgent(no: VtepNo): LabProcess {
    const v = this.vtep(no);
    if (v.agent?.running) throw new Error(`the agent of VTEP${no} is running (pid ${v.agent.pid})`);
    fs.appendFileSync(v.logFile, `--- start ${new Date().toISOString()} ---\n`);
    v.agent = v.ns.spawn([process.execPath, '--enable-source-maps', Fabric.agentScript(), '--config', v.configFile], { name: 'agent', log: v.logFile });
    return v.agent;
  }

  /** Sends a signal to an agent (default SIGKILL, as kill -9) and waits for it to exit. */
  async killAgent(no: VtepNo, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const a = this.vtep(no).agent;
    if (!a?.running) return;
    a.signal(signal);
    await a.exited;
  }

  /** The lines this agent run has logged (since its last start). */
  agentLog(no: VtepNo): string {
    const text = fs.existsSync(this.vtep(no).logFile) ? fs.readFileSync(this.vtep(no).logFile, 'utf8') : '';
    const i = text.lastIndexOf('--- start ');
    return i < 0 ? text : text.slice(i);
  }

  /** Waits until the agents (default: all) logged `ready`; fails with the log tail if one exited. */
  async waitAgentsUp(nos: readonly VtepNo[] = VTEP_NOS, timeoutMs = 30_000): Promise<void> {
    await Promise.all(
      nos.map((no) =>
        waitUntil(
          () => {
            const a = this.vtep(no).agent;
            if (!a) throw new Error('not started');
            if (!a.running) throw new Error(`the agent of VTEP${no} exited (${JSON.stringify(a.exitStatus)}):\n${this.agentLog(no).slice(-3000)}`);
            return / info ready /.test(this.agentLog(no));
          },
          { timeoutMs, intervalMs: 100, what: `the agent of VTEP${no} to be ready` },
        ).catch((e: Error) => {
          throw new Error(`${e.message}\n--- agent log ---\n${this.agentLog(no).slice(-3000)}`);
        }),
      ),
    );
  }

  /** Waits until the RR has every client Established (and every agent sees its RR session Established). */
  async waitBgpEstablished(timeoutMs = 30_000): Promise<void> {
    const want = [...(this.macMode === 'alongside-frr' ? VTEP_NOS.map(vtepIp) : []), ...VTEP_NOS.map(agentIp)];
    await this.rr.waitFor(
      async (rr) => {
        const s = await rr.evpnSummary();
        return want.every((a) => s.peers?.[a]?.state === 'Established');
      },
      timeoutMs,
      `clients ${want.join(', ')} Established`,
    );
    await this.waitState('every agent Established with the RR', (st) => st.peers.length > 0 && st.peers.every((p) => p.state === 'Established'), timeoutMs);
  }

  /** Each host sends a gratuitous ARP; waits until every agent knows every host's MAC. */
  private async introduceHosts(timeoutMs = 30_000): Promise<void> {
    for (const h of HOST_NAMES) await this.garp(h);
    const macs = HOST_NAMES.map((h) => HOSTS[h].mac);
    const deadline = Date.now() + timeoutMs;
    let again = Date.now() + 3000;
    for (;;) {
      const states = await Promise.all(VTEP_NOS.map((no) => this.state(no, '<mac/>').catch(() => undefined)));
      if (states.every((st) => st && macs.every((m) => st.macs.some((x) => x.mac === m && x.location.kind !== 'unknown')))) return;
      if (Date.now() > deadline) {
        const have = states.map((st, i) => `VTEP${VTEP_NOS[i]}: ${st ? st.macs.map((m) => `${hostOfMac(m.mac)}@${m.location.kind === 'local' ? 'local' : vtepName(m.location.vtep ?? '?')}`).join(' ') : 'no answer'}`);
        throw new Error(`timed out waiting for every agent to know every host:\n${have.join('\n')}`);
      }
      if (Date.now() > again) {
        // FRR only advertises what the bridge learned after the VNI came up: say it again.
        for (const h of HOST_NAMES) await this.garp(h);
        again = Date.now() + 3000;
      }
      await sleep(200);
    }
  }

  // ----- NETCONF

  /** Where a NETCONF client in the ops namespace reaches the agent of a VTEP. */
  netconfTarget(no: VtepNo): { host: string; port: number; user: string; password: string } {
    return { host: agentIp(no), port: NETCONF_PORT, user: NETCONF_USER, password: NETCONF_PASSWORD };
  }

  private helperCall(req: Parameters<NetconfHelperClient['call']>[0], timeoutMs = 15_000): Promise<HelperReply> {
    return (this.helper ??= new NetconfHelperClient(this.ops)).call(req, timeoutMs);
  }

  /** NETCONF <get> with a subtree filter (default: the whole evpn-mirror tree) on a VTEP's agent: the <data> element. */
  async netconfGet(no: VtepNo, filterXml?: string): Promise<XmlElement> {
    const r = await this.helperCall({ op: 'get', ...this.netconfTarget(no), filter: filterXml });
    if (!r.ok || !r.data) throw new Error(`NETCONF <get> on VTEP${no}: ${r.error ?? 'no data'}`);
    return r.data;
  }

  /** NETCONF <edit-config> on running (content of <config>). */
  async netconfEdit(no: VtepNo, configXml: string): Promise<void> {
    const r = await this.helperCall({ op: 'edit', ...this.netconfTarget(no), config: configXml });
    if (!r.ok) throw new Error(`NETCONF <edit-config> on VTEP${no}: ${r.error}`);
  }

  /**
   * The agent's operational state over NETCONF <get>. `what` selects state children
   * (default sessions, entries and BGP peers; '<mac/>' for MAC locations).
   */
  async state(no: VtepNo, what = '<session/><entry/><bgp-peer/>'): Promise<AgentStateView> {
    return parseState(await this.netconfGet(no, `<evpn-mirror xmlns="${EM_NS}"><state>${what}</state></evpn-mirror>`));
  }

  /** Labels (entryLabel) of the entries installed on a VTEP, sorted. */
  async entryLabels(no: VtepNo): Promise<string[]> {
    return (await this.state(no, '<entry/>')).entries.map(entryLabel).sort();
  }

  /** Polls every agent's state until `ok` holds for all (or the given VTEPs). */
  async waitState(what: string, ok: (st: AgentStateView, no: VtepNo) => boolean, timeoutMs = 20_000, nos: readonly VtepNo[] = VTEP_NOS, stateWhat?: string): Promise<number> {
    const t0 = Date.now();
    let last = '';
    await waitUntil(
      async () => {
        const sts = await Promise.all(nos.map((no) => this.state(no, stateWhat)));
        last = sts.map((st, i) => `VTEP${nos[i]}: ${JSON.stringify({ sessions: st.sessions.length, entries: st.entries.map(entryLabel), peers: st.peers.map((p) => p.state) })}`).join('\n');
        return sts.every((st, i) => ok(st, nos[i]!));
      },
      { timeoutMs, intervalMs: 100, what },
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nlast state:\n${last}`);
    });
    return Date.now() - t0;
  }

  /** Waits until every VTEP holds exactly the expected entries (labels); resolves with the time it took. */
  async waitEntries(expected: Partial<Record<VtepNo, string[]>>, timeoutMs = 20_000): Promise<number> {
    const nos = VTEP_NOS.filter((n) => expected[n] !== undefined);
    const t0 = Date.now();
    let last: Record<number, string[]> = {};
    try {
      await waitUntil(
        async () => {
          const got = await Promise.all(nos.map((no) => this.entryLabels(no)));
          last = Object.fromEntries(nos.map((n, i) => [n, got[i]!]));
          return nos.every((n, i) => JSON.stringify(got[i]) === JSON.stringify([...expected[n]!].sort()));
        },
        { timeoutMs, intervalMs: 50, what: 'the expected entries on every VTEP' },
      );
    } catch (e) {
      const diff = nos.map((n) => `VTEP${n}: want ${JSON.stringify([...expected[n]!].sort())}\n         have ${JSON.stringify(last[n] ?? [])}`);
      throw new Error(`${(e as Error).message}\n${diff.join('\n')}`);
    }
    return Date.now() - t0;
  }

  /**
   * The evpn_mirror nftables table of a VTEP, summarised: entry counters (c<n>), catalog
   * elements, key and delivery chains. Read straight from the kernel (`nft -j`).
   */
  async nftSummary(no: VtepNo): Promise<{ exists: boolean; counters: string[]; catalog: number; keyChains: string[]; deliveryChains: string[] }> {
    const r = await this.vtep(no).ns.exec(['nft', '-j', 'list', 'table', 'netdev', 'evpn_mirror'], { allowFail: true });
    if (r.code !== 0) return { exists: false, counters: [], catalog: 0, keyChains: [], deliveryChains: [] };
    const items = (JSON.parse(r.stdout) as { nftables: Record<string, { name?: string; elem?: unknown[] }>[] }).nftables;
    const counters: string[] = [];
    const keyChains: string[] = [];
    const deliveryChains: string[] = [];
    let catalog = 0;
    for (const it of items) {
      if (it['counter']?.name && /^c\d+$/.test(it['counter'].name)) counters.push(it['counter'].name);
      if (it['set']?.name === 'catalog') catalog = it['set'].elem?.length ?? 0;
      const ch = it['chain']?.name;
      if (ch && /^v\d+_(sm|dm|s4|d4|s6|d6)_/.test(ch)) keyChains.push(ch);
      if (ch && /^dlv_/.test(ch)) deliveryChains.push(ch);
    }
    return { exists: true, counters, catalog, keyChains, deliveryChains };
  }

  /** Runs a command in the ops namespace (asynchronously), e.g. ncclient or evpn-mirrorctl. */
  opsExec(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.ops.exec(argv, opts);
  }

  // ----- hosts and traffic

  /** A gratuitous ARP from a host (how a VM announces itself after a move). */
  async garp(name: HostName): Promise<void> {
    const h = this.host(name);
    await sendGarp(h.ns, 'eth0', h.spec.mac, h.spec.ipv4);
  }

  /**
   * Moves a host to another VTEP: the VTEP end of its veth goes to the other VTEP's
   * namespace (same port name) and joins br1 there; the host keeps eth0, its address and
   * its ARP cache, and sends a gratuitous ARP. Resolves with the time taken (ms).
   */
  async moveHost(name: HostName, to: VtepNo, opts: { garp?: boolean } = {}): Promise<number> {
    const t0 = Date.now();
    const h = this.host(name);
    if (h.vtep === to) throw new Error(`${name} is already on VTEP${to}`);
    const from = this.vtep(h.vtep).ns;
    const dst = this.vtep(to).ns;
    const port = h.spec.port;
    await from.ip(['link', 'set', port, 'netns', dst.name]);
    from.ifnames.delete(port);
    dst.claimIfname(port);
    await this.lab.attach(dst, port, 'br1');
    if (name === MONITOR) await dst.exec(['bridge', 'link', 'set', 'dev', port, 'flood', 'off']);
    h.vtep = to;
    if (opts.garp !== false) await this.garp(name);
    return Date.now() - t0;
  }

  /** ICMP echo from one host to another (iputils ping; never throws on loss). */
  async ping(from: HostName, to: HostName, count: number, intervalS = 0.02): Promise<{ sent: number; received: number; output: string }> {
    const r = await this.host(from).ns.exec(['ping', '-n', '-q', '-c', String(count), '-i', String(intervalS), '-W', '1', HOSTS[to].ipv4], { allowFail: true, timeoutMs: 60_000 });
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    return { sent: m ? Number(m[1]) : 0, received: m ? Number(m[2]) : 0, output: r.stdout + r.stderr };
  }

  /**
   * Starts a numbered UDP stream (`<tag>-<seq>`, 1..count, one every intervalMs) from one host
   * to another (port UDP_PORT); resolves once the sender runs, `done` once it exited.
   */
  async udpStream(from: HostName, to: HostName, tag: string, count: number, intervalMs: number): Promise<{ done: Promise<void> }> {
    const p = this.host(from).ns.spawn([process.execPath, '-e', UDP_STREAM_JS, HOSTS[to].ipv4, String(UDP_PORT), tag, String(count), String(intervalMs)], { name: `udp-${tag}`, log: 'pipe' });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`UDP sender ${tag} did not start`)), 10_000);
      p.child.stdout!.once('data', () => {
        clearTimeout(t);
        resolve();
      });
      void p.exited.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
    p.child.stderr!.resume();
    p.child.stdout!.resume();
    return {
      done: p.exited.then((x) => {
        if (x.code !== 0) throw new Error(`UDP sender ${tag} failed: ${JSON.stringify(x)}`);
      }),
    };
  }

  /** Sends `count` numbered datagrams and waits until they are sent. */
  async udpBurst(from: HostName, to: HostName, tag: string, count: number, intervalMs = 4): Promise<void> {
    await (await this.udpStream(from, to, tag, count, intervalMs)).done;
  }

  /** Starts tcpdump on a host's eth0 (default SERV21); resolves once it listens. */
  async startCapture(name: HostName = MONITOR, opts: CaptureOptions = {}): Promise<Capture> {
    const h = this.host(name);
    const file = this.lab.file(opts.file ?? `${name.toLowerCase()}-${++this.captureSeq}.pcap`);
    const argv = ['tcpdump', '-i', 'eth0', '-nn', '--immediate-mode', '-U', '-w', file];
    if (opts.print) argv.push('--print', '-l');
    argv.push(...(opts.filter ?? ['icmp', 'or', 'udp']));
    const p = h.ns.spawn(argv, { name: 'tcpdump', log: 'pipe' });
    let err = '';
    let listening!: () => void;
    const ready = new Promise<void>((r) => (listening = r));
    p.child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('listening on')) listening();
    });
    const rl = readline.createInterface({ input: p.child.stdout! });
    rl.on('line', (l) => opts.print?.(l));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        p.exited.then(() => {
          throw new Error(`tcpdump on ${name} exited: ${err}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`tcpdump on ${name} did not start: ${err}`)), 10_000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    await sleep(100);
    return {
      file,
      proc: p,
      stop: async () => {
        await sleep(300);
        p.signal('SIGINT');
        const t = setTimeout(() => p.signal('SIGKILL'), 3000);
        await p.exited;
        clearTimeout(t);
      },
    };
  }

  /** ICMP echo requests/replies and test datagrams (UDP_PORT) in a capture, with their times. */
  async readCapture(file: string): Promise<Seen[]> {
    const r = await run([
      'tshark', '-r', file, '-Y', `icmp.type==8 || icmp.type==0 || (udp.dstport==${UDP_PORT} && !icmp)`,
      '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type', '-e', 'icmp.ident', '-e', 'icmp.seq', '-e', 'data.data',
    ], { timeoutMs: 60_000 });
    return r.stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const [t, src, dst, type, ident, seq, data] = l.split('\t');
        const kind = type ? `icmp${type === '8' ? 'req' : 'rep'}:${ident}:${seq}` : `udp:${Buffer.from(data ?? '', 'hex').toString()}`;
        return { t: Number(t), src: src!, dst: dst!, kind };
      });
  }

  /** Removes every namespace and process of the fabric. */
  async destroy(): Promise<void> {
    await this.lab.destroy();
  }
}

