// yang/evpn-mirror.yang against libyang's yanglint (Debian libyang2-tools): the module is
// valid, the example instance data is valid, what the server writes for get-config is valid
// instance data, and yanglint and the server agree on which documents are invalid (the
// server's hand-written schema is held to the module this way).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_NS } from '../../src/netconf/errors';
import { ConfigNode, applyEdit, toXml } from '../../src/netconf/tree';
import { validateDatastore } from '../../src/netconf/validate';
import { Datastores } from '../../src/netconf/datastore';
import { MODULES } from '../../src/netconf/library';
import { NetconfServer } from '../../src/netconf/server';
import { parseXml } from '../../src/netconf/xml';
import { MemClient, SAMPLE_STATE } from '../support/netconf-mem';

const ROOT = join(__dirname, '..', '..', '..');
const MODULE = join(ROOT, 'yang', 'evpn-mirror.yang');
const SEARCH = '/usr/share/yang/modules/libyang';

function yanglint(...args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('yanglint', ['-p', SEARCH, ...args], { encoding: 'utf8' });
  if (r.error) throw new Error(`yanglint did not run (scripts/setup.sh installs libyang2-tools): ${r.error.message}`);
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** Our verdict on an <evpn-mirror> document: syntax (edit) and then whole-datastore checks. */
function ours(doc: string): boolean {
  const root = new ConfigNode();
  const config = parseXml(`<config xmlns="${BASE_NS}">${doc}</config>`);
  if (applyEdit(root, config, 'merge', 'rollback-on-error').length) return false;
  return validateDatastore(root).ok;
}

const EM = 'urn:evpn-mirror:yang:evpn-mirror';
const server = (over: Record<string, string> = {}) => {
  const f = { name: 'SERV21', mac: '02:00:00:00:00:21', ipv4: '10.1.0.21', 'host-id': '1', ...over };
  return `<monitor-server>${Object.entries(f)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join('')}</monitor-server>`;
};
const session = (over: Record<string, string> = {}) => {
  const f = { name: 'w', vni: '1', mac: '02:00:00:00:02:10', 'monitor-server': 'SERV21', direction: '', ...over };
  return `<session><name>${f.name}</name>${f.vni ? `<vni>${f.vni}</vni>` : ''}${f.mac ? `<monitored-host><mac>${f.mac}</mac></monitored-host>` : ''}<monitor-server>${f['monitor-server']}</monitor-server>${f.direction ? `<direction>${f.direction}</direction>` : ''}</session>`;
};
const doc = (inner: string) => `<evpn-mirror xmlns="${EM}">${inner}</evpn-mirror>`;

const CASES: [string, string, boolean][] = [
  ['the worked example', doc(server() + session()), true],
  ['IPv6 only server, both directions', doc(server({ ipv4: '', ipv6: '2001:db8::21' }) + session({ direction: 'to-host' })), true],
  ['HOST-ID 0', doc(server({ 'host-id': '0' })), false],
  ['HOST-ID 65536', doc(server({ 'host-id': '65536' })), false],
  ['VNI 0', doc(server() + session({ vni: '0' })), false],
  ['VNI 2^24', doc(server() + session({ vni: '16777216' })), false],
  ['bad MAC', doc(server({ mac: '02:00:00:00:00' })), false],
  ['MAC with dashes (not yang:mac-address)', doc(server({ mac: '02-00-00-00-00-21' })), false],
  ['server without IP (must)', doc(server({ ipv4: '' })), false],
  ['two servers with one HOST-ID (unique)', doc(server() + server({ name: 'S2', mac: '02:00:00:00:00:22' })), false],
  ['two servers with one MAC (unique)', doc(server() + server({ name: 'S2', 'host-id': '2' })), false],
  ['dangling monitor-server (leafref)', doc(server() + session({ 'monitor-server': 'NOPE' })), false],
  ['session without VNI (mandatory)', doc(server() + session({ vni: '' })), false],
  ['session without host MAC (mandatory)', doc(server() + session({ mac: '' })), false],
  ['bad direction', doc(server() + session({ direction: 'sideways' })), false],
  ['bad name', doc(server({ name: '-x' })), false],
  ['route target form', doc('<monitoring-route-target>65000:268435456</monitoring-route-target>'), true],
  ['route target garbage', doc('<monitoring-route-target>sixty</monitoring-route-target>'), false],
];

describe('YANG module evpn-mirror and yanglint', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'em-yang-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the module is valid YANG 1.1', () => {
    const r = yanglint(MODULE);
    assert.ok(r.ok, r.out);
  });

  it('the example instance data is valid', () => {
    const r = yanglint('-t', 'config', MODULE, join(ROOT, 'yang', 'examples', 'worked-example.xml'));
    assert.ok(r.ok, r.out);
  });

  for (const [what, xml, valid] of CASES)
    it(`${valid ? 'accepts' : 'refuses'} ${what}: yanglint and the server agree`, () => {
      const file = join(dir, 'data.xml');
      writeFileSync(file, xml);
      const lint = yanglint('-t', 'config', MODULE, file);
      assert.equal(lint.ok, valid, `yanglint: ${lint.out}`);
      assert.equal(ours(xml), valid, 'server');
    });

  it('what get-config writes is valid instance data', () => {
    const root = new ConfigNode();
    const cfg = parseXml(`<config xmlns="${BASE_NS}">${doc(server() + server({ name: 'S6', mac: '02:00:00:00:00:66', ipv4: '', ipv6: '2001:DB8::0:66', 'host-id': '6' }) + session() + session({ name: 'x', direction: 'from-host' }))}</config>`);
    assert.deepEqual(applyEdit(root, cfg, 'merge', 'rollback-on-error'), []);
    const file = join(dir, 'written.xml');
    writeFileSync(file, toXml(root));
    assert.match(readFileSync(file, 'utf8'), /<ipv6>2001:db8::66<\/ipv6>/, 'canonical IPv6');
    const r = yanglint('-t', 'config', MODULE, file);
    assert.ok(r.ok, r.out);
  });

  it('every module the server serves (get-schema, yang library) is valid YANG, from the package alone', () => {
    for (const m of MODULES) {
      // -D: no search in the working directory; the only search path is the package's yang/.
      const r = spawnSync('yanglint', ['-D', '-p', join(ROOT, 'yang'), join(ROOT, 'yang', m.file)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${m.file}: ${r.stdout}${r.stderr}`);
      assert.match(readFileSync(join(ROOT, 'yang', m.file), 'utf8'), new RegExp(`^module ${m.name} \\{[\\s\\S]*revision "?${m.revision}"? \\{`), m.file);
    }
  });

  it('a whole <get> reply (config, agent state, netconf-state, modules-state) is valid instance data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'em-yang-get-'));
    const ds = new Datastores({ stateDir: dir });
    ds.load();
    const nc = new NetconfServer({ datastores: ds, state: () => SAMPLE_STATE });
    try {
      const c = new MemClient(nc);
      await c.open();
      await c.ok(`<edit-config><target><running/></target><config>${doc(server() + session())}</config></edit-config>`);
      await c.ok('<lock><target><candidate/></target></lock>');
      const reply = await c.rpcText('<get/>');
      const inner = /<data>([\s\S]*)<\/data><\/rpc-reply>$/.exec(reply)?.[1];
      assert.ok(inner, reply.slice(0, 300));
      for (const top of ['<evpn-mirror ', '<state>', '<netconf-state ', '<modules-state ', '<locked-by-session>']) assert.ok(inner.includes(top), `${top} in the reply`);
      const file = join(dir, 'get.xml');
      writeFileSync(file, inner);
      // Every implemented module, from the files the server serves (ietf-yang-library@2016-06-21 included).
      const mods = MODULES.filter((m) => m.conformance === 'implement').map((m) => join(ROOT, 'yang', m.file));
      const r = yanglint('-t', 'get', ...mods, file);
      assert.ok(r.ok, r.out);
      // And a broken copy is refused, so the check above can fail.
      writeFileSync(file, inner.replace('<conformance-type>import</conformance-type>', '<conformance-type>imported</conformance-type>'));
      assert.equal(yanglint('-t', 'get', ...mods, file).ok, false);
    } finally {
      nc.closeAll();
      ds.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
