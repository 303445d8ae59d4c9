/**
 * `qood init` as a plan: every step it would take on a target root, each marked as a change or
 * as already done, so `--dry-run` prints the plan, a real run applies its changes in order, and a
 * second run finds every step done and says there is nothing to change. Paths in steps are as the
 * device sees them; `root` is prefixed when touching files, so an image build or a test installs
 * into a throw-away folder.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../chain/index.js';
import { writeFileAtomic } from '../../process/index.js';
import { type AgentConfig, agentConfigSchema } from '../config/index.js';
import { parseConfigText } from '../config/yaml-file.js';
import { DEVICE_KEY_FILE, loadOrCreateDeviceKey } from '../seal/device-identity.js';
import { accountsEditor, readAccounts } from './accounts.js';
import { findAdapters } from './adapters.js';
import { InstallError } from './install-error.js';
import {
  type DeviceKind,
  EXAMPLE_CONFIG,
  renderAgentUnit,
  renderCanNetwork,
  renderConfig,
} from './render.js';

/** The system user the agent runs as, and its primary group. */
export const AGENT_USER = 'qood';
/** The group that owns serial ports on Debian and Raspberry Pi OS. */
export const SERIAL_GROUP = 'dialout';
export const AGENT_CONFIG = '/etc/qood/agent.yaml';
export const UDEV_RULES = '/etc/udev/rules.d/70-qood.rules';
export const AGENT_UNIT = '/etc/systemd/system/qood-agent.service';

/** What `qood init` is asked to do. */
export interface InitOptions {
  readonly kind: DeviceKind;
  /** Target root, `/` for this system. */
  readonly root: string;
  /** Folder holding the package's config/ and systemd/ (the installed qoodblock). */
  readonly packageRoot: string;
  /** The command the unit runs before `agent --config ...`: node and qood's main.js, or a `qood` binary. */
  readonly execStart: string;
  readonly serial?: string | undefined;
  readonly gnss?: string | undefined;
  readonly can?: string | undefined;
  /** CAN bitrate in bit/s (and the data phase's, for CAN FD interfaces). */
  readonly bitrate: number;
  readonly dataBitrate: number;
  /** Replace an existing agent.yaml that differs from the one init would write. */
  readonly force: boolean;
  /** Running as root: accounts through shadow's commands, files chowned to qood. */
  readonly asRoot: boolean;
}

/** One step of the plan. */
export interface InitStep {
  /** What it does, as a line for the user ("write /etc/qood/agent.yaml (0640 root:qood)"). */
  readonly what: string;
  /** change: to do; done: already so; kept: left alone on purpose (the reason is in `what`). */
  readonly status: 'change' | 'done' | 'kept';
  /** Does it; only called for a change. Returns an extra line to print, if any. */
  readonly apply: () => string | undefined;
}

/** The plan and what init found on the way. */
export interface InitPlan {
  readonly steps: readonly InitStep[];
  /** Adapter and CAN decisions, one line each. */
  readonly notes: readonly string[];
  /** What the user still has to do after the plan ran, one line each. */
  readonly next: readonly string[];
}

interface Owner {
  readonly user: string;
  readonly group: string;
}

const ROOT_OWNER: Owner = { user: 'root', group: 'root' };

function readPackageFile(packageRoot: string, rel: string): string {
  const path = join(packageRoot, rel);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InstallError(
      'BAD_FILE',
      path,
      `cannot read it (${(err as NodeJS.ErrnoException).code}); it ships with the qoodblock package`,
    );
  }
}

/** Plans `qood init`; reads the root and the package, changes nothing. */
export function planInit(o: InitOptions): InitPlan {
  if (o.kind !== 'tbox' && o.can !== undefined)
    throw new InstallError('BAD_OPTION', '--can', `applies to --kind tbox only, not ${o.kind}`);
  if (o.kind === 'tbox' && (o.serial !== undefined || o.gnss !== undefined))
    throw new InstallError(
      'BAD_OPTION',
      o.serial !== undefined ? '--serial' : '--gnss',
      'applies to pi-obd and tracker; a TBOX reads CAN and gpsd',
    );
  const accounts = readAccounts(o.root);
  const steps: InitStep[] = [];
  const next: string[] = [];

  const exampleName = EXAMPLE_CONFIG[o.kind];
  const rendered = renderConfig(
    readPackageFile(o.packageRoot, exampleName),
    exampleName,
    findAdapters(o.root),
    { kind: o.kind, serial: o.serial, gnss: o.gnss, can: o.can },
  );
  const notes = [...rendered.notes];
  // A kept agent.yaml (edited by its owner) decides the CAN interfaces and the data folder.
  const config = keptConfig(o, rendered.text, notes) ?? rendered.config;

  // Accounts first: files below are chowned to them.
  const groups = [AGENT_USER, SERIAL_GROUP, ...(config.device.ownerGroup ? [config.device.ownerGroup] : [])];
  for (const g of groups)
    steps.push(
      accounts.group(g) !== undefined
        ? { what: `group ${g} exists`, status: 'done', apply: () => undefined }
        : {
            what: `create system group ${g}`,
            status: 'change',
            apply: () => void accountsEditor(o.root, o.asRoot).addGroup(g),
          },
    );
  steps.push(
    accounts.user(AGENT_USER) !== undefined
      ? { what: `user ${AGENT_USER} exists`, status: 'done', apply: () => undefined }
      : {
          what: `create system user ${AGENT_USER} (group ${AGENT_USER}, no home, no login shell)`,
          status: 'change',
          apply: () => void accountsEditor(o.root, o.asRoot).addUser(AGENT_USER, AGENT_USER),
        },
  );
  steps.push(
    accounts.isMember(AGENT_USER, SERIAL_GROUP)
      ? { what: `user ${AGENT_USER} is in ${SERIAL_GROUP}`, status: 'done', apply: () => undefined }
      : {
          what: `add user ${AGENT_USER} to ${SERIAL_GROUP} (serial adapters)`,
          status: 'change',
          apply: () => void accountsEditor(o.root, o.asRoot).addToGroup(AGENT_USER, SERIAL_GROUP),
        },
  );

  // Paths of files this run changes, to tell udev and systemd about them below.
  const changedFiles: string[] = [];
  const file = (path: string, text: string, mode: number, owner: Owner, from: string, keep = false) => {
    const step = fileStep(o, path, text, mode, owner, from, keep && !o.force);
    if (step.status === 'change') changedFiles.push(path);
    return step;
  };

  steps.push(
    file(AGENT_CONFIG, rendered.text, 0o640, { user: 'root', group: AGENT_USER }, exampleName, true),
  );
  steps.push(
    file(
      UDEV_RULES,
      readPackageFile(o.packageRoot, 'systemd/udev/70-qood.rules'),
      0o644,
      ROOT_OWNER,
      'systemd/udev/70-qood.rules',
    ),
  );

  const canInterfaces = config.sources.can.map((c) => c.interface);
  if (canInterfaces.length > 0) {
    const template = readPackageFile(o.packageRoot, 'systemd/network/80-qood-can.network');
    for (const c of config.sources.can)
      steps.push(
        file(
          `/etc/systemd/network/80-qood-${c.interface}.network`,
          renderCanNetwork(
            template,
            c.interface,
            o.bitrate,
            c.fd ? { dataBitrate: o.dataBitrate } : undefined,
          ),
          0o644,
          ROOT_OWNER,
          `systemd/network/80-qood-can.network, ${o.bitrate} bit/s${c.fd ? ` (data ${o.dataBitrate} bit/s)` : ''}`,
        ),
      );
    next.push('systemd-networkd brings the CAN interfaces up: systemctl enable --now systemd-networkd');
  }
  const unit = renderAgentUnit(
    readPackageFile(o.packageRoot, 'systemd/qood-agent.service'),
    o.execStart,
    canInterfaces,
  );
  steps.push(
    file(AGENT_UNIT, unit, 0o644, ROOT_OWNER, `systemd/qood-agent.service, ExecStart=${o.execStart}`),
  );

  steps.push(deviceKeyStep(o, config.device.dataDir));

  // Tell the running udev and systemd about new files; only on this system, and only when they run.
  const changed = (prefix: string) => changedFiles.some((p) => p.startsWith(prefix));
  if (o.root === '/' && existsSync('/run/systemd/system')) {
    if (changed('/etc/systemd/network/'))
      steps.push({
        what: 'networkctl reload (if systemd-networkd runs)',
        status: 'change',
        apply: () => bestEffort('networkctl', ['reload']),
      });
    if (changed('/etc/systemd/system/'))
      steps.push({
        what: 'systemctl daemon-reload',
        status: 'change',
        apply: () => bestEffort('systemctl', ['daemon-reload']),
      });
    if (changed(UDEV_RULES))
      steps.push({
        what: 'reload udev rules and apply them to serial devices',
        status: 'change',
        apply: () =>
          bestEffort('udevadm', ['control', '--reload']) ??
          bestEffort('udevadm', ['trigger', '--subsystem-match=tty', '--action=add']),
      });
  }
  if (rendered.text.includes('PLACEHOLDER'))
    next.push(
      `plug in the adapter and run qood init --force again, or edit ${AGENT_CONFIG} where it says PLACEHOLDER`,
    );
  next.push(
    `set device.vehicleId and the sync broker in ${AGENT_CONFIG}, then: systemctl enable --now qood-agent`,
  );
  if (config.sources.can.some((c) => !existsSync(join(o.root, c.dbc))))
    next.push(`put the DBC files (and signal maps) ${AGENT_CONFIG} names under sources.can in place`);
  return { steps, notes, next };
}

/**
 * The config in an existing agent.yaml that init keeps (it differs and there is no --force), or
 * undefined when init writes its own. One that does not validate is noted and not used.
 */
function keptConfig(o: InitOptions, rendered: string, notes: string[]): AgentConfig | undefined {
  const path = join(o.root, AGENT_CONFIG);
  if (o.force || !existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  if (text === rendered) return undefined;
  const r = parseConfigText(text, AGENT_CONFIG, agentConfigSchema);
  if (r.ok) return r.config;
  notes.push(
    `${AGENT_CONFIG} is kept but does not validate (qood config check ${AGENT_CONFIG}); the steps below follow the example instead`,
  );
  return undefined;
}

/** Runs a command whose failure is a warning (udev or systemd not running in a container). */
function bestEffort(cmd: string, args: readonly string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error === undefined && r.status === 0) return undefined;
  return `warning: ${cmd} ${args.join(' ')} failed (${r.error?.message ?? r.stderr.trim()}); run it by hand`;
}

function modeString(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

/** True when `path` (rooted) has `mode`, and, as root, `owner`. */
function hasModeAndOwner(o: InitOptions, path: string, mode: number, owner: Owner): boolean {
  const st = statSync(join(o.root, path));
  if ((st.mode & 0o777) !== mode) return false;
  if (!o.asRoot) return true;
  const ids = resolveOwner(o.root, owner);
  return ids !== undefined && st.uid === ids.uid && st.gid === ids.gid;
}

function resolveOwner(root: string, owner: Owner): { uid: number; gid: number } | undefined {
  const a = readAccounts(root);
  const uid = owner.user === 'root' ? 0 : a.user(owner.user)?.uid;
  const gid = owner.group === 'root' ? 0 : a.group(owner.group);
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/** Chowns a rooted path as root; not as root, ownership is left (and said so by the caller). */
function chownTo(o: InitOptions, path: string, owner: Owner): void {
  if (!o.asRoot) return;
  const ids = resolveOwner(o.root, owner);
  if (ids === undefined)
    throw new InstallError(
      'BAD_FILE',
      join(o.root, 'etc/passwd'),
      `no user ${owner.user} or group ${owner.group}`,
    );
  chownSync(join(o.root, path), ids.uid, ids.gid);
}

function fileStep(
  o: InitOptions,
  path: string,
  text: string,
  mode: number,
  owner: Owner,
  from: string,
  keepIfDifferent: boolean,
): InitStep {
  const rooted = join(o.root, path);
  const label = `${path} (${modeString(mode)} ${owner.user}:${owner.group})`;
  const write = (): string | undefined => {
    mkdirSync(join(rooted, '..'), { recursive: true, mode: 0o755 });
    writeFileAtomic(rooted, text, { mode });
    chmodSync(rooted, mode); // the umask may have taken bits off
    chownTo(o, path, owner);
    return o.asRoot
      ? undefined
      : `  (not root: ${path} is left owned by this user; chown it to ${owner.user}:${owner.group} in the image)`;
  };
  if (!existsSync(rooted)) return { what: `write ${label} from ${from}`, status: 'change', apply: write };
  const same = readFileSync(rooted, 'utf8') === text;
  if (!same && keepIfDifferent)
    return {
      what: `keep ${path}: it exists and differs from what init would write (--force replaces it)`,
      status: 'kept',
      apply: () => undefined,
    };
  if (!same) return { what: `rewrite ${label} from ${from}`, status: 'change', apply: write };
  if (hasModeAndOwner(o, path, mode, owner))
    return { what: `${path} is up to date`, status: 'done', apply: () => undefined };
  return {
    what: `set mode and owner of ${label}`,
    status: 'change',
    apply: () => {
      chmodSync(rooted, mode);
      chownTo(o, path, owner);
      return undefined;
    },
  };
}

function deviceKeyStep(o: InitOptions, dataDir: string): InitStep {
  const keyPath = join(dataDir, DEVICE_KEY_FILE);
  const owner: Owner = { user: AGENT_USER, group: AGENT_USER };
  if (existsSync(join(o.root, keyPath))) {
    if (hasModeAndOwner(o, keyPath, 0o600, owner) && hasModeAndOwner(o, dataDir, 0o700, owner))
      return { what: `device key ${keyPath} exists (kept)`, status: 'done', apply: () => undefined };
    return {
      what: `set mode and owner of ${dataDir} (0700) and ${keyPath} (0600) to ${AGENT_USER}:${AGENT_USER}`,
      status: 'change',
      apply: () => {
        chmodTree(o, dataDir, keyPath, owner);
        return undefined;
      },
    };
  }
  return {
    what: `generate the device key ${keyPath} (0600 ${AGENT_USER}:${AGENT_USER}, folder 0700)`,
    status: 'change',
    apply: () => {
      const dir = join(o.root, dataDir);
      // Parents such as /var/lib are ordinary folders; only the data folder itself is private.
      mkdirSync(join(dir, '..'), { recursive: true, mode: 0o755 });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const key = loadOrCreateDeviceKey(dir);
      chmodTree(o, dataDir, keyPath, owner);
      return `  device public key ${toHex(key.publicKey)} (pair it with: qood keys pair)`;
    },
  };
}

function chmodTree(o: InitOptions, dataDir: string, keyPath: string, owner: Owner): void {
  // writeFileAtomic and mkdirSync honour the umask; the modes are set outright here.
  for (const [p, m] of [
    [dataDir, 0o700],
    [keyPath, 0o600],
  ] as const) {
    chmodSync(join(o.root, p), m);
    chownTo(o, p, owner);
  }
}

/**
 * Applies a plan's changes in order, writing one line per step to `out` ("would ..." on a dry run).
 * Returns the number of changes (0: nothing to change).
 */
export function runPlan(plan: InitPlan, dryRun: boolean, out: (line: string) => void): number {
  for (const n of plan.notes) out(n);
  let changes = 0;
  for (const s of plan.steps) {
    if (s.status !== 'change') {
      out(`  ok: ${s.what}`);
      continue;
    }
    changes++;
    if (dryRun) {
      out(`  would ${s.what}`);
      continue;
    }
    out(`  ${s.what}`);
    const extra = s.apply();
    if (extra !== undefined) out(extra);
  }
  if (changes === 0) out('nothing to change: this device is set up already');
  else if (dryRun) out(`dry run: ${changes} change${changes === 1 ? '' : 's'} planned, nothing written`);
  else out(`${changes} change${changes === 1 ? '' : 's'} made`);
  if (!dryRun) for (const n of plan.next) out(`next: ${n}`);
  return changes;
}
