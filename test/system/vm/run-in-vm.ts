/**
 * Runs a shell script inside a qemu VM with Debian's kernel (CAN, vcan, can-isotp as modules) and
 * the host's root mounted read-only, so the script can use the host's node, can-utils and this
 * checkout. The script's folder is shared read-write at the same path inside and outside. Boots
 * in about 5 to 20 s under emulation; every run is bounded by `timeoutMs`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
 * they each finish in well under a minute. A lock whose holder died, or older than 15 minutes, is
 * taken over. Returns the release function.
 */
async function takeVmLock(): Promise<() => void> {
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

/**
 * Runs `script` as run.sh in a fresh work folder, with `files` written beside it. VMs run one at a
 * time (see takeVmLock); `timeoutMs` counts from the VM's start, not from the wait.
 */
export async function runInVm(
  script: string,
  options: { files?: Record<string, string>; timeoutMs?: number } = {},
): Promise<VmRun> {
  const release = await takeVmLock();
  try {
    return await runInVmLocked(script, options);
  } finally {
    release();
  }
}

async function runInVmLocked(
  script: string,
  options: { files?: Record<string, string>; timeoutMs?: number },
): Promise<VmRun> {
  const cache = prepareVm();
  // Not under /tmp: the VM mounts a fresh tmpfs there.
  const workDir = mkdtempSync(join(WORK_ROOT, 'run-'));
  writeFileSync(join(workDir, 'run.sh'), script);
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(workDir, name), text);
  const args = [
    '-m',
    '1024',
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
  };
}
