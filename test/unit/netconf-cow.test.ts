// The configuration tree is copy-on-write (src/netconf/tree.ts): an edit of a datastore's
// clone shares every node it does not change, and the XML, data nodes and validation of a
// list entry are cached per entry. These properties hold that to account over random
// sequences of edits (every operation, every error-option, valid and invalid values, on
// list entries, a nested container and leaves):
//  1. an edit never changes the datastore it was cloned from, whatever the edit's outcome;
//  2. the result equals the same edit applied to a copy sharing nothing (the pre-COW way);
//  3. what the caches give (toXml, toData + dataToXml, validateDatastore) equals what a copy
//     with empty caches gives, after every step: nothing stale is ever served;
//  4. a subtree filter gives the same answer whether toData() was told the filter (and left
//     out the list entries it cannot select) or not.
// Contents are compared through deepClone(), whose fresh nodes have no cache entries.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { BASE_NS } from '../../src/netconf/errors';
import { dataToXml, filterSiblings } from '../../src/netconf/filter';
import { ConfigNode, ErrorOption, applyEdit, toData, toXml } from '../../src/netconf/tree';
import { validateDatastore } from '../../src/netconf/validate';
import { parseXml } from '../../src/netconf/xml';

const EM = 'urn:evpn-mirror:yang:evpn-mirror';
const OPS = ['merge', 'replace', 'create', 'delete', 'remove', undefined] as const;
type Op = (typeof OPS)[number];

const opAttr = (op: Op) => (op ? ` nc:operation="${op}"` : '');

interface ServerEdit {
  kind: 'server';
  op: Op;
  name: string;
  mac?: string;
  ipv4?: string;
  hostId?: string;
}
interface SessionEdit {
  kind: 'session';
  op: Op;
  name: string;
  vni?: string;
  hostOp: Op;
  hostMac?: string;
  hostIpv4?: string;
  server?: string;
  direction?: string;
  directionOp: Op;
}
interface RtEdit {
  kind: 'rt';
  op: Op;
  value: string;
}
type Item = ServerEdit | SessionEdit | RtEdit;

const name = fc.constantFrom('S1', 'S2', 'S3');
const sname = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const mac = fc.constantFrom('02:00:00:00:00:21', '02:00:00:00:00:22', '02:00:00:00:02:10', '02:00:00:00:02:11', 'zz:00:00:00:00:01');
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const op = fc.constantFrom(...OPS);

const item: fc.Arbitrary<Item> = fc.oneof(
  fc.record({ kind: fc.constant('server' as const), op, name, mac: opt(mac), ipv4: opt(fc.constantFrom('10.0.0.1', '10.0.0.2', '300.1.1.1')), hostId: opt(fc.constantFrom('1', '2', '0')) }),
  fc.record({
    kind: fc.constant('session' as const),
    op,
    name: sname,
    vni: opt(fc.constantFrom('10', '20', '0')),
    hostOp: op,
    hostMac: opt(mac),
    hostIpv4: opt(fc.constantFrom('10.1.0.1', '10.1.0.2')),
    server: opt(name),
    direction: opt(fc.constantFrom('both', 'to-host', 'sideways')),
    directionOp: op,
  }),
  fc.record({ kind: fc.constant('rt' as const), op, value: fc.constantFrom('65000:268435456', '65000:1', 'x') }),
);

function itemXml(i: Item): string {
  const leaf = (n: string, v: string | undefined, o: Op = undefined) => (v === undefined && !o ? '' : `<${n}${opAttr(o)}>${v ?? ''}</${n}>`);
  switch (i.kind) {
    case 'server':
      return `<monitor-server${opAttr(i.op)}><name>${i.name}</name>${leaf('mac', i.mac)}${leaf('ipv4', i.ipv4)}${leaf('host-id', i.hostId)}</monitor-server>`;
    case 'session': {
      const host = i.hostMac || i.hostIpv4 || i.hostOp ? `<monitored-host${opAttr(i.hostOp)}>${leaf('mac', i.hostMac)}${leaf('ipv4', i.hostIpv4)}</monitored-host>` : '';
      return `<session${opAttr(i.op)}><name>${i.name}</name>${leaf('vni', i.vni)}${host}${leaf('monitor-server', i.server)}${leaf('direction', i.direction, i.directionOp)}</session>`;
    }
    case 'rt':
      return leaf('monitoring-route-target', i.value, i.op);
  }
}

// Filters: any mix of selection, containment and content match nodes over our names, some in
// another namespace, key values valid, invalid, padded with whitespace or absent.
const filterLeaf = fc.oneof(
  fc.constantFrom('<name>a</name>', '<name> b </name>', '<name>S1</name>', '<name>-bad</name>', '<name/>', '<vni>10</vni>', '<vni/>', '<direction>to-host</direction>', '<monitor-server/>'),
  fc.constantFrom('<monitored-host/>', '<monitored-host><mac/></monitored-host>', '<monitored-host><mac>02:00:00:00:02:10</mac></monitored-host>', '<mac>02:00:00:00:00:21</mac>', '<host-id/>'),
);
const filterEntry = fc.tuple(fc.constantFrom('session', 'monitor-server', 'other'), fc.constantFrom('', ` xmlns="${EM}"`, ' xmlns="urn:example:other"'), fc.array(filterLeaf, { maxLength: 3 })).map(([n, ns, kids]) => (kids.length ? `<${n}${ns}>${kids.join('')}</${n}>` : `<${n}${ns}/>`));
const filterDoc = fc.oneof(
  fc.array(filterEntry, { minLength: 1, maxLength: 3 }).map((kids) => `<evpn-mirror xmlns="${EM}">${kids.join('')}</evpn-mirror>`),
  fc.array(filterEntry, { maxLength: 2 }).map((kids) => `<evpn-mirror xmlns="${EM}"><monitoring-route-target>65000:268435456</monitoring-route-target>${kids.join('')}</evpn-mirror>`),
  fc.array(filterEntry, { maxLength: 2 }).map((kids) => `<evpn-mirror>${kids.join('')}</evpn-mirror><evpn-mirror xmlns="${EM}"><session><name>c</name></session></evpn-mirror>`),
  fc.constant(`<evpn-mirror xmlns="${EM}"/>`),
  fc.constant('<other xmlns="urn:example:other"/>'),
);

const edit = fc.record({
  items: fc.array(item, { minLength: 1, maxLength: 4 }),
  rootOp: fc.constantFrom<Op>(undefined, undefined, undefined, 'merge', 'replace'),
  errorOption: fc.constantFrom<ErrorOption>('rollback-on-error', 'stop-on-error', 'continue-on-error'),
  defaultOp: fc.constantFrom('merge' as const, 'merge' as const, 'replace' as const, 'none' as const),
  filters: fc.array(filterDoc, { maxLength: 3 }),
});

/** The content, through fresh nodes (no cached XML). */
const truth = (n: ConfigNode) => toXml(n.deepClone());

describe('NETCONF configuration tree: copy on write, per-entry caches, filter pruning', () => {
  it('edits never change what they were cloned from, equal edits of unshared copies, and caches never go stale', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 12 }), (edits) => {
        let ds = new ConfigNode(); // "running": only ever replaced, as Datastores does
        for (const e of edits) {
          const config = parseXml(`<config xmlns="${BASE_NS}" xmlns:nc="${BASE_NS}"><evpn-mirror xmlns="${EM}"${opAttr(e.rootOp)}>${e.items.map(itemXml).join('')}</evpn-mirror></config>`);
          const before = truth(ds);
          // Warm every cache of the current version first, so a stale one would show.
          toXml(ds);
          dataToXml(toData(ds));
          validateDatastore(ds);
          const work = ds.clone();
          const errors = applyEdit(work, config, e.defaultOp, e.errorOption);
          // 1. the original is untouched, whatever happened
          assert.equal(truth(ds), before, 'the edit changed the datastore it was cloned from');
          assert.equal(toXml(ds), before, 'cached XML of the original');
          // 2. same result as editing a copy that shares nothing
          const ref = ds.deepClone();
          const refErrors = applyEdit(ref, config, e.defaultOp, e.errorOption);
          assert.deepEqual(errors, refErrors);
          assert.equal(truth(work), truth(ref));
          // 3. the caches agree with fresh nodes
          assert.equal(toXml(work), truth(work));
          assert.equal(dataToXml(toData(work)), truth(work));
          assert.deepEqual(validateDatastore(work), validateDatastore(work.deepClone()));
          // 4. pruning by the filter's keys changes nothing
          for (const f of e.filters) {
            const fe = parseXml(`<filter xmlns="${BASE_NS}">${f}</filter>`).children;
            assert.equal(dataToXml(filterSiblings(toData(work, fe), fe)), dataToXml(filterSiblings(toData(work.deepClone()), fe)), f);
          }
          if (!errors.length || e.errorOption !== 'rollback-on-error') ds = work;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a small edit of a large datastore shares every entry it does not touch', () => {
    const root = new ConfigNode();
    const sessions = Array.from({ length: 200 }, (_, i) => `<session><name>s${i}</name><vni>${i + 1}</vni><monitored-host><mac>02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}</mac></monitored-host><monitor-server>S1</monitor-server></session>`);
    const cfg = (inner: string) => parseXml(`<config xmlns="${BASE_NS}"><evpn-mirror xmlns="${EM}">${inner}</evpn-mirror></config>`);
    assert.deepEqual(applyEdit(root, cfg(`<monitor-server><name>S1</name><mac>02:00:00:00:00:21</mac><ipv4>10.0.0.1</ipv4><host-id>1</host-id></monitor-server>${sessions.join('')}`), 'merge', 'rollback-on-error'), []);
    const work = root.clone();
    assert.deepEqual(applyEdit(work, cfg('<session><name>s7</name><vni>77</vni></session>'), 'merge', 'rollback-on-error'), []);
    const a = root.lists.get('session')!;
    const b = work.lists.get('session')!;
    assert.deepEqual([...b.keys()], [...a.keys()], 'entry order is kept');
    const changed = [...a.keys()].filter((k) => a.get(k) !== b.get(k));
    assert.deepEqual(changed, ['s7']);
    assert.equal(a.get('s7')!.leaves.get('vni'), '8');
    assert.equal(b.get('s7')!.leaves.get('vni'), '77');
    assert.equal(b.get('s7')!.containers.get('monitored-host'), a.get('s7')!.containers.get('monitored-host'), 'the untouched container is shared too');
  });
});
