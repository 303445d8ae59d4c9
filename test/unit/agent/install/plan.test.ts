/**
 * The init plan on a throw-away root, as an unprivileged image build runs it (accounts edited in the
 * files, no chown): what it writes, that a second run has nothing to change, that a dry run writes
 * nothing, and that an edited agent.yaml is kept unless forced.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { parseConfigText } from '../../../../agent/config/yaml-file.js';
import {
  type InitOptions,
  InstallError,
  planInit,
  readAccounts,
  runPlan,
} from '../../../../agent/install/index.js';
import { fakeRoot } from '../../../support/init-root.js';
import { projectRoot } from '../../../support/system.js';

const FTDI = 'usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0';
const UBLOX = 'usb-u-blox_AG_-_www.u-blox.com_u-blox_7_-_GPS_GNSS_Receiver-if00';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function options(root: string, over: Partial<InitOptions> = {}): InitOptions {
  return {
    kind: 'pi-obd',
    root,
    packageRoot: projectRoot(),
    execStart: '/usr/bin/qood',
    bitrate: 500_000,
    dataBitrate: 2_000_000,
    force: false,
    asRoot: false,
    ...over,
  };
}

/** Runs init and returns its output lines and the number of changes. */
function init(o: InitOptions, dryRun = false): { lines: string[]; changes: number } {
  const lines: string[] = [];
  const changes = runPlan(planInit(o), dryRun, (l) => lines.push(l));
  return { lines, changes };
}

function newRoot(byId: string[] = []): string {
  const r = fakeRoot(byId);
  roots.push(r);
  return r;
}

const mode = (p: string) => statSync(p).mode & 0o777;

describe('qood init plan (pi-obd)', () => {
  it('writes the config with the by-id adapters, the user, udev rules, unit and device key', () => {
    const root = newRoot([FTDI, UBLOX]);
    expect(init(options(root)).changes).toBeGreaterThan(0);

    const config = readFileSync(join(root, 'etc/qood/agent.yaml'), 'utf8');
    const parsed = parseConfigText(config, 'agent.yaml', agentConfigSchema);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.config.sources.obd?.port).toBe(`/dev/serial/by-id/${FTDI}`);
    expect(parsed.config.sources.gnss?.port).toBe(`/dev/serial/by-id/${UBLOX}`);
    expect(parsed.config.storage).toBeDefined();
    expect(parsed.config.sync).toBeDefined();
    expect(config).not.toMatch(/port: \/dev\/tty/);
    expect(mode(join(root, 'etc/qood/agent.yaml'))).toBe(0o640);

    const accounts = readAccounts(root);
    const user = accounts.user('qood');
    expect(user).toBeDefined();
    expect(user!.uid).toBeLessThan(1000);
    expect(user!.gid).toBe(accounts.group('qood'));
    expect(accounts.isMember('qood', 'dialout')).toBe(true);

    expect(readFileSync(join(root, 'etc/udev/rules.d/70-qood.rules'), 'utf8')).toBe(
      readFileSync(join(projectRoot(), 'systemd/udev/70-qood.rules'), 'utf8'),
    );
    const unit = readFileSync(join(root, 'etc/systemd/system/qood-agent.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/qood agent --config \/etc\/qood\/agent\.yaml$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(unit).not.toMatch(/BindsTo=/);
    expect(existsSync(join(root, 'etc/systemd/network'))).toBe(false);

    expect(readFileSync(join(root, 'var/lib/qood/device.key'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(mode(join(root, 'var/lib/qood/device.key'))).toBe(0o600);
    expect(mode(join(root, 'var/lib/qood'))).toBe(0o700);
    expect(mode(join(root, 'var/lib'))).toBe(0o755);
  });

  it('finds nothing to change on a second run, and keeps the device key', () => {
    const root = newRoot([FTDI]);
    init(options(root));
    const key = readFileSync(join(root, 'var/lib/qood/device.key'), 'utf8');
    const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
    const again = init(options(root));
    expect(again.changes).toBe(0);
    expect(again.lines).toContain('nothing to change: this device is set up already');
    expect(readFileSync(join(root, 'var/lib/qood/device.key'), 'utf8')).toBe(key);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toBe(passwd);
  });

  it('changes nothing on a dry run and prints every step it would take', () => {
    const root = newRoot([FTDI]);
    const before = readdirSync(root, { recursive: true }).sort();
    const { lines, changes } = init(options(root), true);
    expect(readdirSync(root, { recursive: true }).sort()).toEqual(before);
    expect(lines.filter((l) => l.startsWith('  would '))).toHaveLength(changes);
    expect(lines.join('\n')).toMatch(/would write \/etc\/qood\/agent\.yaml/);
    expect(lines.join('\n')).toMatch(/would create system user qood/);
    expect(lines.join('\n')).toMatch(/would generate the device key/);
    expect(lines.at(-1)).toBe(`dry run: ${changes} changes planned, nothing written`);
  });

  it('writes a marked placeholder and says so when no adapter is plugged in', () => {
    const root = newRoot([]);
    const { lines } = init(options(root));
    expect(lines.join('\n')).toMatch(/no ELM327 adapter found in \/dev\/serial\/by-id/);
    const config = readFileSync(join(root, 'etc/qood/agent.yaml'), 'utf8');
    expect(config).toMatch(/port: \/dev\/qood-obd # PLACEHOLDER: no ELM327 adapter was found/);
    expect(config).not.toMatch(/^\s+gnss:/m);
  });

  it('keeps an edited agent.yaml unless --force, and --serial names the port', () => {
    const root = newRoot([FTDI]);
    init(options(root));
    const file = join(root, 'etc/qood/agent.yaml');
    const edited = readFileSync(file, 'utf8').replace('pi-dongle-0001', 'my-car');
    writeFileSync(file, edited);
    const kept = init(options(root, { serial: '/dev/rfcomm0' }));
    expect(kept.changes).toBe(0);
    expect(kept.lines.join('\n')).toMatch(/keep \/etc\/qood\/agent\.yaml: it exists and differs/);
    expect(readFileSync(file, 'utf8')).toBe(edited);

    expect(init(options(root, { serial: '/dev/rfcomm0', force: true })).changes).toBe(1);
    expect(readFileSync(file, 'utf8')).toMatch(/port: \/dev\/rfcomm0$/m);
  });
});

describe('qood init plan (tbox, tracker)', () => {
  it('tbox: a networkd file per CAN interface, and a unit bound to them instead of multi-user', () => {
    const root = newRoot();
    init(options(root, { kind: 'tbox', can: 'can3', bitrate: 250_000 }));
    const net = readFileSync(join(root, 'etc/systemd/network/80-qood-can3.network'), 'utf8');
    expect(net).toMatch(/^Name=can3$/m);
    expect(net).toMatch(/^BitRate=250000$/m);
    expect(net).not.toMatch(/FDMode/);
    const fd = readFileSync(join(root, 'etc/systemd/network/80-qood-can1.network'), 'utf8');
    expect(fd).toMatch(/^DataBitRate=2000000\nFDMode=yes$/m);
    const unit = readFileSync(join(root, 'etc/systemd/system/qood-agent.service'), 'utf8');
    expect(unit).toMatch(/^BindsTo=sys-subsystem-net-devices-can3\.device$/m);
    expect(unit).toMatch(/^After=sys-subsystem-net-devices-can3\.device$/m);
    expect(unit).toMatch(/^WantedBy=sys-subsystem-net-devices-can3\.device$/m);
    expect(unit).not.toMatch(/multi-user/);
    expect(readAccounts(root).group('qood-owner')).toBeDefined();
    expect(readFileSync(join(root, 'etc/qood/agent.yaml'), 'utf8')).toMatch(/interface: can3/);
    expect(init(options(root, { kind: 'tbox', can: 'can3', bitrate: 250_000 })).changes).toBe(0);
  });

  it('tracker: the GNSS receiver found, or a placeholder', () => {
    const root = newRoot([UBLOX]);
    init(options(root, { kind: 'tracker' }));
    expect(readFileSync(join(root, 'etc/qood/agent.yaml'), 'utf8')).toMatch(
      new RegExp(`port: /dev/serial/by-id/${UBLOX}$`, 'm'),
    );
  });

  it('refuses options that do not fit the kind, naming the option', () => {
    const root = newRoot();
    expect(() => planInit(options(root, { can: 'can0' }))).toThrow(InstallError);
    expect(() => planInit(options(root, { can: 'can0' }))).toThrow(/^--can: applies to --kind tbox only/);
    expect(() => planInit(options(root, { kind: 'tbox', serial: '/dev/x' }))).toThrow(/^--serial:/);
  });

  it('names the file when the root has no /etc/passwd', () => {
    const root = newRoot();
    rmSync(join(root, 'etc/passwd'));
    expect(() => planInit(options(root))).toThrow(/etc\/passwd: cannot read it \(ENOENT\)/);
  });
});

describe('qood init plan with a kept agent.yaml', () => {
  it('follows the CAN interfaces of the kept file, not the example', () => {
    const root = newRoot();
    init(options(root, { kind: 'tbox' }));
    const file = join(root, 'etc/qood/agent.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace(/interface: can0/g, 'interface: can7')
        .replace(/^ {4}- interface: can1\n(?: {6}.*\n)+/m, ''),
    );
    const { lines } = init(options(root, { kind: 'tbox' }));
    expect(lines.join('\n')).toMatch(/keep \/etc\/qood\/agent\.yaml/);
    expect(existsSync(join(root, 'etc/systemd/network/80-qood-can7.network'))).toBe(true);
    const unit = readFileSync(join(root, 'etc/systemd/system/qood-agent.service'), 'utf8');
    expect(unit).toMatch(/^BindsTo=sys-subsystem-net-devices-can7\.device$/m);
    expect(unit).not.toMatch(/devices-can[01]/);
  });
});
