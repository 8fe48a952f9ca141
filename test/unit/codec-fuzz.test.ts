// Robustness fuzzing of the decoder (deterministic seed, printed). About 270,000 inputs:
//   (a) random bytes behind a valid header (and plausible UPDATE skeletons),
//   (b) mutations of valid messages of every kind - bit flips, byte replacements,
//       truncations, insertions, deletions, duplicated slices, length-field tweaks,
//   (c) streams of valid, mutated and garbage messages through MessageFramer in random chunks.
// Every decode must return one of the five message kinds or throw NotificationError with a
// code in 1..7; anything else (TypeError, RangeError, an escaped ShortBufferError) or a hang
// fails. Returned UPDATEs without treat-as-withdraw and without undecoded NLRI are
// re-encoded: only RangeError may stop that, and a re-encoded UPDATE decodes to the same
// value (up to the codec's canonical forms). The loop runs in a worker thread so that a hang
// can be stopped and reported with the input that caused it.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FuzzConfig, FuzzReport } from './codec-fuzz.worker';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20240611;
const TIME_LIMIT_MS = 40_000;

function runWorker(cfg: Omit<FuzzConfig, 'current'>): Promise<FuzzReport> {
  const current = new SharedArrayBuffer(4 + 70_000);
  const worker = new Worker(path.join(__dirname, 'codec-fuzz.worker.js'), { workerData: { ...cfg, current } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const n = Atomics.load(new Int32Array(current, 0, 1), 0);
      const input = Buffer.from(new Uint8Array(current, 4, n)).toString('hex');
      void worker.terminate();
      reject(new Error(`fuzzing did not finish within ${TIME_LIMIT_MS} ms (a hang?); input being decoded: ${input}`));
    }, TIME_LIMIT_MS);
    worker.once('message', (r: FuzzReport) => {
      clearTimeout(timer);
      resolve(r);
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`fuzz worker exited with ${code}`));
    });
  });
}

describe('codec fuzz (robustness)', function () {
  this.timeout(TIME_LIMIT_MS + 5_000);

  it(`250,000+ random, mutated and framed inputs: only typed messages or NotificationError 1..7 (seed ${SEED})`, async () => {
    const report = await runWorker({ seed: SEED, random: 60_000, mutations: 160_000, framerStreams: 20_000 });
    const c = report.counts;
    const sum = (prefix: string) => Object.entries(c).reduce((n, [k, v]) => (k.startsWith(prefix) ? n + v : n), 0);
    const byCode = (code: number) => sum(`notification ${code}/`);
    console.log(
      `      fuzz seed=${SEED} inputs=${report.inputs} in ${(report.ms / 1000).toFixed(1)}s | ` +
        `ok open=${c['ok open'] ?? 0} update=${c['ok update'] ?? 0} notification=${c['ok notification'] ?? 0} keepalive=${c['ok keepalive'] ?? 0} route-refresh=${c['ok route-refresh'] ?? 0} ` +
        `(treat-as-withdraw=${c['update treat-as-withdraw'] ?? 0} attribute-discard=${c['update attribute-discard'] ?? 0}) | ` +
        `NotificationError 1=${byCode(1)} 2=${byCode(2)} 3=${byCode(3)} 7=${byCode(7)} framer-header=${sum('framer header error')} | ` +
        `re-encode same=${c['re-encode same value'] ?? 0} RangeError=${c['re-encode RangeError'] ?? 0} | failures=${report.failureCount}`,
    );
    console.log(
      `      by subcode: ${Object.entries(c)
        .filter(([k]) => k.startsWith('notification') || k.startsWith('framer header'))
        .sort()
        .map(([k, v]) => `${k.replace('notification ', '')}=${v}`)
        .join(' ')}`,
    );

    assert.equal(
      report.failureCount,
      0,
      `${report.failureCount} failure(s); first ones:\n${report.failures.map((f) => `[${f.phase}] ${f.error}\n  input ${f.input}`).join('\n')}`,
    );
    assert.ok(report.inputs >= 250_000, `${report.inputs} inputs`);
    // The fuzzing reached every part of the decoder (not vacuous).
    for (const k of ['ok open', 'ok update', 'ok notification', 'ok keepalive', 'ok route-refresh', 'update treat-as-withdraw', 'update attribute-discard', 're-encode same value'])
      assert.ok((c[k] ?? 0) > 0, `no "${k}" outcome`);
    assert.ok((c['re-encode same value'] ?? 0) > 10_000, 're-encode check ran too rarely');
    for (const code of [1, 2, 3, 7]) assert.ok(byCode(code) > 0, `no NotificationError with code ${code}`);
    for (const k of ['notification 3/1', 'notification 3/2', 'notification 3/5', 'notification 3/9', 'notification 3/10', 'notification 2/0', 'notification 1/2', 'notification 1/3'])
      assert.ok((c[k] ?? 0) > 0, `no "${k}" outcome`);
    assert.ok(sum('framer header error') > 0 && (c['framer stream consumed'] ?? 0) > 0, 'framer outcomes');
  });
});
