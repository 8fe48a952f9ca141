// End-to-end acceptance of the lab (issue 6, acceptance 1-3): the method's worked example in
// network namespaces with real FRR 8.4 and real evpn-mirror agents (src/lab/fabric.ts), driven
// over NETCONF by ncclient from the ops namespace, checked with real packets captured at the
// monitor server SERV21. Run once per MAC mode (alongside FRR, standalone).
//
//   1. ncclient pushes the session (monitor VM210, copies to SERV21, HOST-ID 1) to VTEP101's
//      agent; every VTEP installs the worked example's entries, entry by entry.
//   2. SERV21 receives every packet from/to VM210 exactly once (ICMP by id/seq, numbered UDP).
//   3. VM210 moves 101 -> 102, then SERV21 moves 104 -> 103: the entries follow the table and
//      monitoring continues exactly once. The gap in mirrored traffic during each move is
//      measured with numbered UDP streams (5 ms apart) and printed, not asserted.
//   4. kill -9 of an agent and a restart bring back the same entries and sessions, nothing
//      twice (NETCONF state and the nftables table); the mirror gap during the restart of the
//      agent holding the 1st entry is printed.
//   5. Deleting the session over NETCONF removes every entry on every VTEP (NETCONF state and
//      the kernel's nftables table on all four).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { sleep } from '../../src/lab/exec';
import {
  AgentStateView,
  Fabric,
  HostName,
  HOSTS,
  HOST_NAMES,
  hostOfMac,
  MacMode,
  SESSION_NAME,
  Seen,
  StreamGap,
  VTEP_NOS,
  VtepNo,
  agentConfigYaml,
  agentIp,
  deleteSessionXml,
  leafConfig,
  rrConfig,
  entryLabel,
  sessionConfigXml,
  streamGap,
  workedExample,
} from '../../src/lab/fabric';
import { requireRoot } from './support';

const PY = '/usr/bin/python3';
const STEPS = join(__dirname, '..', '..', '..', 'test', 'interop', 'ncclient', 'nc_steps.py');
const STREAM_INTERVAL_MS = 5;

type StepResult = { ok: boolean; op: string; tag?: string; message?: string; exception?: string; xml?: string };

/** ncclient (Debian python3-ncclient) in the ops namespace; spawned asynchronously. */
async function ncclient(f: Fabric, steps: object[]): Promise<StepResult[]> {
  const r = await f.opsExec([PY, STEPS], { input: JSON.stringify(steps), timeoutMs: 60_000, allowFail: true });
  if (r.code !== 0) throw new Error(`ncclient failed (${r.code}): ${r.stderr}`);
  const out = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StepResult);
  for (const s of out) assert.ok(s.ok, `ncclient ${s.op}: ${s.tag ?? s.exception ?? ''} ${s.message ?? ''}`);
  return out;
}

const connect = (f: Fabric, no: VtepNo) => {
  const t = f.netconfTarget(no);
  return { s: 'a', op: 'connect', host: t.host, port: t.port, user: t.user, password: t.password };
};

/** The monitored host's traffic, and some that is not: what SERV21 must see, exactly once. */
async function trafficExactlyOnce(f: Fabric, tag: string): Promise<void> {
  const cap = await f.startCapture('SERV21');
  const pings: [HostName, HostName, number][] = [
    ['VM210', 'VM230', 20],
    ['VM220', 'VM210', 10],
    ['VM240', 'VM210', 10],
  ];
  for (const [a, b, n] of pings) {
    const p = await f.ping(a, b, n);
    assert.equal(p.received, n, `${a} -> ${b}: ${p.output}`);
  }
  const other = await f.ping('VM230', 'VM220', 5); // not monitored
  assert.equal(other.received, 5, other.output);
  await f.udpBurst('VM230', 'VM210', `${tag}-in`, 30);
  await f.udpBurst('VM210', 'VM240', `${tag}-out`, 30);
  await f.udpBurst('VM220', 'VM240', `${tag}-x`, 10); // not monitored
  await cap.stop();
  const seen = await f.readCapture(cap.file);
  const h = HOSTS.VM210.ipv4;
  const foreign = seen.filter((s) => s.src !== h && s.dst !== h);
  assert.deepEqual(foreign, [], 'SERV21 got copies of packets neither from nor to VM210');
  const count = new Map<string, number>();
  for (const s of seen) count.set(s.kind, (count.get(s.kind) ?? 0) + 1);
  const twice = [...count].filter(([, c]) => c !== 1);
  assert.deepEqual(twice, [], 'every packet exactly once');
  const distinct = (pred: (s: Seen) => boolean) => new Set(seen.filter(pred).map((s) => s.kind)).size;
  for (const [a, b, n] of pings) {
    const A = HOSTS[a].ipv4;
    const B = HOSTS[b].ipv4;
    assert.equal(distinct((s) => s.src === A && s.dst === B && s.kind.startsWith('icmpreq')), n, `echo requests ${a} -> ${b}`);
    assert.equal(distinct((s) => s.src === B && s.dst === A && s.kind.startsWith('icmprep')), n, `echo replies ${b} -> ${a}`);
  }
  for (const dir of ['in', 'out']) {
    const missing = Array.from({ length: 30 }, (_, i) => `udp:${tag}-${dir}-${i + 1}`).filter((k) => !count.has(k));
    assert.deepEqual(missing, [], `UDP ${dir} datagrams missing at SERV21`);
  }
  assert.equal(seen.length, 2 * (20 + 10 + 10) + 60, 'nothing else');
}

/** Entries of every VTEP: no entry twice in NETCONF state, and the kernel table holds exactly one counter per entry. */
async function noDuplicates(f: Fabric): Promise<void> {
  for (const no of VTEP_NOS) {
    const st = await f.state(no);
    const ids = st.entries.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, `VTEP${no}: an entry id twice: ${ids.join(' ')}`);
    const labels = st.entries.map(entryLabel);
    assert.equal(new Set(labels).size, labels.length, `VTEP${no}: an entry twice: ${labels.join(' | ')}`);
    const sids = st.sessions.map((s) => s.id);
    assert.equal(new Set(sids).size, sids.length, `VTEP${no}: a session twice`);
    const nft = await f.nftSummary(no);
    assert.equal(nft.counters.length, st.entries.length, `VTEP${no}: nft counters ${nft.counters.join(',')} for ${st.entries.length} entries`);
    assert.equal(new Set(nft.keyChains).size, nft.keyChains.length);
  }
}

interface MoveReport {
  what: string;
  moveMs: number;
  convergeMs: number;
  gaps: Record<string, StreamGap>;
  /** Datagrams delivered to the receiver but never mirrored, per stream. */
  notMirrored?: { out: number; in: number };
}
const reports: { mode: MacMode; r: MoveReport }[] = [];

function printReport(mode: MacMode, r: MoveReport): void {
  const g = (x: StreamGap) =>
    `gap ${x.gapMs} ms (${x.longestRun} consecutive of ${x.sent} missing${x.run ? `, seq ${x.run[0]}-${x.run[1]}` : ''}; ${x.missing} missing in all, ${x.duplicated} twice)`;
  console.log(`      [${mode}] ${r.what}: move took ${r.moveMs} ms, entries converged ${r.convergeMs} ms after it`);
  for (const [k, v] of Object.entries(r.gaps)) console.log(`        ${k.padEnd(34)} ${g(v)}`);
  if (r.notMirrored) console.log(`        delivered but never mirrored: VM210 -> VM230 ${r.notMirrored.out}, VM230 -> VM210 ${r.notMirrored.in}`);
}

/**
 * Numbered UDP streams VM210 -> VM230 ("out") and VM230 -> VM210 ("in"), `count` datagrams 5 ms apart, while
 * `action` runs; captures at SERV21 (mirrored copies) and at the receivers (tenant delivery).
 */
async function measureDuring(f: Fabric, mode: MacMode, what: string, tag: string, action: () => Promise<{ moveMs: number; convergeMs: number }>, count = 800): Promise<MoveReport> {
  const caps = {
    serv21: await f.startCapture('SERV21'),
    vm230: await f.startCapture('VM230', { filter: ['udp'] }),
    vm210: await f.startCapture('VM210', { filter: ['udp'] }),
  };
  const out = await f.udpStream('VM210', 'VM230', `${tag}-out`, count, STREAM_INTERVAL_MS);
  const inn = await f.udpStream('VM230', 'VM210', `${tag}-in`, count, STREAM_INTERVAL_MS);
  await sleep(600);
  const t = await action();
  await Promise.all([out.done, inn.done]);
  for (const c of Object.values(caps)) await c.stop();
  const mirrored = await f.readCapture(caps.serv21.file);
  const at230 = await f.readCapture(caps.vm230.file);
  const at210 = await f.readCapture(caps.vm210.file);
  const r: MoveReport = {
    what,
    ...t,
    gaps: {
      'mirrored VM210 -> VM230 at SERV21': streamGap(mirrored, `${tag}-out`, count, STREAM_INTERVAL_MS),
      'mirrored VM230 -> VM210 at SERV21': streamGap(mirrored, `${tag}-in`, count, STREAM_INTERVAL_MS),
      'delivered VM210 -> VM230 (tenant)': streamGap(at230, `${tag}-out`, count, STREAM_INTERVAL_MS),
      'delivered VM230 -> VM210 (tenant)': streamGap(at210, `${tag}-in`, count, STREAM_INTERVAL_MS),
    },
  };
  // Datagrams the receiver got but SERV21 did not: losses of the mirroring alone.
  const seqs = (seen: Seen[], t: string) => new Set(seen.filter((x) => x.kind.startsWith(`udp:${t}-`)).map((x) => Number(x.kind.slice(t.length + 5))));
  const notMirrored = (t: string, at: Seen[]) => {
    const m = seqs(mirrored, t);
    return [...seqs(at, t)].filter((n) => !m.has(n)).length;
  };
  r.notMirrored = { out: notMirrored(`${tag}-out`, at230), in: notMirrored(`${tag}-in`, at210) };
  reports.push({ mode, r });
  printReport(mode, r);
  // Monitoring continues: the last quarter of both streams reached SERV21, each datagram once.
  for (const dir of ['out', 'in']) {
    const n = new Map<number, number>();
    for (const s of mirrored) {
      const m = new RegExp(`^udp:${tag}-${dir}-(\\d+)$`).exec(s.kind);
      if (m) n.set(Number(m[1]), (n.get(Number(m[1])) ?? 0) + 1);
    }
    const tail = Array.from({ length: count / 4 }, (_, i) => count - count / 4 + i + 1);
    assert.deepEqual(tail.filter((i) => n.get(i) !== 1), [], `${what}: the last quarter of the ${dir} stream at SERV21 exactly once`);
    assert.deepEqual([...n].filter(([, c]) => c > 1), [], `${what}: no ${dir} datagram mirrored twice, even during the move`);
  }
  return r;
}

describe('e2e lab: examples/configs are what the lab runs', () => {
  const dir = join(__dirname, '..', '..', '..', 'examples', 'configs');
  const strip = (t: string) => t.split('\n').filter((l) => !l.startsWith('#') && !l.includes('passwordHash:')).join('\n');
  it('agent.yaml (both MAC modes), the RR and a leaf bgpd.conf match the generators; the agent accepts the files (--check)', () => {
    for (const [file, mode] of [['vtep101-agent.yaml', 'alongside-frr'], ['vtep101-agent-standalone.yaml', 'standalone']] as const) {
      const text = readFileSync(join(dir, file), 'utf8');
      assert.equal(strip(text), strip(agentConfigYaml(101, { macMode: mode, passwordHash: 'x', stateDir: '/var/lib/evpn-mirror' })), file);
      const r = spawnSync(process.execPath, [Fabric.agentScript(), '--config', join(dir, file), '--check'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    assert.equal(readFileSync(join(dir, 'rr-bgpd.conf'), 'utf8'), rrConfig('alongside-frr'));
    assert.equal(readFileSync(join(dir, 'leaf101-bgpd.conf'), 'utf8'), leafConfig(101));
  });
});

for (const mode of ['alongside-frr', 'standalone'] as const) {
  describe(`e2e: the worked example with FRR and evpn-mirror agents in namespaces (${mode})`, function () {
    this.timeout(90_000);
    let f: Fabric;
    let sessionId = '';

    before(async function () {
      this.timeout(120_000);
      requireRoot();
      const v = spawnSync(PY, ['-c', 'import ncclient'], { encoding: 'utf8' });
      assert.equal(v.status, 0, `ncclient is not installed for ${PY} (python3-ncclient): ${v.stderr}`);
      f = await Fabric.build({ macMode: mode, name: mode === 'standalone' ? 'e2e-sa' : 'e2e-frr' });
    });

    after(async () => {
      await f?.destroy();
    });

    it('1. ncclient pushes the session to VTEP101; every VTEP installs the worked example entry by entry', async () => {
      await ncclient(f, [connect(f, 101), { s: 'a', op: 'edit_config', target: 'running', config: `<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">${sessionConfigXml()}</config>` }, { s: 'a', op: 'close_session' }]);
      const ms = await f.waitEntries(workedExample('initial'));
      console.log(`      [${mode}] session pushed; all four VTEPs had the initial entries ${ms} ms later`);
      const st = await f.state(101);
      assert.equal(st.sessions.length, 1);
      const s = st.sessions[0]!;
      assert.equal(s.name, SESSION_NAME);
      assert.equal(s.origin, 'local');
      assert.equal(s.hostId, 1);
      assert.equal(s.status, 'active');
      sessionId = s.id;
      assert.ok(sessionId.startsWith(`${agentIp(101)}:`), sessionId);
      for (const no of [102, 103, 104] as VtepNo[]) {
        const r = await f.state(no);
        assert.deepEqual(
          r.sessions.map((x) => [x.id, x.origin, x.status]),
          [[sessionId, 'remote', 'active']],
          `VTEP${no} knows the session from BGP`,
        );
      }
      const roles = async (no: VtepNo) => (await f.state(no)).sessions[0]!.roles.sort();
      assert.deepEqual(await roles(101), ['first', 'second']);
      assert.deepEqual(await roles(104), ['second', 'third']);
      await noDuplicates(f);
    });

    it('2. SERV21 receives every packet from/to VM210 exactly once, nothing else', async () => {
      await trafficExactlyOnce(f, 'a');
    });

    it('3a. VM210 moves 101 -> 102: entries follow the table, monitoring continues exactly once (gap printed)', async () => {
      await measureDuring(f, mode, 'VM210 moves VTEP101 -> VTEP102', 'mv1', async () => {
        const moveMs = await f.moveHost('VM210', 102);
        const convergeMs = await f.waitEntries(workedExample('vm210-moved'));
        return { moveMs, convergeMs };
      });
      await trafficExactlyOnce(f, 'b');
      const st = (await f.state(102)).sessions[0]!;
      assert.deepEqual(st.hostLocation, { kind: 'local', port: 'vm210' });
    });

    it('3b. SERV21 moves 104 -> 103: entries follow the table, monitoring continues exactly once (gap printed)', async () => {
      await measureDuring(f, mode, 'SERV21 moves VTEP104 -> VTEP103', 'mv2', async () => {
        const moveMs = await f.moveHost('SERV21', 103);
        const convergeMs = await f.waitEntries(workedExample('serv21-moved'));
        return { moveMs, convergeMs };
      });
      await trafficExactlyOnce(f, 'c');
      for (const no of VTEP_NOS) {
        const st = (await f.state(no)).sessions[0]!;
        assert.deepEqual(st.monitorLocation, no === 103 ? { kind: 'local', port: 'serv21' } : { kind: 'remote', vtep: '192.0.2.103' }, `VTEP${no}`);
      }
    });

    it('4a. kill -9 of the originating agent (VTEP101) and a restart: the same entries and sessions everywhere, nothing twice', async () => {
      const before: AgentStateView[] = await Promise.all(VTEP_NOS.map((no) => f.state(no)));
      const want = workedExample('serv21-moved');
      await f.killAgent(101, 'SIGKILL');
      // While it is down: FRR 8.4 is no graceful-restart helper for L2VPN EVPN (its
      // FOREACH_AFI_SAFI_NSF stops at SAFI_MPLS_VPN), so the RR withdraws the session's
      // monitor route at once and the other VTEPs remove their entries. Printed, not asserted.
      await sleep(1500);
      const during = await Promise.all(([102, 103, 104] as VtepNo[]).map(async (no) => `VTEP${no}: ${(await f.entryLabels(no)).length} entries`));
      console.log(`      [${mode}] 1.5 s after kill -9 of the VTEP101 agent: ${during.join(', ')}`);
      f.startAgent(101);
      await f.waitAgentsUp([101]);
      const ms = await f.waitEntries(want);
      console.log(`      [${mode}] agent of VTEP101 restarted after kill -9: entries back ${ms} ms after it was ready`);
      await f.waitBgpEstablished();
      // Settle, then compare with what was there before the kill.
      await sleep(1000);
      await f.waitEntries(want, 1000);
      for (const [i, no] of VTEP_NOS.entries()) {
        const now = await f.state(no);
        const key = (st: AgentStateView) => st.sessions.map((s) => `${s.id}|${s.name}|${s.origin}|${s.status}|${s.roles.sort().join(',')}`).sort();
        assert.deepEqual(key(now), key(before[i]!), `VTEP${no}: the same sessions`);
        assert.deepEqual(now.entries.map(entryLabel).sort(), before[i]!.entries.map(entryLabel).sort(), `VTEP${no}: the same entries`);
      }
      await noDuplicates(f);
      await trafficExactlyOnce(f, 'd');
    });

    it('4b. kill -9 of the agent holding the 1st entry (VTEP102) during traffic, and a restart (gap printed)', async () => {
      const want = workedExample('serv21-moved');
      await measureDuring(f, mode, 'kill -9 + restart of the VTEP102 agent', 'kr', async () => {
        const t0 = Date.now();
        await f.killAgent(102, 'SIGKILL');
        f.startAgent(102);
        await f.waitAgentsUp([102]);
        const moveMs = Date.now() - t0;
        const convergeMs = await f.waitEntries(want);
        return { moveMs, convergeMs };
      }, 1400); // 7 s: a restart takes longer than a move
      await f.waitBgpEstablished();
      await noDuplicates(f);
      await trafficExactlyOnce(f, 'e');
    });

    it('4c. after the restart every VTEP knows where every host is again, with no new ARP (the restarted agent re-advertises what its FDB holds in standalone mode)', async () => {
      const macs = HOST_NAMES.map((h) => HOSTS[h].mac);
      const deadline = Date.now() + 10_000;
      let missing: string[] = [];
      do {
        missing = [];
        for (const no of VTEP_NOS) {
          const st = await f.state(no, '<mac/>');
          for (const m of macs) if (!st.macs.some((x) => x.mac === m && x.location.kind !== 'unknown')) missing.push(`VTEP${no} does not know ${hostOfMac(m)}`);
        }
        if (missing.length) await sleep(200);
      } while (missing.length && Date.now() < deadline);
      assert.deepEqual(missing, []);
    });

    it('5. deleting the session over NETCONF removes every entry on every VTEP (state and nftables)', async () => {
      await ncclient(f, [connect(f, 101), { s: 'a', op: 'edit_config', target: 'running', config: `<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">${deleteSessionXml()}</config>` }, { s: 'a', op: 'close_session' }]);
      const ms = await f.waitEntries({ 101: [], 102: [], 103: [], 104: [] });
      console.log(`      [${mode}] session deleted: every VTEP had no entry ${ms} ms later`);
      for (const no of VTEP_NOS) {
        const st = await f.state(no);
        assert.deepEqual(st.sessions, [], `VTEP${no}: no session left`);
        const nft = await f.nftSummary(no);
        assert.ok(nft.exists, `VTEP${no}: the table is still there (empty)`);
        assert.deepEqual({ counters: nft.counters, catalog: nft.catalog, keyChains: nft.keyChains, deliveryChains: nft.deliveryChains }, { counters: [], catalog: 0, keyChains: [], deliveryChains: [] }, `VTEP${no}: nothing left in nftables`);
      }
      const cap = await f.startCapture('SERV21');
      const p = await f.ping('VM210', 'VM230', 5);
      assert.equal(p.received, 5, p.output);
      await cap.stop();
      assert.deepEqual(await f.readCapture(cap.file), [], 'SERV21 gets no copy any more');
    });
  });
}

after(() => {
  if (reports.length === 0) return;
  console.log('\n  Mirror gaps measured (UDP every 5 ms; gap = longest run of missing datagrams x 5 ms):');
  for (const { mode, r } of reports) printReport(mode, r);
});
