/**
 * Runs a shell script inside a qemu VM with Debian's kernel (CAN, vcan, can-isotp as modules) and
 * the host's root mounted read-only, so the script can use the host's node, can-utils and this
 * checkout. The script's folder is shared read-write at the same path inside and outside. Boots
 * in about 5 to 20 s under emulation; every run is bounded by `timeoutMs`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Runs `script` as run.sh in a fresh work folder, with `files` written beside it. */
export async function runInVm(
  script: string,
  options: { files?: Record<string, string>; timeoutMs?: number } = {},
): Promise<VmRun> {
  const cache = prepareVm();
  // Not under /tmp: the VM mounts a fresh tmpfs there.
  mkdirSync('/var/tmp/qood-vm-work', { recursive: true });
  const workDir = mkdtempSync('/var/tmp/qood-vm-work/run-');
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
