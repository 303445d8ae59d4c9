import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeSystem } from '../../support/system.js';

const root = join(import.meta.dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');

describeSystem('systemd units', [{ bin: 'systemd-analyze', pkg: 'systemd' }], () => {
  const dir = mkdtempSync(join(tmpdir(), 'qood-units-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The shipped unit with ExecStart pointed at this checkout, as an installer would rewrite it. */
  const installed = (name: string): string => {
    const text = readFileSync(join(root, 'systemd', name), 'utf8').replace(
      /^ExecStart=\/usr\/local\/bin\/qood /m,
      `ExecStart=${process.execPath} ${cli} `,
    );
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  const exposure = (unit: string): number => {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
    const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(out);
    if (!m) throw new Error(`no exposure level in:\n${out.slice(-500)}`);
    return Number(m[1]);
  };

  for (const name of ['qood-agent.service', 'qood-node.service']) {
    it(`${name} passes systemd-analyze verify`, () => {
      const r = spawnSync('systemd-analyze', ['verify', installed(name)], { encoding: 'utf8' });
      // verify prints nothing and exits 0 for a clean unit.
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
      expect(r.status).toBe(0);
    });

    it(`${name} is Type=notify with a watchdog and does not restart on a bad config`, () => {
      const text = readFileSync(join(root, 'systemd', name), 'utf8');
      expect(text).toMatch(/^Type=notify$/m);
      expect(text).toMatch(/^WatchdogSec=\d+s?$/m);
      expect(text).toMatch(/^RestartPreventExitStatus=2$/m);
    });
  }

  it('the agent unit scores 2.5 or lower in systemd-analyze security', () => {
    expect(exposure(installed('qood-agent.service'))).toBeLessThanOrEqual(2.5);
  });

  it('the node unit scores 2.5 or lower in systemd-analyze security', () => {
    expect(exposure(installed('qood-node.service'))).toBeLessThanOrEqual(2.5);
  });

  it('a unit stripped of its hardening scores worse, so the score measures the unit', () => {
    const bare = join(dir, 'bare.service');
    writeFileSync(bare, `[Service]\nType=notify\nExecStart=${process.execPath} ${cli} agent\n`);
    expect(exposure(bare)).toBeGreaterThan(5);
  });
});
