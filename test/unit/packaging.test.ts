// The package's entry points and the agent image file: what a user touches first.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..', '..');

describe('packaging', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string>; scripts: Record<string, string> };

  it('is named evpn-mirror with the two bins, each printing its usage', () => {
    assert.equal(pkg.name, 'evpn-mirror');
    assert.deepEqual(Object.keys(pkg.bin).sort(), ['evpn-mirror-agent', 'evpn-mirrorctl']);
    for (const [name, file] of Object.entries(pkg.bin)) {
      const out = execFileSync(process.execPath, [path.join(root, file), '--help'], { encoding: 'utf8' });
      assert.match(out, new RegExp(`usage: ${name}`));
      const bad = spawnSync(process.execPath, [path.join(root, file)], { encoding: 'utf8' });
      assert.equal(bad.status, 2, `${name} without arguments exits 2`);
    }
  });

  it('npm test and npm run demo are the README quick start, and .ci/run calls npm test', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    assert.match(readme, /npm run demo/);
    assert.match(readme, /npm test/);
    assert.match(fs.readFileSync(path.join(root, '.ci', 'run'), 'utf8'), /^npm test$/m);
    assert.ok(pkg.scripts['test'] && pkg.scripts['demo']);
  });

  it('docker/Dockerfile uses only valid instructions and copies files that exist', () => {
    const text = fs.readFileSync(path.join(root, 'docker', 'Dockerfile'), 'utf8');
    const INSTRUCTIONS = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);
    const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.match(lines[0]!, /^FROM /);
    for (const l of lines) {
      const word = l.split(/\s+/)[0]!;
      assert.ok(INSTRUCTIONS.has(word), `unknown instruction in: ${l}`);
      if (word === 'COPY' && !l.includes('--from=')) {
        const parts = l.split(/\s+/).slice(1);
        for (const src of parts.slice(0, -1)) assert.ok(fs.existsSync(path.join(root, src)), `COPY source ${src} exists`);
      }
      if (word === 'ENTRYPOINT' || word === 'CMD') assert.doesNotThrow(() => JSON.parse(l.slice(word.length)), `${word} in exec form`);
    }
  });
});
