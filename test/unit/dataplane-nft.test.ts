// Unit tests of the Linux driver's pure parts: the nftables generator (structure of the rules,
// not whitespace), the read-back verification, and the FDB watcher's parsing and events.
import { strict as assert } from 'node:assert';
import { AccessEntry, DeliveryEntry, MirrorEntry } from '../../src/monitoring/entries';
import {
  EntryIndex,
  NftContext,
  canonicalIpv6,
  catalogChunks,
  copyRule,
  decodeCatalog,
  entryKeys,
  entryProblem,
  fullScript,
  ipv6Hex,
  keyFromChain,
  skeletonScript,
  transitionScript,
  txDeviceName,
} from '../../src/dataplane/linux/nft-gen';
import { parseTable, verifyTable } from '../../src/dataplane/linux/readback';
import { FdbEvent, FdbWatcher, classify, parseFdbLine } from '../../src/dataplane/linux/fdb-watch';
import { CommandRunner } from '../../src/dataplane/linux/runner';

const MV = 16_000_000;
const ctx: NftContext = { table: 'evpn_mirror', rxDevice: 'emrx', ports: new Map([[1, ['vm210', 'vm220']]]), txDevice: txDeviceName };

function access(id: string, field: 'source' | 'destination', o: Partial<AccessEntry['match']> = {}, action?: AccessEntry['action']): AccessEntry {
  return {
    id,
    kind: field === 'source' ? 'first' : 'second',
    session: id.split('|')[0]!,
    vni: 1,
    match: { field, mac: '02:00:00:00:02:10', ipv4: '10.1.0.210', exceptPorts: [], ...o },
    action: action ?? { kind: 'tunnel', vtep: '192.0.2.104', hostId: 1, mirrorVni: MV },
  };
}
const third = (hostId: number, port: string): DeliveryEntry => ({
  id: `third|${MV}|${hostId}`,
  kind: 'third',
  sessions: ['s1'],
  match: { hostId, mirrorVni: MV },
  action: { kind: 'local-port', port },
});

/** The `add rule` lines of a script, per chain. */
function rulesByChain(script: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const l of script.split('\n')) {
    const r = /^add rule netdev evpn_mirror (\S+) (.*)$/.exec(l);
    if (!r) continue;
    if (!m.has(r[1]!)) m.set(r[1]!, []);
    m.get(r[1]!)!.push(r[2]!);
  }
  return m;
}

function addAll(entries: MirrorEntry[]): { ix: EntryIndex; script: string } {
  const before = new EntryIndex();
  const after = new EntryIndex();
  const touched: string[] = [];
  entries.forEach((e, i) => touched.push(...after.add({ n: i + 1, entry: e }, catalogChunks(e).length)));
  const written = [...after.byId.values()];
  const script = transitionScript(ctx, { before, after, chains: touched, dropped: [], written, newCounters: written.map((w) => w.n), goneCounters: [] });
  return { ix: after, script };
}

describe('dataplane linux: nft generator', () => {
  it('names: transmit devices by VTEP address, IPv6 keys canonical', () => {
    assert.equal(txDeviceName('192.0.2.104'), 'emtx-c0000268');
    assert.ok(txDeviceName('255.255.255.255').length <= 15);
    assert.throws(() => txDeviceName('2001:db8::1'), /IPv4/);
    assert.equal(ipv6Hex('2001:db8::1'), '20010db8000000000000000000000001');
    assert.equal(ipv6Hex('::ffff:10.1.0.1'), '00000000000000000000ffff0a010001');
    assert.equal(ipv6Hex('1::2::3'), undefined);
    assert.equal(canonicalIpv6('2001:0DB8:0:0:0:0:0:0001'), '2001:db8::1');
    assert.equal(canonicalIpv6('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1');
  });

  it('an access entry lives in one key chain per MAC / IPv4 / IPv6, reached from per-VNI maps', () => {
    const e = access('s1|first', 'source', { ipv6: '2001:db8::210' });
    const keys = entryKeys(e);
    assert.deepEqual(
      keys.map((k) => [k.chain, k.map, k.key, k.kind]),
      [
        ['v1_sm_020000000210', 'v1_smac', '02:00:00:00:02:10', 'mac'],
        ['v1_s4_0a0100d2', 'v1_sip4', '10.1.0.210', 'ip'],
        ['v1_s6_20010db8000000000000000000000210', 'v1_sip6', '2001:db8::210', 'ip'],
      ],
    );
    assert.deepEqual(entryKeys(third(7, 'serv21')).map((k) => [k.chain, k.map, k.key]), [['dlv_7', 'deliver', '7']]);
    // A chain's key can be read back from its name (to clean up chains of unknown entries).
    for (const k of [...keys, ...entryKeys(third(7, 'serv21'))]) {
      const back = keyFromChain(k.chain)!;
      assert.deepEqual([back.map, back.key, back.kind], [k.map, k.key, k.kind]);
    }
    assert.equal(keyFromChain('port_vm210'), undefined);
  });

  it('copy rules: tunnel copies set the HOST-ID by XOR and undo it; IP rules skip frames the MAC rule copied', () => {
    const e = access('s1|second', 'destination', { exceptPorts: ['vm210'] });
    const [mac, ip] = entryKeys(e);
    const rm = copyRule({ n: 5, entry: e }, mac!, ctx);
    const ri = copyRule({ n: 5, entry: e }, ip!, ctx);
    assert.match(rm, /^iifname != \{ "vm210" \} counter name "c5" meta mark set meta mark \^ 0x0001 dup to "emtx-c0000268" meta mark set meta mark \^ 0x0001 comment "e5"$/);
    assert.ok(ri.startsWith('ether daddr != 02:00:00:00:02:10 iifname != { "vm210" } counter name "c5"'), ri);
    const s = access('s1|first', 'source');
    assert.ok(copyRule({ n: 1, entry: s }, entryKeys(s)[1]!, ctx).startsWith('ether saddr != 02:00:00:00:02:10 counter'));
    const local = access('s1|first', 'source', {}, { kind: 'local-port', port: 'serv21' });
    const rl = copyRule({ n: 2, entry: local }, entryKeys(local)[0]!, ctx);
    assert.equal(rl, 'counter name "c2" dup to "serv21" comment "e2"');
    assert.ok(!/mark/.test(rl), 'a local copy does not touch the mark');
    assert.equal(copyRule({ n: 3, entry: third(1, 'serv21') }, entryKeys(third(1, 'serv21'))[0]!, ctx), 'counter name "c3" fwd to "serv21" comment "e3"');
  });

  it('adding entries: counters, key chains that continue to the next stage, map elements, catalog', () => {
    const e1 = access('s1|first', 'source');
    const e2 = access('s1|second', 'destination', { exceptPorts: ['vm210'] });
    const d = third(1, 'serv21');
    const { script } = addAll([e1, e2, d]);
    const lines = script.split('\n');
    for (const n of [1, 2, 3]) assert.ok(lines.includes(`add counter netdev evpn_mirror c${n}`));
    const rules = rulesByChain(script);
    assert.deepEqual(rules.get('v1_sm_020000000210')!.slice(-1), ['goto v1_si']);
    assert.deepEqual(rules.get('v1_s4_0a0100d2')!.slice(-1), ['goto v1_d']);
    assert.deepEqual(rules.get('v1_dm_020000000210')!.slice(-1), ['goto v1_di']);
    assert.equal(rules.get('v1_d4_0a0100d2')!.length, 1, 'the last stage has no goto');
    assert.equal(rules.get('dlv_1')!.length, 1);
    assert.ok(lines.includes('add element netdev evpn_mirror v1_smac { 02:00:00:00:02:10 : goto v1_sm_020000000210 }'));
    assert.ok(lines.includes('add element netdev evpn_mirror deliver { 1 : goto dlv_1 }'));
    // The catalog holds each entry exactly, in chunks of at most 128 characters.
    const chunks = new Map<number, string[]>();
    for (const m of script.matchAll(/(\d+) \. (\d+) comment "([^"]*)"/g)) {
      assert.ok(m[3]!.length <= 128);
      const n = Number(m[1]);
      if (!chunks.has(n)) chunks.set(n, []);
      chunks.get(n)![Number(m[2])] = m[3]!;
    }
    assert.deepEqual(decodeCatalog(chunks.get(2)!), e2);
    assert.deepEqual(decodeCatalog(chunks.get(3)!), d);
  });

  it('per-packet cost does not grow: the path rules are fixed, an entry adds only rules in its own key chains', () => {
    const sk = rulesByChain(skeletonScript(ctx));
    const many: MirrorEntry[] = [];
    for (let i = 0; i < 1000; i++) {
      const mac = `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
      many.push(access(`h${i}|first`, 'source', { mac, ipv4: `10.2.${i >> 8}.${i & 0xff}` }));
    }
    const { script } = addAll(many);
    const rules = rulesByChain(script);
    for (const stageChain of ['v1_s', 'v1_si', 'v1_d', 'v1_di', 'port_vm210', 'port_vm220', 'rx']) assert.ok(!rules.has(stageChain), `${stageChain} is not touched by entries`);
    assert.deepEqual(sk.get('v1_s'), ['ether saddr vmap @v1_smac', 'goto v1_si']);
    assert.deepEqual(sk.get('v1_si'), ['ip saddr vmap @v1_sip4', 'ip6 saddr vmap @v1_sip6', 'goto v1_d']);
    assert.deepEqual(sk.get('v1_d'), ['ether daddr vmap @v1_dmac', 'goto v1_di']);
    assert.deepEqual(sk.get('v1_di'), ['ip daddr vmap @v1_dip4', 'ip6 daddr vmap @v1_dip6']);
    assert.deepEqual(sk.get('port_vm210'), ['meta mark and 0x0000ffff != 0 counter name "foreign_mark"', 'goto v1_s']);
    assert.deepEqual(sk.get('rx'), ['meta mark vmap @deliver', 'counter name "rx_undelivered" drop']);
    for (const [chain, r] of rules) assert.ok(r.length <= 2, `${chain} has ${r.length} rules`);
  });

  it('two entries on one MAC share a chain; removing one rewrites it, removing the last deletes chain and element', () => {
    const a = access('a|first', 'source');
    const b = access('b|first', 'source', {}, { kind: 'local-port', port: 'serv21' });
    const { ix } = addAll([a, b]);
    assert.equal(ix.members('v1_sm_020000000210').length, 2);
    const after = ix.clone();
    const touched = after.remove('a|first');
    let s = transitionScript(ctx, { before: ix, after, chains: touched, dropped: [{ n: 1, chunks: 3 }], written: [], newCounters: [], goneCounters: [1] });
    let r = rulesByChain(s);
    assert.deepEqual(r.get('v1_sm_020000000210'), ['counter name "c2" dup to "serv21" comment "e2"', 'goto v1_si']);
    assert.ok(s.includes('flush chain netdev evpn_mirror v1_sm_020000000210'));
    assert.ok(!s.includes('add element netdev evpn_mirror v1_smac'), 'still linked: no new element');
    assert.ok(s.includes('delete element netdev evpn_mirror catalog { 1 . 0, 1 . 1, 1 . 2 }'));
    assert.ok(s.trim().endsWith('delete counter netdev evpn_mirror c1'));
    const last = after.clone();
    const t2 = last.remove('b|first');
    s = transitionScript(ctx, { before: after, after: last, chains: t2, dropped: [], written: [], newCounters: [], goneCounters: [2] });
    r = rulesByChain(s);
    assert.equal(r.size, 0);
    const lines = s.split('\n');
    const del = lines.indexOf('delete element netdev evpn_mirror v1_smac { 02:00:00:00:02:10 }');
    assert.ok(del >= 0 && lines.indexOf('delete chain netdev evpn_mirror v1_sm_020000000210') > del, 'element goes before its chain');
  });

  it('validation: VNI without bridge, foreign mirror VNI, HOST-ID out of 16 bits, bad names', () => {
    const p = { ports: ctx.ports };
    assert.equal(entryProblem(access('x|first', 'source'), p, MV), undefined);
    assert.match(entryProblem({ ...access('x|first', 'source'), vni: 9 }, p, MV)!, /VNI 9 has no bridge/);
    assert.match(entryProblem(access('x|first', 'source', {}, { kind: 'tunnel', vtep: '192.0.2.1', hostId: 70000, mirrorVni: MV }), p, MV)!, /HOST-ID/);
    assert.match(entryProblem(access('x|first', 'source', {}, { kind: 'tunnel', vtep: '192.0.2.1', hostId: 1, mirrorVni: 5 }), p, MV)!, /mirror VNI/);
    assert.match(entryProblem(access('x|first', 'source', { exceptPorts: ['a"b'] }), p, MV)!, /bad port/);
    assert.match(entryProblem(access('x|first', 'source', { mac: '02:00:00:00:02:1G' }), p, MV)!, /bad MAC/);
  });
});

/** What `nft -j list table` prints for an index (the shapes measured on nft 1.0.6). */
function fakeKernelJson(ix: EntryIndex, mutate?: (items: Record<string, unknown>[]) => void): string {
  const items: Record<string, unknown>[] = [{ metainfo: { version: '1.0.6' } }, { table: { family: 'netdev', name: 'evpn_mirror' } }];
  const maps = new Map<string, unknown[]>();
  const catalog: unknown[] = [];
  let handle = 100;
  for (const ne of ix.byId.values()) {
    items.push({ counter: { name: `c${ne.n}`, packets: ne.n * 10, bytes: ne.n * 1000 } });
    catalogChunks(ne.entry).forEach((c, k) => catalog.push({ elem: { val: { concat: [ne.n, k] }, comment: c } }));
  }
  for (const [chain, slot] of ix.byChain) {
    items.push({ chain: { name: chain } });
    if (!maps.has(slot.key.map)) maps.set(slot.key.map, []);
    maps.get(slot.key.map)!.push([slot.key.key, { goto: { target: chain } }]);
    for (const ne of ix.members(chain)) {
      const e = ne.entry;
      const target = e.kind === 'third' ? e.action.port : e.action.kind === 'local-port' ? e.action.port : txDeviceName(e.action.vtep);
      items.push({ rule: { chain, handle: handle++, comment: `e${ne.n}`, expr: [{ counter: `c${ne.n}` }, e.kind === 'third' ? { fwd: { dev: target } } : { dup: { addr: target } }] } });
    }
  }
  for (const [name, elem] of maps) items.push({ map: { name, type: 'x', map: 'verdict', elem } });
  items.push({ set: { name: 'catalog', type: ['mark', 'mark'], elem: catalog } });
  mutate?.(items);
  return JSON.stringify({ nftables: items });
}

describe('dataplane linux: read-back', () => {
  const e1 = access('s1|first', 'source', { ipv6: '2001:db8::210' });
  const e2 = third(1, 'serv21');

  it('reconstructs the exact entries and their counters from the kernel listing', () => {
    const { ix } = addAll([e1, e2]);
    const st = parseTable(fakeKernelJson(ix));
    const v = verifyTable(st, ctx);
    assert.deepEqual(v.broken, []);
    assert.deepEqual(
      v.good.map((g) => g.entry),
      [e1, e2],
    );
    assert.deepEqual(st.counters.get('c2'), { packets: 20, bytes: 2000 });
    assert.equal(parseTable('').exists, false);
  });

  it('a rule gone, a counter gone or a duplicate id makes the entry broken; a bare ifindex target is stale', () => {
    const { ix } = addAll([e1, e2]);
    // the IPv4 rule of e1 removed by hand
    let v = verifyTable(parseTable(fakeKernelJson(ix, (items) => items.splice(items.findIndex((i) => (i.rule as { chain?: string })?.chain === 'v1_s4_0a0100d2'), 1))), ctx);
    assert.deepEqual(v.good.map((g) => g.entry.id), [e2.id]);
    assert.match(v.broken[0]!.reason, /0 copy rules in v1_s4_0a0100d2/);
    assert.ok(v.dirtyChains.has('v1_sm_020000000210'), 'its other rules are to be removed');
    // counter c2 missing
    v = verifyTable(parseTable(fakeKernelJson(ix, (items) => items.splice(items.findIndex((i) => (i.counter as { name?: string })?.name === 'c2'), 1))), ctx);
    assert.match(v.broken[0]!.reason, /no counter c2/);
    // the monitor port was deleted: nft prints the old ifindex
    v = verifyTable(
      parseTable(
        fakeKernelJson(ix, (items) => {
          for (const i of items) if ((i.rule as { chain?: string })?.chain === 'dlv_1') (i.rule as { expr: unknown[] }).expr[1] = { fwd: { dev: '9' } };
        }),
      ),
      ctx,
    );
    assert.equal(v.good.length, 2);
    assert.deepEqual([...v.staleTargets], ['dlv_1']);
    // the same id twice in the catalog (n 1 and n 3)
    const dup = new EntryIndex();
    dup.add({ n: 1, entry: e2 }, 1);
    const st = parseTable(fakeKernelJson(dup, (items) => {
      items.push({ counter: { name: 'c3', packets: 0, bytes: 0 } });
      const cat = items.find((i) => i.set) as { set: { elem: unknown[] } };
      catalogChunks(e2).forEach((c, k) => cat.set.elem.push({ elem: { val: { concat: [3, k] }, comment: c } }));
    }));
    v = verifyTable(st, ctx);
    assert.equal(v.good.length, 1);
    assert.match(v.broken[0]!.reason, /twice/);
  });

  it('a repair transaction removes the chains, elements, catalog and counter of broken entries', () => {
    const { ix } = addAll([e1, e2]);
    const st = parseTable(fakeKernelJson(ix, (items) => items.splice(items.findIndex((i) => (i.rule as { chain?: string })?.chain === 'v1_s4_0a0100d2'), 1)));
    const v = verifyTable(st, ctx);
    const good = new EntryIndex();
    for (const g of v.good) good.add(g, g.chunks);
    const script = transitionScript(ctx, { before: good, after: good, chains: v.dirtyChains, dropped: v.broken.map((b) => ({ n: b.n, chunks: b.chunks })), written: [], newCounters: [], goneCounters: [1], kernel: st });
    const lines = script.trim().split('\n');
    assert.ok(lines.includes('delete element netdev evpn_mirror v1_smac { 02:00:00:00:02:10 }'), script);
    assert.ok(lines.includes('delete chain netdev evpn_mirror v1_sm_020000000210'));
    assert.ok(lines.includes('delete chain netdev evpn_mirror v1_s6_20010db8000000000000000000000210'));
    assert.ok(lines.includes('delete element netdev evpn_mirror v1_sip4 { 10.1.0.210 }'));
    assert.ok(!lines.some((l) => l.startsWith('add ')), 'nothing is added back for a broken entry');
    assert.equal(lines.at(-1), 'delete counter netdev evpn_mirror c1');
    assert.ok(lines.indexOf('delete chain netdev evpn_mirror v1_sm_020000000210') < lines.length - 1);
  });

  it('fullScript rebuilds every chain, element, counter and catalog chunk of an index', () => {
    const { ix, script } = addAll([e1, e2]);
    assert.equal(fullScript(ctx, ix), script);
  });
});

function fakeRunner(outputs: Record<string, string>): CommandRunner {
  return {
    where: 'fake',
    async run(argv) {
      const k = argv.join(' ');
      return { code: 0, stdout: outputs[k] ?? '[]', stderr: '' };
    },
  };
}

describe('dataplane linux: FDB watcher', () => {
  it('parses monitor lines (learn, delete, permanent own MACs, vxlan self entries)', () => {
    assert.deepEqual(parseFdbLine('02:00:00:00:00:0c dev vx1 master br1 '), { deleted: false, mac: '02:00:00:00:00:0c', dev: 'vx1', master: 'br1', self: false, permanent: false, isStatic: false });
    assert.equal(parseFdbLine('Deleted 02:00:00:00:00:0a dev hport master br1 ')!.deleted, true);
    assert.equal(parseFdbLine('72:78:12:1f:f8:20 dev hport master br1 permanent')!.permanent, true);
    assert.equal(parseFdbLine('02:00:00:00:00:0c dev vx1 dst 10.99.0.2 self ')!.dst, '10.99.0.2');
    assert.equal(parseFdbLine('garbage'), undefined);
    assert.equal(classify({ kind: 'tunnel', device: 'vx1' }, { kind: 'local', port: 'p' }), 'move-in');
    assert.equal(classify({ kind: 'local', port: 'p' }, { kind: 'tunnel', device: 'vx1' }), 'move-out');
    assert.equal(classify({ kind: 'local', port: 'p' }, undefined), 'forget');
  });

  it('reports the initial FDB, then moves in and out; ignores own MACs and other bridges', async () => {
    const runner = fakeRunner({
      'ip -j -d link show type vxlan': JSON.stringify([{ ifname: 'vx1' }]),
      'bridge -j fdb show dev vx1': JSON.stringify([{ mac: '02:00:00:00:02:30', dst: '192.0.2.103', flags: ['self'] }]),
      'bridge -j fdb show br br1': JSON.stringify([
        { mac: '02:00:00:00:02:10', ifname: 'vm210', master: 'br1', state: '' },
        { mac: '02:00:00:00:02:30', ifname: 'vx1', master: 'br1', state: '' },
        { mac: '72:00:00:00:00:01', ifname: 'vm210', master: 'br1', state: 'permanent' },
        { mac: '33:33:00:00:00:01', ifname: 'br1', flags: ['self'], state: 'permanent' },
      ]),
    });
    const w = new FdbWatcher({ runner, bridges: { 1: 'br1' } });
    const events: FdbEvent[] = [];
    w.on('event', (e) => events.push(e));
    await w.resync();
    assert.deepEqual(
      events.map((e) => [e.mac, e.change, e.to]),
      [
        ['02:00:00:00:02:10', 'learn', { kind: 'local', port: 'vm210' }],
        ['02:00:00:00:02:30', 'learn', { kind: 'tunnel', device: 'vx1', vtep: '192.0.2.103' }],
      ],
    );
    events.length = 0;
    w.onLine('02:00:00:00:02:30 dev vm230 master br1 '); // VM230 moves in
    w.onLine('Deleted 02:00:00:00:02:10 dev vm210 master br1 '); // VM210's port goes
    w.onLine('02:00:00:00:02:10 dev vx1 master br1 '); // and it is seen behind the tunnel
    w.onLine('02:00:00:00:09:99 dev p9 master br2 '); // a bridge we do not watch
    w.onLine('Deleted 02:00:00:00:02:30 dev vx1 master br1 '); // stale delete on the old port: ignored
    assert.deepEqual(
      events.map((e) => [e.vni, e.mac, e.change]),
      [
        [1, '02:00:00:00:02:30', 'move-in'],
        [1, '02:00:00:00:02:10', 'forget'],
        [1, '02:00:00:00:02:10', 'learn'],
      ],
    );
    assert.deepEqual(w.location(1, '02:00:00:00:02:30'), { kind: 'local', port: 'vm230' });
  });
});
