// The mirror tunnel devices (measured design, docs/dataplane.md):
//
//  - one receive device `emrx`: vxlan id <mirror VNI> dstport <mirror port> gbp nolearning,
//    never enslaved to a bridge: it receives every copy sent to this VTEP, and the kernel sets
//    the packet mark from the Group Policy ID (HOST-ID), which the `rx` chain delivers on;
//  - one transmit device per remote monitor VTEP `emtx-<ip hex>`: the kernel refuses a second
//    device with the same VNI and port ("A VXLAN device with the specified VNI already
//    exists"), so each transmit device has a spare device VNI of its own on the same port and
//    one permanent default FDB entry `00:00:00:00:00:00 dst <VTEP> vni <mirror VNI>`: what
//    it sends carries the mirror VNI, toward that VTEP only, with the mark as GPID.
//
// Both are checked against what they must be (VNI, port, local, gbp, nolearning, no master,
// up, the FDB entry) and recreated when they are not.
import { Logger, silentLogger } from '../../util/log';
import { DriverError } from '../driver';
import { txDeviceName } from './nft-gen';
import { CommandRunner, mustRun } from './runner';

export interface TunnelConfig {
  /** This VTEP's underlay address (source of copies). */
  vtepIp: string;
  mirrorVni: number;
  /** The UDP port of the mirror tunnels on every VTEP (not the tenant VXLAN port). */
  mirrorPort: number;
  rxDevice: string;
  /** First spare VNI tried for transmit devices (default mirror VNI + 1). */
  txVniBase: number;
  /** Underlay device for the tunnels (optional). */
  underlayDev?: string;
}

interface LinkJson {
  ifname: string;
  master?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean; gbp?: boolean; external?: boolean } };
}

export interface TxDevice {
  dev: string;
  vtep: string | undefined;
  vni: number;
}

export type DeviceAction = 'ok' | 'created' | 'recreated';

export class MirrorTunnels {
  private readonly log: Logger;
  constructor(
    private readonly runner: CommandRunner,
    readonly cfg: TunnelConfig,
    logger: Logger = silentLogger,
  ) {
    this.log = logger;
  }

  private async vxlans(): Promise<LinkJson[]> {
    const out = await mustRun(this.runner, 'list vxlan devices', ['ip', '-d', '-j', 'link', 'show', 'type', 'vxlan']);
    return out.trim() ? (JSON.parse(out) as LinkJson[]) : [];
  }

  private async defaultDst(dev: string): Promise<{ dst?: string; vni?: number }[]> {
    const out = await mustRun(this.runner, `read FDB of ${dev}`, ['bridge', '-j', 'fdb', 'show', 'dev', dev]);
    const all = out.trim() ? (JSON.parse(out) as { mac: string; dst?: string; vni?: number }[]) : [];
    return all.filter((e) => e.mac === '00:00:00:00:00:00');
  }

  /** Why `l` is not a good mirror device with device VNI `vni`, or undefined. */
  private problem(l: LinkJson | undefined, vni: number | undefined): string | undefined {
    if (!l) return 'missing';
    const d = l.linkinfo?.info_data ?? {};
    if (l.master) return `enslaved to ${l.master}`;
    if (d.external) return 'external mode';
    if (vni !== undefined && d.id !== vni) return `VNI ${d.id} instead of ${vni}`;
    if (d.port !== this.cfg.mirrorPort) return `port ${d.port} instead of ${this.cfg.mirrorPort}`;
    if (d.local !== this.cfg.vtepIp) return `local ${d.local} instead of ${this.cfg.vtepIp}`;
    if (d.gbp !== true) return 'no gbp';
    if (d.learning !== false) return 'learning';
    if (!(l.flags ?? []).includes('UP')) return 'down';
    return undefined;
  }

  private createArgs(dev: string, vni: number): string[] {
    const a = ['ip', 'link', 'add', dev, 'type', 'vxlan', 'id', String(vni), 'local', this.cfg.vtepIp, 'dstport', String(this.cfg.mirrorPort), 'gbp', 'nolearning'];
    if (this.cfg.underlayDev) a.push('dev', this.cfg.underlayDev);
    return a;
  }

  private async create(dev: string, vni: number, existing: boolean): Promise<void> {
    if (existing) await mustRun(this.runner, `delete mirror device ${dev}`, ['ip', 'link', 'del', dev]);
    // One process: create, no IPv6 link-local address (nor its DAD) on a device that only
    // carries copies, up. A device left half-made by a failure is found wrong (down) and
    // recreated by the next check.
    const lines = [this.createArgs(dev, vni).slice(1).join(' '), `link set dev ${dev} addrgenmode none`, `link set dev ${dev} up`];
    await mustRun(this.runner, `create mirror device ${dev}`, ['ip', '-batch', '-'], `${lines.join('\n')}\n`);
  }

  /** Makes the receive device what it must be. */
  async ensureRx(): Promise<DeviceAction> {
    const all = await this.vxlans();
    const l = all.find((x) => x.ifname === this.cfg.rxDevice);
    const why = this.problem(l, this.cfg.mirrorVni);
    if (!why) return 'ok';
    // Another device already holding the mirror VNI on our port would make creation fail
    // with the kernel's own message; that is reported as is.
    if (l) this.log.warn('mirror receive device not as it must be: recreating', { dev: this.cfg.rxDevice, problem: why });
    else this.log.info('creating the mirror receive device', { dev: this.cfg.rxDevice });
    await this.create(this.cfg.rxDevice, this.cfg.mirrorVni, l !== undefined);
    return l ? 'recreated' : 'created';
  }

  /** The transmit devices present (by the name pattern), with the VTEP their FDB entry names. */
  async listTx(): Promise<TxDevice[]> {
    const out: TxDevice[] = [];
    for (const l of await this.vxlans()) {
      if (!/^emtx-[0-9a-f]{8}$/.test(l.ifname)) continue;
      const dst = await this.defaultDst(l.ifname);
      out.push({ dev: l.ifname, vtep: dst.length === 1 ? dst[0]!.dst : undefined, vni: l.linkinfo?.info_data?.id ?? -1 });
    }
    return out;
  }

  /**
   * The transmit devices among `devs` that are present and look right as links (one listing;
   * their FDB entry is not read: ensureTx() and the heal pass do that).
   */
  async txLinksOk(devs: Iterable<string>): Promise<Set<string>> {
    const all = await this.vxlans();
    const out = new Set<string>();
    for (const dev of devs) {
      const l = all.find((x) => x.ifname === dev);
      if (l && !this.problem(l, undefined) && l.linkinfo?.info_data?.id !== this.cfg.mirrorVni) out.add(dev);
    }
    return out;
  }

  /** Makes the transmit device toward `vtep` what it must be. */
  async ensureTx(vtep: string): Promise<DeviceAction> {
    const dev = txDeviceName(vtep);
    const all = await this.vxlans();
    const l = all.find((x) => x.ifname === dev);
    let why = this.problem(l, undefined);
    if (l && l.linkinfo?.info_data?.id === this.cfg.mirrorVni) why ??= 'has the mirror VNI as device VNI';
    if (!why) {
      const dst = await this.defaultDst(dev);
      if (dst.length !== 1 || dst[0]!.dst !== vtep || dst[0]!.vni !== this.cfg.mirrorVni) why = `default FDB entry ${JSON.stringify(dst)}`;
    }
    if (!why) return 'ok';
    if (l) this.log.warn('mirror transmit device not as it must be: recreating', { dev, vtep, problem: why });
    else this.log.info('creating a mirror transmit device', { dev, vtep });
    // A spare device VNI: unused by any vxlan device on our port.
    const used = new Set(all.filter((x) => x.linkinfo?.info_data?.port === this.cfg.mirrorPort && x.ifname !== dev).map((x) => x.linkinfo?.info_data?.id));
    used.add(this.cfg.mirrorVni);
    let vni = this.cfg.txVniBase;
    for (let i = 0; used.has(vni); i++) {
      if (i > 1 << 24) throw new DriverError('no spare VNI for a mirror transmit device');
      vni = (vni % 0xffffff) + 1;
    }
    await this.create(dev, vni, l !== undefined);
    await mustRun(this.runner, `point ${dev} at ${vtep}`, [
      'bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', dev, 'dst', vtep, 'vni', String(this.cfg.mirrorVni), 'self', 'permanent',
    ]);
    return l ? 'recreated' : 'created';
  }

  async removeTx(dev: string): Promise<void> {
    await mustRun(this.runner, `delete mirror device ${dev}`, ['ip', 'link', 'del', dev]);
  }

  async removeRx(): Promise<void> {
    const all = await this.vxlans();
    if (all.some((x) => x.ifname === this.cfg.rxDevice)) await mustRun(this.runner, `delete mirror device ${this.cfg.rxDevice}`, ['ip', 'link', 'del', this.cfg.rxDevice]);
  }

  /** Access ports of a bridge: its members except vxlan devices. */
  async bridgePorts(bridge: string): Promise<string[]> {
    const out = await mustRun(this.runner, `list ports of ${bridge}`, ['ip', '-d', '-j', 'link', 'show', 'master', bridge]);
    const links = out.trim() ? (JSON.parse(out) as LinkJson[]) : [];
    return links.filter((l) => l.linkinfo?.info_kind !== 'vxlan').map((l) => l.ifname);
  }
}
