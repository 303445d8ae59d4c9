/**
 * What `qood init` writes, as text: the agent config from the kind's example with the adapters
 * found, the agent's unit with ExecStart pointed at the installed `qood`, and a systemd-networkd
 * file per CAN interface. Pure functions of their inputs, so the plan can compare them with what the
 * root holds and a second run finds nothing to change.
 */
import { isScalar, parseDocument } from 'yaml';
import { type AgentConfig, agentConfigSchema } from '../config/index.js';
import { formatProblem, parseConfigText } from '../config/yaml-file.js';
import type { FoundAdapter } from './adapters.js';
import { InstallError } from './install-error.js';

/** The kinds of device `qood init` sets up, each from its example in config/. */
export const DEVICE_KINDS = ['pi-obd', 'tbox', 'tracker'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** The example config of each kind, relative to the package root. */
export const EXAMPLE_CONFIG: Readonly<Record<DeviceKind, string>> = {
  'pi-obd': 'config/pi-obd-dongle.yaml',
  tbox: 'config/tbox.yaml',
  tracker: 'config/tracker.yaml',
};

/** Stable names the shipped udev rules give known adapters, used when none is plugged in at init. */
export const UDEV_OBD_LINK = '/dev/qood-obd';
export const UDEV_GNSS_LINK = '/dev/qood-gnss';

/** The choices that shape the config. */
export interface ConfigChoices {
  readonly kind: DeviceKind;
  /** The serial port to use instead of the one found: the ELM327 for pi-obd, the GNSS receiver for tracker. */
  readonly serial?: string | undefined;
  /** The GNSS receiver's port instead of the one found (pi-obd, tracker). */
  readonly gnss?: string | undefined;
  /** The first CAN interface instead of the example's (tbox). */
  readonly can?: string | undefined;
}

/** A rendered config with what init says about it. */
export interface RenderedConfig {
  readonly text: string;
  readonly config: AgentConfig;
  /** One line per adapter decision, for the user. */
  readonly notes: readonly string[];
}

/** The agent config for `choices`, from the example text and the adapters found. */
export function renderConfig(
  example: string,
  exampleName: string,
  adapters: readonly FoundAdapter[],
  choices: ConfigChoices,
): RenderedConfig {
  const doc = parseDocument(example);
  const notes: string[] = [];
  const found = (role: 'obd' | 'gnss') => adapters.find((a) => a.role === role);
  const setPort = (path: readonly string[], port: string, comment?: string) => {
    doc.setIn(path, port);
    const node = doc.getIn(path, true);
    if (isScalar(node)) node.comment = comment ?? null;
  };
  const placeholder = (what: string, link: string) =>
    ` PLACEHOLDER: no ${what} was found in /dev/serial/by-id at init. ${link} is the name the udev rules give a known adapter plugged in later; or set its /dev/serial/by-id/ path here (or run qood init --force --serial PATH).`;

  if (choices.kind === 'pi-obd') {
    const obd = found('obd');
    if (choices.serial !== undefined) {
      setPort(['sources', 'obd', 'port'], choices.serial);
      notes.push(`OBD-II adapter: ${choices.serial} (from --serial)`);
    } else if (obd !== undefined) {
      setPort(['sources', 'obd', 'port'], obd.path);
      notes.push(`OBD-II adapter: ${obd.path} (${obd.chip})`);
    } else {
      setPort(['sources', 'obd', 'port'], UDEV_OBD_LINK, placeholder('ELM327 adapter', UDEV_OBD_LINK));
      notes.push(
        `no ELM327 adapter found in /dev/serial/by-id: agent.yaml names the placeholder ${UDEV_OBD_LINK} (see the comment there)`,
      );
    }
    const gnss = choices.gnss ?? found('gnss')?.path;
    if (gnss !== undefined) {
      setPort(['sources', 'gnss', 'port'], gnss);
      notes.push(
        `GNSS receiver: ${gnss}${choices.gnss !== undefined ? ' (from --gnss)' : ` (${found('gnss')?.chip})`}`,
      );
    } else {
      doc.deleteIn(['sources', 'gnss']);
      notes.push(
        'no GNSS receiver found: agent.yaml has no sources.gnss (add one, or run qood init --force --gnss PATH)',
      );
    }
  } else if (choices.kind === 'tracker') {
    const given = choices.serial ?? choices.gnss;
    const gnss = found('gnss');
    if (given !== undefined) {
      setPort(['sources', 'gnss', 'port'], given);
      notes.push(`GNSS receiver: ${given} (from ${choices.serial !== undefined ? '--serial' : '--gnss'})`);
    } else if (gnss !== undefined) {
      setPort(['sources', 'gnss', 'port'], gnss.path);
      notes.push(`GNSS receiver: ${gnss.path} (${gnss.chip})`);
    } else {
      setPort(['sources', 'gnss', 'port'], UDEV_GNSS_LINK, placeholder('GNSS receiver', UDEV_GNSS_LINK));
      notes.push(
        `no GNSS receiver found in /dev/serial/by-id: agent.yaml names the placeholder ${UDEV_GNSS_LINK} (see the comment there)`,
      );
    }
  } else if (choices.can !== undefined) {
    const first = doc.getIn(['sources', 'can', 0, 'interface']);
    doc.setIn(['sources', 'can', 0, 'interface'], choices.can);
    // The OBD-over-ISO-TP source and the actuator follow the first bus when they named it.
    for (const path of [
      ['sources', 'obd', 'interface'],
      ['permissions', 'interface'],
    ])
      if (doc.getIn(path) === first) doc.setIn(path, choices.can);
    notes.push(`CAN interface: ${choices.can} (from --can)`);
  }

  const text = `# Written by qood init --kind ${choices.kind} from ${exampleName}; edit freely (init keeps it unless --force).\n${doc.toString()}`;
  const r = parseConfigText(text, '/etc/qood/agent.yaml', agentConfigSchema);
  if (!r.ok)
    throw new InstallError(
      'BAD_FILE',
      exampleName,
      `the config made from it does not validate:\n  ${r.problems.map(formatProblem).join('\n  ')}`,
    );
  return { text, config: r.config, notes };
}

/** `/^ExecStart=<binary> /`: the binary init replaces with the installed qood. */
const EXEC_START = /^ExecStart=\S+ /m;

/**
 * The agent unit from the shipped one: ExecStart runs `execStart` (the installed qood), and with
 * CAN interfaces the unit is bound to their device units and started by them instead of by
 * multi-user.target. A missing can0 then leaves the unit inactive, waiting for the interface,
 * instead of failed after its restarts run out; it starts when the interface appears and stops when
 * it goes away (a USB CAN adapter pulled out).
 */
export function renderAgentUnit(
  template: string,
  execStart: string,
  canInterfaces: readonly string[],
): string {
  if (!EXEC_START.test(template))
    throw new InstallError('BAD_FILE', 'systemd/qood-agent.service', 'no ExecStart= line to point at qood');
  // Words of a command line: a path with a space or quote would need systemd's quoting rules.
  if (!/^\/\S+( \/\S+)*$/.test(execStart))
    throw new InstallError(
      'BAD_OPTION',
      '--exec-start',
      `absolute paths separated by single spaces, without quotes, got '${execStart}'`,
    );
  let text = template.replace(EXEC_START, `ExecStart=${execStart} `);
  if (canInterfaces.length > 0) {
    const devices = canInterfaces.map((i) => `sys-subsystem-net-devices-${i}.device`);
    const bind = [
      '# Bound to the CAN interfaces (written by qood init): started when they appear, stopped when one goes away.',
      ...devices.flatMap((d) => [`BindsTo=${d}`, `After=${d}`]),
    ].join('\n');
    text = text.replace(/^\[Service\]$/m, `${bind}\n\n[Service]`);
    text = text.replace(/^WantedBy=multi-user\.target$/m, devices.map((d) => `WantedBy=${d}`).join('\n'));
  }
  return `# Installed by qood init; running it again rewrites this file.\n${text}`;
}

/** A systemd-networkd file for one CAN interface, from the shipped template. */
export function renderCanNetwork(
  template: string,
  iface: string,
  bitrate: number,
  fd: { dataBitrate: number } | undefined,
): string {
  return template
    .replaceAll('@IFACE@', iface)
    .replaceAll('@BITRATE@', String(bitrate))
    .replace(/^@FD@\n/m, fd === undefined ? '' : `DataBitRate=${fd.dataBitrate}\nFDMode=yes\n`);
}
