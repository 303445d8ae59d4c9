/**
 * Runs a shell script inside a qemu VM with Debian's kernel (CAN, vcan, can-isotp, veth, bridge,
 * sch_netem as modules) and the host's root mounted read-only, so the script can use the host's
 * node, can-utils, iproute2 and this checkout. The script's folder is shared read-write at the same
 * path inside and outside. The VM uses KVM when a probe boot with it succeeds and falls back to emulation
 * (TCG) otherwise (see vmAccel): a boot takes about 2 s with KVM, 5 to 20 s emulated; every run is
 * bounded by `timeoutMs`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../support/system.js';

/** Packages the VM needs on the host. */
export const VM_NEEDS = [
  { bin: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { bin: 'busybox', pkg: 'busybox-static' },
  { bin: 'cpio', pkg: 'cpio' },
  { bin: 'candump', pkg: 'can-utils' },
] as const;

export interface VmRun {
  /** Exit code of run.sh, or undefined when it did not finish. */
  readonly rc: number | undefined;
  /** What run.sh printed. */
  readonly out: string;
  /** The shared folder (same path inside the VM). */
  readonly workDir: string;
  /** The VM's console, for diagnosis. */
  readonly console: string;
  /** Whether it ran with KVM or emulated. */
  readonly accel: VmAccel;
}

let cacheDir: string | undefined;

/** Builds or finds the VM kernel and initramfs (see prepare.sh); returns their folder. */
export function prepareVm(): string {
  cacheDir ??= execFileSync('bash', [join(projectRoot(), 'test', 'system', 'vm', 'prepare.sh')], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .at(-1)!;
  return cacheDir;
}

/** How qemu runs the guest: hardware virtualisation or emulation. */
export type VmAccel = 'kvm' | 'tcg';

/** The qemu arguments for `accel`. */
function accelArgs(accel: VmAccel): string[] {
  // -cpu host is what KVM runs best with; `max` under TCG gives the guest every emulated feature.
  return accel === 'kvm'
    ? ['-machine', 'accel=kvm', '-cpu', 'host']
    : ['-machine', 'accel=tcg', '-cpu', 'max'];
}

/**
 * The accelerator VMs run with: QOOD_VM_ACCEL (kvm or tcg) when set; otherwise KVM when /dev/kvm
 * is there and a probe boot of the VM kernel with it reaches its panic (no root file system) within
 * 20 s, else TCG. The probe matters because a /dev/kvm that opens is no proof: under some nested
 * hypervisors qemu starts and the guest hangs before its first line, or qemu aborts on a CPU
 * register it cannot set. The verdict is kept in the cache folder (`accel`); delete it to probe again.
 */
export function vmAccel(): VmAccel {
  const forced = process.env.QOOD_VM_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  const cache = prepareVm();
  const file = join(cache, 'accel');
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept === 'kvm' || kept === 'tcg') return kept;
  } catch {}
  let accel: VmAccel = 'tcg';
  if (existsSync('/dev/kvm')) {
    const probe = spawnSync(
      'qemu-system-x86_64',
      [
        ...accelArgs('kvm'),
        ...['-m', '256', '-smp', '1', '-nographic', '-no-reboot'],
        ...['-kernel', join(cache, 'vmlinuz'), '-append', 'console=ttyS0 panic=-1'],
      ],
      { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' },
    );
    if (probe.status === 0 && probe.stdout.includes('Kernel panic')) accel = 'kvm';
  }
  writeFileSync(file, `${accel}\n`);
  return accel;
}

const WORK_ROOT = '/var/tmp/qood-vm-work';
const LOCK = join(WORK_ROOT, 'vm.lock');

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the machine-wide VM lock: one emulated VM at a time. Under software emulation two VMs on
 * two cores starve each other (and every other test) until their timeouts fire; one after the other
 * they each finish in well under a minute. Tests that keep both cores busy for minutes (the
 * multi-process devnet) take it too, so they never run beside a VM. A lock whose holder died, or
 * older than 15 minutes, is taken over. Returns the release function.
 */
export async function takeVmLock(): Promise<() => void> {
  mkdirSync(WORK_ROOT, { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let stale = false;
    try {
      const pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
      stale = pid > 0 && !processAlive(pid);
    } catch {
      // The holder has made the folder and not yet written its pid.
    }
    try {
      stale ||= Date.now() - statSync(LOCK).mtimeMs > 15 * 60_000;
    } catch {
      continue; // released in the meantime
    }
    if (stale) rmSync(LOCK, { recursive: true, force: true });
    else await new Promise((r) => setTimeout(r, 250));
  }
}

/** How a VM run is set up. */
export interface VmOptions {
  /** Files written beside run.sh, by name. */
  readonly files?: Record<string, string>;
  /** Bound on the VM's whole run, from its start (default 180 s). */
  readonly timeoutMs?: number;
  /** The VM's memory (default 2048 MB: enough for four node processes). */
  readonly memoryMb?: number;
}

/**
 * Runs `script` as run.sh in a fresh work folder, with `files` written beside it. VMs run one at a
 * time (see takeVmLock); `timeoutMs` counts from the VM's start, not from the wait.
 */
export async function runInVm(script: string, options: VmOptions = {}): Promise<VmRun> {
  const release = await takeVmLock();
  try {
    return await runInVmLocked(script, options);
  } finally {
    release();
  }
}

async function runInVmLocked(script: string, options: VmOptions): Promise<VmRun> {
  const cache = prepareVm();
  // Not under /tmp: the VM mounts a fresh tmpfs there.
  const workDir = mkdtempSync(join(WORK_ROOT, 'run-'));
  writeFileSync(join(workDir, 'run.sh'), script);
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(workDir, name), text);
  const accel = vmAccel();
  const args = [
    ...accelArgs(accel),
    '-m',
    String(options.memoryMb ?? 2048),
    '-smp',
    '2',
    '-nographic',
    '-no-reboot',
    '-kernel',
    join(cache, 'vmlinuz'),
    '-initrd',
    join(cache, 'initrd.gz'),
    '-append',
    `console=ttyS0 quiet panic=-1 qood.work=${workDir} qood.project=${projectRoot()}`,
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs',
    `local,path=${workDir},mount_tag=work,security_model=none`,
    '-virtfs',
    `local,path=${projectRoot()},mount_tag=project,security_model=none,readonly=on,multidevs=remap`,
  ];
  let consoleText = '';
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  qemu.stdout.on('data', (d: Buffer) => {
    consoleText += d.toString();
  });
  qemu.stderr.on('data', (d: Buffer) => {
    consoleText += d.toString();
  });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => qemu.kill('SIGKILL'), options.timeoutMs ?? 180_000);
    qemu.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const read = (f: string) => {
    try {
      return readFileSync(join(workDir, f), 'utf8');
    } catch {
      return undefined;
    }
  };
  const rcText = read('rc');
  return {
    rc: rcText === undefined ? undefined : Number(rcText.trim()),
    out: read('out.log') ?? '',
    workDir,
    console: consoleText,
    accel,
  };
}
