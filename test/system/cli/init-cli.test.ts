/**
 * The real `qood init` (the built CLI) into a throw-away root seeded with /etc/passwd, /etc/group and
 * a fake /dev/serial/by-id link: every file it writes with its mode (and, as root, its owner), a
 * second run with nothing to change, a dry run that writes nothing, usage errors for a missing kind
 * or confirmation off a terminal, the questions on a terminal (a pty from socat), and the installed
 * units accepted by `systemd-analyze verify`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAccounts } from '../../../agent/install/index.js';
import { collectOutput, QOOD_CLI, runQood, waitExit, waitUntil } from '../../support/cli.js';
import { fakeRoot } from '../../support/init-root.js';
import { describeSystem } from '../../support/system.js';

const FTDI = 'usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0';
const isRoot = process.getuid?.() === 0;
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
const newRoot = (byId: string[] = []) => {
  const r = fakeRoot(byId);
  roots.push(r);
  return r;
};

/** Every path under a root with its mode and content, to see that nothing changed. */
function snapshot(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).sort().map((p) => {
    const st = statSync(join(root, p), { throwIfNoEntry: false });
    const body = st?.isFile() ? readFileSync(join(root, p), 'utf8') : '';
    return `${p} ${st?.mode.toString(8)} ${st?.uid}:${st?.gid} ${body}`;
  });
}

describe('qood init --kind pi-obd into a root', () => {
  const root = newRoot([FTDI]);
  const first = runQood(['init', '--root', root, '--kind', 'pi-obd', '--yes']);

  it('installs config, udev rules, unit and device key with their modes', () => {
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`OBD-II adapter: /dev/serial/by-id/${FTDI} (FTDI)`);
    const modes: [string, number][] = [
      ['etc/qood/agent.yaml', 0o640],
      ['etc/udev/rules.d/70-qood.rules', 0o644],
      ['etc/systemd/system/qood-agent.service', 0o644],
      ['var/lib/qood', 0o700],
      ['var/lib/qood/device.key', 0o600],
    ];
    for (const [p, m] of modes)
      expect(`${p} ${(statSync(join(root, p)).mode & 0o777).toString(8)}`).toBe(`${p} ${m.toString(8)}`);
    expect(readFileSync(join(root, 'etc/qood/agent.yaml'), 'utf8')).toMatch(
      new RegExp(`^    port: /dev/serial/by-id/${FTDI}$`, 'm'),
    );
    expect(readFileSync(join(root, 'var/lib/qood/device.key'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(first.stdout).toMatch(/device public key [0-9a-f]{64}/);
    const accounts = readAccounts(root);
    expect(accounts.isMember('qood', 'dialout')).toBe(true);
  });

  it.skipIf(!isRoot)('as root: the qood user made by useradd -R owns the key and reads the config', () => {
    const accounts = readAccounts(root);
    const qood = accounts.user('qood')!;
    expect(qood.uid).toBeLessThan(1000);
    for (const p of ['var/lib/qood', 'var/lib/qood/device.key']) {
      const st = statSync(join(root, p));
      expect([p, st.uid, st.gid]).toEqual([p, qood.uid, qood.gid]);
    }
    const conf = statSync(join(root, 'etc/qood/agent.yaml'));
    expect([conf.uid, conf.gid]).toEqual([0, accounts.group('qood')]);
  });
  if (!isRoot) process.stderr.write('[skip] qood init ownership checks: need root (chown)\n');

  it('changes nothing on a second run and says so', () => {
    const before = snapshot(root);
    const again = runQood(['init', '--root', root, '--kind', 'pi-obd', '--yes']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('nothing to change: this device is set up already');
    expect(snapshot(root)).toEqual(before);
  });

  it('--dry-run prints the plan and writes nothing', () => {
    const fresh = newRoot([FTDI]);
    const before = snapshot(fresh);
    const r = runQood(['init', '--root', fresh, '--kind', 'pi-obd', '--dry-run']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/would write \/etc\/qood\/agent\.yaml \(0640 root:qood\)/);
    expect(r.stdout).toMatch(/would create system user qood/);
    expect(r.stdout).toMatch(/dry run: \d+ changes planned, nothing written/);
    expect(snapshot(fresh)).toEqual(before);
  });
});

describe('qood init usage', () => {
  it('needs --kind off a terminal, and names the kinds', () => {
    const r = runQood(['init', '--root', newRoot(), '--yes']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'qood init: --kind pi-obd|tbox|tracker is required when not run on a terminal',
    );
  });

  it('refuses an unknown kind and a --can for a dongle', () => {
    const bad = runQood(['init', '--root', newRoot(), '--kind', 'toaster', '--yes']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--kind: expected one of pi-obd, tbox, tracker, got 'toaster'");
    const can = runQood(['init', '--root', newRoot(), '--kind', 'pi-obd', '--can', 'can0', '--yes']);
    expect(can.status).toBe(2);
    expect(can.stderr).toContain('--can: applies to --kind tbox only, not pi-obd');
  });

  it('asks for --yes before changing anything off a terminal', () => {
    const root = newRoot();
    const before = snapshot(root);
    const r = runQood(['init', '--root', root, '--kind', 'tracker']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('give --yes');
    expect(snapshot(root)).toEqual(before);
  });
});

describeSystem('qood init units', [{ bin: 'systemd-analyze', pkg: 'systemd' }], () => {
  // verify needs ExecStart's binaries to exist: init points it at this node and this build's main.js.
  for (const kind of ['pi-obd', 'tbox']) {
    it(`the unit installed for ${kind} passes systemd-analyze verify`, () => {
      const root = newRoot([FTDI]);
      expect(runQood(['init', '--root', root, '--kind', kind, '--yes']).status).toBe(0);
      const r = spawnSync(
        'systemd-analyze',
        ['verify', join(root, 'etc/systemd/system/qood-agent.service')],
        { encoding: 'utf8' },
      );
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
      expect(r.status).toBe(0);
    });
  }
});

describeSystem('qood init on a terminal', [{ bin: 'socat', pkg: 'socat' }], () => {
  it('asks for the kind and for confirmation, then installs', async () => {
    const root = newRoot();
    // socat gives qood a pseudo-terminal as stdin, stdout and stderr, as an ssh session would.
    const child = spawn(
      'socat',
      ['-', `EXEC:${process.execPath} ${QOOD_CLI} init --root ${root},pty,setsid,ctty,stderr`],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const out = collectOutput(child);
    await waitUntil(() => out.stdout().includes('Device kind?'), 60_000, 'the kind question');
    child.stdin.write('tracker\n');
    await waitUntil(() => out.stdout().includes('[y/N]'), 60_000, 'the confirmation');
    expect(out.stdout()).toMatch(/would write \/etc\/qood\/agent\.yaml/);
    child.stdin.write('y\n');
    expect((await waitExit(child, 60_000)).code).toBe(0);
    expect(out.stdout()).toMatch(/\d+ changes made/);
    expect(readFileSync(join(root, 'etc/qood/agent.yaml'), 'utf8')).toContain('--kind tracker');
  }, 200_000);
});
