// Interop tests of the lab harness itself: namespaces and veth links, an FRR route
// reflector with a GoBGP client over l2vpn-evpn, and complete cleanup. Needs root.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { anyAlive, findPing, ping, run, udpEcho } from '../../src/lab';
import { Lab } from '../../src/lab/netns';
import { FrrInstance, rrBgpdConf, startFrr } from '../../src/lab/frr';
import { GobgpInstance, startGobgp } from '../../src/lab/gobgp';
import { requireRoot } from './support';


async function netnsList(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

describe('lab harness (interop, root)', function () {
  this.timeout(60_000);

  // Needs root: without it the suite fails loudly (a skipped interop test is not a pass).
  before(requireRoot);

  describe('namespaces and veth links', function () {
    let lab: Lab;
    after(async () => {
      await lab?.destroy();
    });

    it('two namespaces linked by a veth pair ping each other', async function () {
      lab = new Lab('ping');
      const a = await lab.addNamespace('a');
      const b = await lab.addNamespace('b');
      assert.ok(a.name.startsWith(lab.prefix) && a.name.endsWith('-a'), a.name);
      const names = await netnsList();
      assert.ok(names.includes(a.name) && names.includes(b.name), `ip netns list: ${names.join(',')}`);

      const link = await lab.link(a, '10.251.0.1/30', b, '10.251.0.2/30');
      assert.ok(link.a.length <= 15 && link.b.length <= 15);
      // no interface of the lab leaks into the root namespace
      const root = await run(['ip', '-o', 'link', 'show']);
      assert.ok(!root.stdout.includes(`${link.a}@`) && !root.stdout.includes(`${link.b}@`), 'veth ends must be in lab namespaces only');

      if (findPing() !== null) {
        const r1 = await ping(a, '10.251.0.2', { count: 2 });
        assert.equal(r1.received, 2, r1.output);
        const r2 = await ping(b, '10.251.0.1', { count: 2 });
        assert.equal(r2.received, 2, r2.output);
      } else {
        // no iputils-ping on this machine: prove reachability with a UDP round trip instead
        assert.equal(await udpEcho(a, b, '10.251.0.2', { count: 2 }), 2);
        assert.equal(await udpEcho(b, a, '10.251.0.1', { count: 2 }), 2);
      }
      // and whatever the prober, a UDP round trip works both ways
      assert.equal(await udpEcho(a, b, '10.251.0.2', { count: 2 }), 2);

      // IPv6 is disabled inside the namespaces
      const v6 = await a.exec(['sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6']);
      assert.equal(v6.stdout.trim(), '1');
    });

    it('builds a bridge with a vxlan VTEP and a veth port', async function () {
      const vtep = await lab.addNamespace('vtep');
      const host = await lab.addNamespace('host');
      await lab.addAddress(vtep, 'lo', '10.251.1.1/32');
      await lab.addBridge(vtep, 'br1');
      await lab.addVxlan(vtep, { name: 'vx1', vni: 1, local: '10.251.1.1', dstport: 4789, learning: false });
      await lab.attach(vtep, 'vx1', 'br1');
      const l = await lab.link(host, '192.168.251.10/24', vtep, null, { aMac: '02:00:00:fb:00:10' });
      await lab.attach(vtep, l.b, 'br1');
      const d = await vtep.ip(['-d', '-j', 'link', 'show', 'dev', 'vx1']);
      const info = (JSON.parse(d.stdout) as Array<{ linkinfo?: { info_data?: { id?: number; port?: number; learning?: boolean } }; master?: string }>)[0];
      assert.equal(info?.master, 'br1');
      assert.equal(info?.linkinfo?.info_data?.id, 1);
      assert.equal(info?.linkinfo?.info_data?.port, 4789);
      assert.equal(info?.linkinfo?.info_data?.learning, false);
      assert.equal(await host.mac(l.a), '02:00:00:fb:00:10');
    });
  });

  describe('FRR route reflector and GoBGP client', function () {
    let lab: Lab;
    let frr: FrrInstance;
    let gobgp: GobgpInstance;
    let pids: number[] = [];
    let namespaces: string[] = [];
    let tmpDir = '';

    after(async () => {
      await lab?.destroy();
    });

    it('establishes an l2vpn-evpn session seen Established on both sides', async function () {
      lab = new Lab('bgp');
      tmpDir = lab.tmpDir;
      const rrNs = await lab.addNamespace('rr');
      const gbNs = await lab.addNamespace('gb');
      await lab.link(rrNs, '10.251.2.1/24', gbNs, '10.251.2.2/24');
      frr = await startFrr(lab, rrNs, {
        name: 'rr',
        bgpdConf: rrBgpdConf({ asn: 65010, routerId: '10.251.2.1', clients: ['10.251.2.2'] }),
      });
      gobgp = await startGobgp(lab, gbNs, {
        asn: 65010,
        routerId: '10.251.2.2',
        neighbors: [{ address: '10.251.2.1', asn: 65010, families: ['l2vpn-evpn'] }],
      });
      const t0 = Date.now();
      await frr.waitEstablished('10.251.2.2', 30_000);
      await gobgp.waitEstablished('10.251.2.1', 30_000);
      const upMs = Date.now() - t0;

      const summary = await frr.evpnSummary();
      assert.equal(summary.as, 65010);
      assert.equal(summary.peers?.['10.251.2.2']?.state, 'Established');
      assert.equal(await gobgp.neighborState('10.251.2.1'), 'ESTABLISHED');
      // the session negotiated l2vpn-evpn: GoBGP lists the family as received from FRR
      const out = await gobgp.cli(['neighbor', '10.251.2.1']);
      assert.match(out, /l2vpn-evpn/);
      assert.ok(upMs < 30_000, `session took ${upMs} ms`);

      // the daemons run under the PIDs the lab recorded, inside the lab's namespace
      for (const p of [frr.zebra, frr.bgpd, gobgp.process]) {
        const ids = await run(['ip', 'netns', 'identify', String(p.pid)]);
        assert.equal(ids.stdout.trim(), p.name === 'gobgpd' ? gbNs.name : rrNs.name);
      }
      namespaces = lab.namespaceNames;
      assert.equal(anyAlive(lab.pids).length, 3);
    });

    it('restartBgpd() replaces bgpd and the session comes back', async function () {
      assert.ok(frr !== undefined, 'needs the previous test');
      const old = frr.bgpd;
      await frr.restartBgpd();
      assert.ok(!old.running, 'old bgpd must be gone');
      assert.notEqual(frr.bgpd.pid, old.pid);
      await frr.waitEstablished('10.251.2.2', 30_000);
      await gobgp.waitEstablished('10.251.2.1', 30_000);
      pids = lab.pids;
      assert.equal(pids.length, 4);
      assert.equal(anyAlive(pids).length, 3);
    });

    it('destroy() leaves no namespace, process or temp dir behind (and is idempotent)', async function () {
      assert.ok(lab !== undefined && pids.length === 4, 'needs the previous tests');
      await lab.destroy();
      await lab.destroy();
      const names = await netnsList();
      for (const n of namespaces) assert.ok(!names.includes(n), `namespace ${n} still listed`);
      assert.ok(!names.some((n) => n.startsWith(lab.prefix)), `lab namespaces left: ${names.join(',')}`);
      assert.deepEqual(anyAlive(pids), [], 'lab processes still alive');
      assert.equal(fs.existsSync(tmpDir), lab.keep, `temp dir ${tmpDir} exists=${fs.existsSync(tmpDir)} keep=${lab.keep}`);
      await assert.rejects(() => lab.addNamespace('late'), /destroyed/);
    });
  });
});
