import assert from 'node:assert/strict';
import { LocRib, Path, PathSource, comparePaths, routeKey, AttributeSet, LOCAL_SOURCE_ADDRESS } from '../../src/bgp/rib';
import { EvpnMacIp } from '../../src/bgp/packet/evpn';
import { PathAttributes } from '../../src/bgp/packet/attributes';
import { ESI_ZERO } from '../../src/bgp/packet/rd';

const rr1: PathSource = { address: '10.0.0.1', routerId: '10.0.0.1', ibgp: true };
const rr2: PathSource = { address: '10.0.0.2', routerId: '10.0.0.2', ibgp: true };
const local: PathSource = { address: LOCAL_SOURCE_ADDRESS, routerId: '9.9.9.9', ibgp: true };

function macRoute(mac: string, rd = '1.1.1.1:1', ip?: string): EvpnMacIp {
  const r: EvpnMacIp = { type: 2, rd, esi: ESI_ZERO, ethernetTag: 0, mac, label1: 1 };
  if (ip) r.ip = ip;
  return r;
}

function path(route: EvpnMacIp, source: PathSource, nextHop: string, attrs: PathAttributes = {}): Path {
  const attrSet: AttributeSet = { attrs: { origin: 0, asPath: [], ...attrs }, nextHop };
  return { key: routeKey(route), family: 'l2vpn-evpn', route, attrSet, source, stale: false };
}

const mm = (sequence: number, sticky = false): PathAttributes => ({ extCommunities: [{ kind: 'mac-mobility', sequence, sticky }] });

describe('Loc-RIB decision process', () => {
  it('route identity ignores ESI and labels (FRR withdraws zero them)', () => {
    const a = macRoute('aa:aa:aa:aa:aa:01', '1.1.1.1:1', '10.1.1.1');
    const b = { ...a, esi: '01:02:03:04:05:06:07:08:09:0a', label1: 0, label2: 7 };
    assert.equal(routeKey(a), routeKey(b));
    assert.notEqual(routeKey(a), routeKey({ ...a, ip: '10.1.1.2' }));
    assert.notEqual(routeKey(a), routeKey({ ...a, rd: '1.1.1.1:2' }));
  });

  it('MAC Mobility: the higher sequence wins regardless of arrival order (RFC 7432 section 15)', () => {
    const r = macRoute('aa:aa:aa:aa:aa:02');
    for (const order of [0, 1]) {
      const rib = new LocRib();
      const low = path(r, rr1, '10.9.0.1', mm(1));
      const high = path(r, rr2, '10.9.0.9', mm(5));
      const [first, second] = order ? [high, low] : [low, high];
      rib.upsert(first);
      rib.upsert(second);
      assert.equal(rib.best(low.key), high);
    }
  });

  it('MAC Mobility: a route without the community has sequence 0', () => {
    const r = macRoute('aa:aa:aa:aa:aa:03');
    const rib = new LocRib();
    rib.upsert(path(r, rr1, '10.9.0.1'));
    const withSeq = path(r, rr2, '10.9.0.9', mm(1));
    const c = rib.upsert(withSeq);
    assert.equal(c?.best, withSeq);
  });

  it('MAC Mobility: equal sequence -> lowest next-hop (PE) IP wins (section 15.1)', () => {
    const r = macRoute('aa:aa:aa:aa:aa:04');
    const rib = new LocRib();
    const far = path(r, rr1, '10.9.0.20', mm(2));
    const near = path(r, rr2, '10.9.0.3', mm(2));
    rib.upsert(far);
    rib.upsert(near);
    assert.equal(rib.best(far.key), near);
    // numeric, not text, order: 10.9.0.3 < 10.9.0.20
    assert.ok(comparePaths(near, far) < 0);
  });

  it('MAC Mobility: sticky wins over a higher sequence (section 15.2)', () => {
    const r = macRoute('aa:aa:aa:aa:aa:05');
    const rib = new LocRib();
    const sticky = path(r, rr1, '10.9.0.5', mm(0, true));
    const moving = path(r, rr2, '10.9.0.1', mm(9));
    rib.upsert(moving);
    rib.upsert(sticky);
    assert.equal(rib.best(sticky.key), sticky);
  });

  it('withdraw of the best path falls back to the next one', () => {
    const r = macRoute('aa:aa:aa:aa:aa:06');
    const rib = new LocRib();
    const a = path(r, rr1, '10.9.0.1', mm(3));
    const b = path(r, rr2, '10.9.0.2', mm(2));
    rib.upsert(a);
    rib.upsert(b);
    assert.equal(rib.best(a.key), a);
    const change = rib.remove(a.key, rr1.address);
    assert.equal(change?.best, b);
    assert.equal(change?.previous, a);
    const gone = rib.remove(a.key, rr2.address);
    assert.equal(gone?.best, undefined);
    assert.equal(rib.size, 0);
    assert.equal([...rib.entriesForMac('aa:aa:aa:aa:aa:06')].length, 0);
  });

  it('standard steps: local pref, then AS path length, origin, MED, originator id, cluster list', () => {
    const r = macRoute('aa:aa:aa:aa:aa:07');
    const base = (attrs: PathAttributes, src = rr1) => path(r, src, '10.9.0.1', attrs);
    assert.ok(comparePaths(base({ localPref: 200 }), base({ localPref: 100 }, rr2)) < 0);
    assert.ok(comparePaths(base({ asPath: [] }), base({ asPath: [{ type: 2, asns: [1] }] }, rr2)) < 0);
    assert.ok(comparePaths(base({ origin: 0 }), base({ origin: 2 }, rr2)) < 0);
    assert.ok(comparePaths(base({ med: 5 }), base({ med: 10 }, rr2)) < 0);
    assert.ok(comparePaths(base({ originatorId: '1.1.1.1' }, rr2), base({ originatorId: '2.2.2.2' })) < 0);
    assert.ok(comparePaths(base({ originatorId: '1.1.1.1', clusterList: ['3.3.3.3'] }, rr2), base({ originatorId: '1.1.1.1', clusterList: ['3.3.3.3', '4.4.4.4'] })) < 0);
    // last resort: lower peer address
    assert.ok(comparePaths(base({}, rr1), base({}, rr2)) < 0);
  });

  it('a fresh path beats a stale one (graceful restart)', () => {
    const r = macRoute('aa:aa:aa:aa:aa:08');
    const stale = path(r, rr1, '10.9.0.1', mm(7));
    stale.stale = true;
    const fresh = path(r, rr2, '10.9.0.2', mm(1));
    assert.ok(comparePaths(fresh, stale) < 0);
  });

  it('local routes beat learned ones at equal MAC mobility and local pref', () => {
    const r = macRoute('aa:aa:aa:aa:aa:09');
    const mine = path(r, local, '10.9.0.9');
    const learned = path(r, rr1, '10.9.0.9');
    assert.ok(comparePaths(mine, learned) < 0);
  });

  it('macWinner picks across RDs with the MAC Mobility rules and honours the filter', () => {
    const rib = new LocRib();
    const mac = 'aa:aa:aa:aa:aa:0a';
    const onLeaf1 = path(macRoute(mac, '10.0.0.11:1'), rr1, '10.0.0.11', mm(1));
    const onLeaf2 = path(macRoute(mac, '10.0.0.12:1'), rr1, '10.0.0.12', mm(2));
    const otherVni = path({ ...macRoute(mac, '10.0.0.13:2'), label1: 2 }, rr1, '10.0.0.13', mm(9));
    rib.upsert(onLeaf1);
    rib.upsert(onLeaf2);
    rib.upsert(otherVni);
    assert.equal(rib.macWinner(mac), otherVni);
    assert.equal(rib.macWinner(mac, (p) => (p.route as EvpnMacIp).label1 === 1), onLeaf2);
    rib.remove(onLeaf2.key, rr1.address);
    assert.equal(rib.macWinner(mac, (p) => (p.route as EvpnMacIp).label1 === 1), onLeaf1);
    assert.equal(rib.macWinner('aa:aa:aa:aa:aa:ff'), undefined);
  });

  it('the MAC index is right whether it is built before or after the routes arrive', () => {
    const mac = 'aa:aa:aa:aa:aa:0c';
    const a = path(macRoute(mac, '10.0.0.11:1'), rr1, '10.0.0.11', mm(1));
    const b = path(macRoute(mac, '10.0.0.12:1'), rr1, '10.0.0.12', mm(4));
    const c = path(macRoute(mac, '10.0.0.13:1'), rr1, '10.0.0.13', mm(2));
    const early = new LocRib();
    assert.equal(early.macWinner(mac), undefined); // index built now, on an empty RIB
    for (const p of [a, b, c]) early.upsert(p);
    const late = new LocRib();
    for (const p of [a, b, c]) late.upsert(p);
    for (const rib of [early, late]) {
      assert.equal(rib.macWinner(mac), b);
      assert.equal([...rib.entriesForMac(mac)].length, 3);
      rib.remove(b.key, rr1.address);
      assert.equal(rib.macWinner(mac), c);
      rib.remove(c.key, rr1.address);
      assert.deepEqual([...rib.entriesForMac(mac)].map((e) => e.best), [a]);
      rib.remove(a.key, rr1.address);
      assert.equal([...rib.entriesForMac(mac)].length, 0);
    }
  });

  it('an unchanged best path reports no change', () => {
    const r = macRoute('aa:aa:aa:aa:aa:0b');
    const rib = new LocRib();
    const a = path(r, rr1, '10.9.0.1', mm(3));
    rib.upsert(a);
    assert.equal(rib.upsert(path(r, rr2, '10.9.0.2', mm(1))), undefined);
  });
});
