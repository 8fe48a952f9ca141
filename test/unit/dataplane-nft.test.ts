// Unit tests of the Linux driver's pure parts: the nftables generator (structure of the rules,
// not whitespace), the read-back verification, and the FDB watcher's parsing and events.
import { strict as assert } from 'node:assert';
import { AccessEntry, DeliveryEntry, MirrorEntry } from '../../src/monitoring/entries';
import {
  EntryIndex,
  NftContext,
  actionRef,
  actionRule,
  canonicalIpv6,
  catalogChunks,
  compactEntry,
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
import { parseTable, parseTableText, verifyTable } from '../../src/dataplane/linux/readback';
import { FdbEvent, FdbWatcher, applyFdbEvent, classify, parseFdbLine } from '../../src/dataplane/linux/fdb-watch';
import { MacTable } from '../../src/monitoring/mac-table';
import { ManualClock } from '../../src/util/clock';
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

  it('copy rules count and jump to a shared action chain; tunnel copies set the HOST-ID by XOR and undo it; IP rules skip frames the MAC rule copied', () => {
    const e = access('s1|second', 'destination', { exceptPorts: ['vm210'] });
    const [mac, ip] = entryKeys(e);
    const rm = copyRule({ n: 5, entry: e }, mac!, ctx);
    const ri = copyRule({ n: 5, entry: e }, ip!, ctx);
    assert.equal(rm, 'iifname != { "vm210" } counter name "c5" jump at_c0000268_1 comment "e5"');
    assert.ok(ri.startsWith('ether daddr != 02:00:00:00:02:10 iifname != { "vm210" } counter name "c5" jump at_c0000268_1'), ri);
    const tunnel = actionRef(e.action, ctx);
    assert.deepEqual(tunnel, { chain: 'at_c0000268_1', target: 'emtx-c0000268', hostId: 1 });
    assert.equal(actionRule(tunnel), 'meta mark set meta mark ^ 0x0001 dup to "emtx-c0000268" meta mark set meta mark ^ 0x0001');
    const s = access('s1|first', 'source');
    assert.ok(copyRule({ n: 1, entry: s }, entryKeys(s)[1]!, ctx).startsWith('ether saddr != 02:00:00:00:02:10 counter'));
    const local = access('s1|first', 'source', {}, { kind: 'local-port', port: 'serv21' });
    assert.equal(copyRule({ n: 2, entry: local }, entryKeys(local)[0]!, ctx), 'counter name "c2" jump ap_serv21 comment "e2"');
    const rl = actionRule(actionRef(local.action, ctx));
    assert.equal(rl, 'dup to "serv21"');
    assert.ok(!/mark/.test(rl), 'a local copy does not touch the mark');
    assert.equal(copyRule({ n: 3, entry: third(1, 'serv21') }, entryKeys(third(1, 'serv21'))[0]!, ctx), 'counter name "c3" fwd to "serv21" comment "e3"');
  });

  it('adding entries: counters, action chains, key chains that return to their stage, map elements, catalog', () => {
    const e1 = access('s1|first', 'source');
    const e2 = access('s1|second', 'destination', { exceptPorts: ['vm210'] });
    const d = third(1, 'serv21');
    const { script } = addAll([e1, e2, d]);
    const lines = script.split('\n');
    for (const n of [1, 2, 3]) assert.ok(lines.includes(`add counter netdev evpn_mirror c${n}`));
    const rules = rulesByChain(script);
    // One copy rule per entry and nothing else: the map elements jump here, so the frame goes
    // back to its stage afterwards.
    for (const c of ['v1_sm_020000000210', 'v1_s4_0a0100d2', 'v1_dm_020000000210', 'v1_d4_0a0100d2', 'dlv_1']) assert.equal(rules.get(c)!.length, 1, c);
    assert.ok(lines.includes('add element netdev evpn_mirror v1_smac { 02:00:00:00:02:10 : jump v1_sm_020000000210 }'));
    assert.ok(lines.includes('add element netdev evpn_mirror v1_dip4 { 10.1.0.210 : jump v1_d4_0a0100d2 }'));
    assert.ok(lines.includes('add element netdev evpn_mirror deliver { 1 : goto dlv_1 }'), 'fwd ends the frame: the delivery chain is gone to');
    // Both tunnel entries share one action chain, created before the first rule jumping there.
    assert.deepEqual(rules.get('at_c0000268_1'), ['meta mark set meta mark ^ 0x0001 dup to "emtx-c0000268" meta mark set meta mark ^ 0x0001']);
    const created = lines.indexOf('add chain netdev evpn_mirror at_c0000268_1');
    assert.ok(created >= 0 && created < lines.findIndex((l) => l.includes('jump at_c0000268_1')));
    assert.equal([...rules.keys()].filter((c) => c.startsWith('a')).length, 1);
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
    assert.deepEqual([...ix.actions.keys()].sort(), ['ap_serv21', 'at_c0000268_1']);
    const after = ix.clone();
    const touched = after.remove('a|first');
    let s = transitionScript(ctx, { before: ix, after, chains: touched, dropped: [{ n: 1, chunks: 3 }], written: [], newCounters: [], goneCounters: [1] });
    let r = rulesByChain(s);
    assert.deepEqual(r.get('v1_sm_020000000210'), ['counter name "c2" jump ap_serv21 comment "e2"']);
    assert.ok(s.includes('flush chain netdev evpn_mirror v1_sm_020000000210'));
    assert.ok(!s.includes('add element netdev evpn_mirror v1_smac'), 'still linked: no new element');
    assert.ok(!s.includes('add chain netdev evpn_mirror ap_serv21'), 'the action chain in use stays as it is');
    assert.ok(s.includes('delete element netdev evpn_mirror catalog { 1 . 0, 1 . 1, 1 . 2 }'));
    assert.ok(s.includes('delete counter netdev evpn_mirror c1'));
    // The tunnel action chain nobody uses any more goes, after the rules that jumped there.
    let lines = s.trim().split('\n');
    assert.deepEqual(lines.slice(-2), ['flush chain netdev evpn_mirror at_c0000268_1', 'delete chain netdev evpn_mirror at_c0000268_1']);
    assert.ok(lines.indexOf('flush chain netdev evpn_mirror v1_sm_020000000210') < lines.length - 2);
    const last = after.clone();
    const t2 = last.remove('b|first');
    s = transitionScript(ctx, { before: after, after: last, chains: t2, dropped: [], written: [], newCounters: [], goneCounters: [2] });
    r = rulesByChain(s);
    assert.equal(r.size, 0);
    lines = s.split('\n');
    const del = lines.indexOf('delete element netdev evpn_mirror v1_smac { 02:00:00:00:02:10 }');
    assert.ok(del >= 0 && lines.indexOf('delete chain netdev evpn_mirror v1_sm_020000000210') > del, 'element goes before its chain');
    assert.ok(lines.indexOf('delete chain netdev evpn_mirror ap_serv21') > lines.indexOf('delete chain netdev evpn_mirror v1_sm_020000000210'));
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
  for (const { ref } of ix.actions.values()) {
    items.push({ chain: { name: ref.chain } });
    const xor = { mangle: { key: { meta: { key: 'mark' } }, value: { '^': [{ meta: { key: 'mark' } }, ref.hostId] } } };
    items.push({ rule: { chain: ref.chain, handle: handle++, expr: ref.hostId === undefined ? [{ dup: { addr: ref.target } }] : [xor, { dup: { addr: ref.target } }, xor] } });
  }
  for (const [chain, slot] of ix.byChain) {
    items.push({ chain: { name: chain } });
    if (!maps.has(slot.key.map)) maps.set(slot.key.map, []);
    maps.get(slot.key.map)!.push([slot.key.key, slot.key.kind === 'deliver' ? { goto: { target: chain } } : { jump: { target: chain } }]);
    for (const ne of ix.members(chain)) {
      const e = ne.entry;
      const act = e.kind === 'third' ? { fwd: { dev: e.action.port } } : { jump: { target: actionRef(e.action, ctx).chain } };
      items.push({ rule: { chain, handle: handle++, comment: `e${ne.n}`, expr: [{ counter: `c${ne.n}` }, act] } });
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
    assert.equal(v.chainTargets.get('dlv_1'), 'serv21');
    // the transmit device was deleted: its action chain is stale, the entries are fine
    v = verifyTable(
      parseTable(
        fakeKernelJson(ix, (items) => {
          for (const i of items) if ((i.rule as { chain?: string })?.chain === 'at_c0000268_1') (i.rule as { expr: Record<string, unknown>[] }).expr[1] = { dup: { addr: '12' } };
        }),
      ),
      ctx,
    );
    assert.equal(v.good.length, 2);
    assert.deepEqual([...v.staleTargets], ['at_c0000268_1']);
    assert.equal(v.chainTargets.get('at_c0000268_1'), 'emtx-c0000268');
    assert.deepEqual([...v.dirtyChains], []);
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
    // Its counter goes, and so does the action chain no good entry uses any more (last).
    assert.deepEqual(lines.slice(-3), ['delete counter netdev evpn_mirror c1', 'flush chain netdev evpn_mirror at_c0000268_1', 'delete chain netdev evpn_mirror at_c0000268_1']);
    assert.ok(lines.indexOf('delete chain netdev evpn_mirror v1_sm_020000000210') < lines.length - 3);
  });

  it('fullScript rebuilds every chain, element, counter and catalog chunk of an index', () => {
    const { ix, script } = addAll([e1, e2]);
    assert.equal(fullScript(ctx, ix), script);
  });
});

/** `nft list table netdev evpn_mirror` of nft 1.0.6 (kernel 6.18), verbatim: the skeleton for
 * ports vm210/vm220 and the four entries of KERNEL_TEXT_ENTRIES, numbered 1..4. */
const KERNEL_TEXT = `table netdev evpn_mirror {
	counter foreign_mark {
		packets 0 bytes 0
	}

	counter rx_undelivered {
		packets 0 bytes 0
	}

	counter c1 {
		packets 0 bytes 0
	}

	counter c2 {
		packets 0 bytes 0
	}

	counter c3 {
		packets 0 bytes 0
	}

	counter c4 {
		packets 0 bytes 0
	}

	set catalog {
		type mark . mark
		elements = { 0x00000001 . 0x00000000 comment "~A f s * s1 1 02:00:00:00:02:10 10.1.0.210 2001:db8::210 - T 192.0.2.104 1 16000000",
			     0x00000002 . 0x00000000 comment "~D * 1 16000000 serv21 s1",
			     0x00000003 . 0x00000000 comment "~A s d * s2 1 02:00:00:00:02:10 10.1.0.210 - vm210 L serv21",
			     0x00000004 . 0x00000000 comment "~A f s * x%20y%2Cz 1 02:00:00:00:02:20 10.1.0.220 - - T 192.0.2.104 1 16000000" }
	}

	map deliver {
		type mark : verdict
		elements = { 0x00000001 : goto dlv_1 }
	}

	map v1_smac {
		type ether_addr : verdict
		elements = { 02:00:00:00:02:10 : jump v1_sm_020000000210,
			     02:00:00:00:02:20 : jump v1_sm_020000000220 }
	}

	map v1_sip4 {
		type ipv4_addr : verdict
		elements = { 10.1.0.210 : jump v1_s4_0a0100d2, 10.1.0.220 : jump v1_s4_0a0100dc }
	}

	map v1_sip6 {
		type ipv6_addr : verdict
		elements = { 2001:db8::210 : jump v1_s6_20010db8000000000000000000000210 }
	}

	map v1_dmac {
		type ether_addr : verdict
		elements = { 02:00:00:00:02:10 : jump v1_dm_020000000210 }
	}

	map v1_dip4 {
		type ipv4_addr : verdict
		elements = { 10.1.0.210 : jump v1_d4_0a0100d2 }
	}

	map v1_dip6 {
		type ipv6_addr : verdict
	}

	chain v1_s {
		ether saddr vmap @v1_smac
		goto v1_si
	}

	chain v1_si {
		ip saddr vmap @v1_sip4
		ip6 saddr vmap @v1_sip6
		goto v1_d
	}

	chain v1_d {
		ether daddr vmap @v1_dmac
		goto v1_di
	}

	chain v1_di {
		ip daddr vmap @v1_dip4
		ip6 daddr vmap @v1_dip6
	}

	chain rx {
		type filter hook ingress device "emrx" priority filter; policy drop;
		meta mark vmap @deliver
		counter name "rx_undelivered" drop
	}

	chain port_vm210 {
		type filter hook ingress device "vm210" priority filter; policy accept;
		meta mark & 0x0000ffff != 0x00000000 counter name "foreign_mark"
		goto v1_s
	}

	chain port_vm220 {
		type filter hook ingress device "vm220" priority filter; policy accept;
		meta mark & 0x0000ffff != 0x00000000 counter name "foreign_mark"
		goto v1_s
	}

	chain ap_serv21 {
		dup to "serv21"
	}

	chain at_c0000268_1 {
		meta mark set meta mark ^ 0x00000001 dup to "emtx-c0000268" meta mark set meta mark ^ 0x00000001
	}

	chain dlv_1 {
		counter name "c2" fwd to "serv21" comment "e2"
	}

	chain v1_d4_0a0100d2 {
		ether daddr != 02:00:00:00:02:10 iifname != "vm210" counter name "c3" jump ap_serv21 comment "e3"
	}

	chain v1_dm_020000000210 {
		iifname != "vm210" counter name "c3" jump ap_serv21 comment "e3"
	}

	chain v1_s4_0a0100d2 {
		ether saddr != 02:00:00:00:02:10 counter name "c1" jump at_c0000268_1 comment "e1"
	}

	chain v1_s4_0a0100dc {
		ether saddr != 02:00:00:00:02:20 counter name "c4" jump at_c0000268_1 comment "e4"
	}

	chain v1_s6_20010db8000000000000000000000210 {
		ether saddr != 02:00:00:00:02:10 counter name "c1" jump at_c0000268_1 comment "e1"
	}

	chain v1_sm_020000000210 {
		counter name "c1" jump at_c0000268_1 comment "e1"
	}

	chain v1_sm_020000000220 {
		counter name "c4" jump at_c0000268_1 comment "e4"
	}
}
`;
const KERNEL_TEXT_ENTRIES: MirrorEntry[] = [
  access('s1|first', 'source', { ipv6: '2001:db8::210' }),
  third(1, 'serv21'),
  access('s2|second', 'destination', { exceptPorts: ['vm210'] }, { kind: 'local-port', port: 'serv21' }),
  access('x y,z|first', 'source', { mac: '02:00:00:00:02:20', ipv4: '10.1.0.220' }),
];

describe('dataplane linux: compact catalog and text read-back', () => {
  it('compact catalog text: one chunk for the usual entry, exact round trip, escapes, JSON fallback', () => {
    for (const e of [...KERNEL_TEXT_ENTRIES, access('s|second', 'destination', { exceptPorts: ['a', 'b.c'] }), { ...third(65535, 'p-1'), sessions: ['r1:1', 'r 2', '-', '*'] }]) {
      const c = catalogChunks(e);
      assert.ok(c[0]!.startsWith('~'), c[0]);
      assert.deepEqual(decodeCatalog(c), e);
      for (const chunk of c) assert.ok(chunk.length <= 128 && !/["\\\n]/.test(chunk), chunk);
    }
    assert.equal(catalogChunks(KERNEL_TEXT_ENTRIES[0]!).length, 1);
    // An id that is not the kind's own is kept; so are long fields (several chunks).
    const odd = { ...access('s1|first', 'source'), id: 'custom id' };
    assert.deepEqual(decodeCatalog(catalogChunks(odd)), odd);
    const long = access(`${'x'.repeat(150)}|first`, 'source', { exceptPorts: Array.from({ length: 20 }, (_, i) => `port${i}`) });
    assert.ok(catalogChunks(long).length > 1);
    assert.deepEqual(decodeCatalog(catalogChunks(long)), long);
    // What the compact text cannot carry exactly goes as base64 JSON, still decoded exactly.
    const extra = { ...access('s1|first', 'source'), note: 'x' } as unknown as MirrorEntry;
    const empty = access('|first', 'source');
    for (const e of [extra, empty]) {
      assert.equal(compactEntry(e), undefined);
      assert.ok(!catalogChunks(e)[0]!.startsWith('~'));
      assert.deepEqual(decodeCatalog(catalogChunks(e)), e);
    }
    // Tables written before the compact text (base64 JSON chunks) still read back.
    const old = Buffer.from(JSON.stringify(KERNEL_TEXT_ENTRIES[0]), 'utf8').toString('base64');
    assert.deepEqual(decodeCatalog([old.slice(0, 128), old.slice(128, 256), old.slice(256)]), KERNEL_TEXT_ENTRIES[0]);
    assert.throws(() => decodeCatalog(['~A f s * s1 1']), /bad action/);
    assert.throws(() => decodeCatalog(['~D * 1 16000000 p']), /5 fields, not 6/);
  });

  it('parses the text listing of a real kernel table: entries, counters, maps, base chains', () => {
    const st = parseTableText(KERNEL_TEXT);
    assert.equal(st.exists, true);
    assert.deepEqual([...st.baseChains].sort(), ['port_vm210', 'port_vm220', 'rx']);
    assert.ok(st.chains.has('v1_s6_20010db8000000000000000000000210') && st.chains.has('v1_si'));
    assert.deepEqual(st.counters.get('rx_undelivered'), { packets: 0, bytes: 0 });
    assert.equal(st.maps.get('deliver')!.get('1'), 'dlv_1', 'mark keys are read as numbers');
    assert.equal(st.maps.get('v1_sip6')!.get('2001:db8::210'), 'v1_s6_20010db8000000000000000000000210');
    assert.equal(st.maps.get('v1_smac')!.size, 2, 'elements wrapped over two lines');
    assert.equal(st.maps.get('v1_dip6')!.size, 0);
    assert.equal(st.mapVerdicts.get('deliver')!.get('1'), 'goto');
    assert.equal(st.mapVerdicts.get('v1_smac')!.get('02:00:00:00:02:20'), 'jump');
    assert.deepEqual(
      st.rules.filter((r) => r.comment).map((r) => [r.chain, r.comment, r.jump ?? r.target]).sort(),
      [
        ['dlv_1', 'e2', 'serv21'],
        ['v1_d4_0a0100d2', 'e3', 'ap_serv21'],
        ['v1_dm_020000000210', 'e3', 'ap_serv21'],
        ['v1_s4_0a0100d2', 'e1', 'at_c0000268_1'],
        ['v1_s4_0a0100dc', 'e4', 'at_c0000268_1'],
        ['v1_s6_20010db8000000000000000000000210', 'e1', 'at_c0000268_1'],
        ['v1_sm_020000000210', 'e1', 'at_c0000268_1'],
        ['v1_sm_020000000220', 'e4', 'at_c0000268_1'],
      ],
    );
    assert.deepEqual(
      st.rules.filter((r) => r.chain.startsWith('a')).map((r) => [r.chain, r.target, r.xor]),
      [
        ['ap_serv21', 'serv21', undefined],
        ['at_c0000268_1', 'emtx-c0000268', 1],
      ],
    );
    const v = verifyTable(st, ctx);
    assert.deepEqual(v.broken, []);
    assert.deepEqual([...v.dirtyChains], []);
    assert.deepEqual([...v.staleTargets], []);
    assert.deepEqual(v.good.map((g) => [g.n, g.entry]), KERNEL_TEXT_ENTRIES.map((e, i) => [i + 1, e]));
    assert.deepEqual(parseTableText('').exists, false);
  });

  it('text and JSON listings of the same table read the same; hand edits are found in the text too', () => {
    const { ix } = addAll(KERNEL_TEXT_ENTRIES);
    const fromJson = verifyTable(parseTable(fakeKernelJson(ix)), ctx);
    const fromText = verifyTable(parseTableText(KERNEL_TEXT), ctx);
    assert.deepEqual(fromText.good, fromJson.good);
    // A copy target whose device was deleted: nft prints its old ifindex.
    let v = verifyTable(parseTableText(KERNEL_TEXT.replace('fwd to "serv21" comment "e2"', 'fwd to 7 comment "e2"')), ctx);
    assert.equal(v.good.length, 4);
    assert.deepEqual([...v.staleTargets], ['dlv_1']);
    // A copy rule deleted by hand; a counter gone.
    v = verifyTable(parseTableText(KERNEL_TEXT.replace(/\n\t\tether daddr != 02:00:00:00:02:10 iifname[^\n]*/, '')), ctx);
    assert.deepEqual(v.broken.map((b) => b.n), [3]);
    assert.match(v.broken[0]!.reason, /0 copy rules in v1_d4_0a0100d2/);
    v = verifyTable(parseTableText(KERNEL_TEXT.replace(/\tcounter c4 \{\n[^}]*\}\n/, '')), ctx);
    assert.deepEqual(v.broken.map((b) => b.n), [4]);
    // A copy rule edited to jump elsewhere; an element edited to goto instead of jump.
    v = verifyTable(parseTableText(KERNEL_TEXT.replace('chain v1_sm_020000000220 {\n\t\tcounter name "c4" jump at_c0000268_1', 'chain v1_sm_020000000220 {\n\t\tcounter name "c4" jump ap_serv21')), ctx);
    assert.match(v.broken[0]!.reason, /e4\) jumps to ap_serv21 instead of at_c0000268_1/);
    v = verifyTable(parseTableText(KERNEL_TEXT.replace('10.1.0.220 : jump v1_s4_0a0100dc', '10.1.0.220 : goto v1_s4_0a0100dc')), ctx);
    assert.match(v.broken[0]!.reason, /map v1_sip4 does not jump to v1_s4_0a0100dc/);
    // An action chain edited (another device, e.g. renamed; another HOST-ID): the entries
    // copying through it are wrong, so they are dropped (and added again by the reconciler),
    // and the chain no good entry uses goes; a deleted device only makes it stale.
    const tx = 'meta mark set meta mark ^ 0x00000001 dup to "emtx-c0000268" meta mark set meta mark ^ 0x00000001';
    for (const [edit, why] of [
      [tx.replace('"emtx-c0000268"', '"vm220"'), /at_c0000268_1 copies to vm220 instead of emtx-c0000268/],
      [tx.replace(/0x00000001/g, '0x00000002'), /at_c0000268_1 sets HOST-ID 2 instead of 1/],
    ] as const) {
      v = verifyTable(parseTableText(KERNEL_TEXT.replace(tx, edit)), ctx);
      assert.deepEqual(v.good.map((g) => g.n), [2, 3]);
      assert.deepEqual(v.broken.map((b) => b.n), [1, 4]);
      assert.match(v.broken[0]!.reason, why);
      assert.ok(v.dirtyChains.has('at_c0000268_1') && v.dirtyChains.has('v1_sm_020000000220'), [...v.dirtyChains].join(' '));
    }
    v = verifyTable(parseTableText(KERNEL_TEXT.replace(tx, tx.replace('"emtx-c0000268"', '14'))), ctx);
    assert.deepEqual([...v.staleTargets], ['at_c0000268_1']);
    // An unused action chain, and a rule added by hand to a key chain, are cleaned up.
    v = verifyTable(parseTableText(KERNEL_TEXT.replace('\tchain dlv_1 {', '\tchain ap_vm220 {\n\t\tdup to "vm220"\n\t}\n\n\tchain dlv_1 {').replace('counter name "c3" jump ap_serv21 comment "e3"\n', 'counter name "c3" jump ap_serv21 comment "e3"\n\t\tcounter drop\n')), ctx);
    assert.equal(v.good.length, 4);
    assert.deepEqual([...v.dirtyChains].sort(), ['ap_vm220', 'v1_d4_0a0100d2']);
  });

  it('set elements: quotes, commas and braces inside comments, wrapped lines', () => {
    const text = [
      'table netdev evpn_mirror {',
      '\tset catalog {',
      '\t\ttype mark . mark',
      '\t\telements = { 0x00000001 . 0x00000000 comment "~A s d * a%20b 1 02:00:00:00:02:10 - - x,y L p",',
      '\t\t\t     0x00000001 . 0x00000001 comment "} { ,", 0x0000000a . 0x00000000 comment "" }',
      '\t}',
      '\tchain c {',
      '\t\tcounter name "c1" dup to "p" comment "e1"',
      '\t}',
      '}',
    ].join('\n');
    const st = parseTableText(text);
    assert.deepEqual([...st.catalog.get(1)!], [
      [0, '~A s d * a%20b 1 02:00:00:00:02:10 - - x,y L p'],
      [1, '} { ,'],
    ]);
    assert.deepEqual([...st.catalog.get(10)!], [[0, '']]);
    assert.deepEqual(st.rules, [{ chain: 'c', handle: 0, comment: 'e1', target: 'p' }]);
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

  it('a static FDB entry is a sticky local MAC in the MAC table (RFC 7432 section 15.2); dynamic again is not', async () => {
    const runner = fakeRunner({
      'ip -j -d link show type vxlan': JSON.stringify([{ ifname: 'vx1' }]),
      'bridge -j fdb show dev vx1': '[]',
      'bridge -j fdb show br br1': JSON.stringify([{ mac: '02:00:00:00:00:21', ifname: 'serv21', master: 'br1', state: 'static' }]),
    });
    const w = new FdbWatcher({ runner, bridges: { 1: 'br1' } });
    const table = new MacTable({ selfVtep: '192.0.2.104', clock: new ManualClock() });
    const events: FdbEvent[] = [];
    w.on('event', (e) => {
      events.push(e);
      applyFdbEvent(table, e);
    });
    await w.resync();
    assert.deepEqual(events.map((e) => e.to), [{ kind: 'local', port: 'serv21', static: true }]);
    assert.equal(table.status(1, '02:00:00:00:00:21')?.sticky, true);
    w.onLine('02:00:00:00:00:21 dev serv21 master br1 static'); // the same: no event
    assert.equal(events.length, 1);
    w.onLine('02:00:00:00:00:21 dev serv21 master br1 '); // replaced by a learned entry
    assert.deepEqual(events.map((e) => e.change), ['learn', 'port-change']);
    assert.equal(table.status(1, '02:00:00:00:00:21')?.sticky, false);
  });
});
