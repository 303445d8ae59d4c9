/**
 * The `qood` system user and its groups in a target root. What exists is read from the root's
 * /etc/passwd and /etc/group. Changes go two ways:
 *
 * - as root, through shadow's `groupadd`, `useradd --system` and `usermod -aG`, with `-R DIR` for
 *   another root: they keep the system's id ranges (login.defs), shadow files and locks;
 * - not as root (an image build run unprivileged), by editing DIR/etc/passwd, group, shadow and
 *   gshadow directly: `useradd -R` chroots into DIR, which needs CAP_SYS_CHROOT. The ids are the
 *   highest free ones below 1000, as `useradd --system` picks them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../process/index.js';
import { InstallError } from './install-error.js';

/** One line of /etc/passwd or /etc/group, split on ':'. */
type Entry = readonly string[];

function readEntries(root: string, file: string): Entry[] {
  const path = join(root, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InstallError(
      'BAD_FILE',
      path,
      `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the target root needs /etc/passwd and /etc/group`,
    );
  }
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** The accounts of a root as its files say now. */
export interface AccountsView {
  /** uid and gid of a user, or undefined. */
  user(name: string): { uid: number; gid: number } | undefined;
  /** gid of a group, or undefined. */
  group(name: string): number | undefined;
  /** True when `user` is listed as a member of `group` (or has it as primary group). */
  isMember(user: string, group: string): boolean;
}

/** Reads the root's passwd and group files. */
export function readAccounts(root: string): AccountsView {
  const passwd = readEntries(root, 'etc/passwd');
  const groups = readEntries(root, 'etc/group');
  const user = (name: string) => {
    const e = passwd.find((p) => p[0] === name);
    return e === undefined ? undefined : { uid: Number(e[2]), gid: Number(e[3]) };
  };
  const group = (name: string) => {
    const e = groups.find((g) => g[0] === name);
    return e === undefined ? undefined : Number(e[2]);
  };
  return {
    user,
    group,
    isMember: (u, g) => {
      const e = groups.find((x) => x[0] === g);
      if (e === undefined) return false;
      if ((e[3] ?? '').split(',').includes(u)) return true;
      return user(u)?.gid === Number(e[2]);
    },
  };
}

/** Changes accounts in a root. */
export interface AccountsEditor {
  addGroup(name: string): void;
  /** A system user with its own primary group `group` (which must exist), no home, no login. */
  addUser(name: string, group: string): void;
  addToGroup(user: string, group: string): void;
}

/** The editor for this process: shadow's commands as root, file edits otherwise. */
export function accountsEditor(root: string, asRoot: boolean): AccountsEditor {
  return asRoot ? commandEditor(root) : fileEditor(root);
}

function run(cmd: string, args: readonly string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error !== undefined)
    throw new InstallError(
      'COMMAND_FAILED',
      cmd,
      `cannot run it (${r.error.message}); is the passwd package installed?`,
    );
  if (r.status !== 0)
    throw new InstallError(
      'COMMAND_FAILED',
      `${cmd} ${args.join(' ')}`,
      `exit ${r.status}: ${r.stderr.trim()}`,
    );
}

/** groupadd, useradd and usermod, with `-R root` when the root is not `/`. */
export function commandEditor(root: string): AccountsEditor {
  const r = root === '/' ? [] : ['-R', root];
  return {
    addGroup: (name) => run('groupadd', [...r, '--system', name]),
    addUser: (name, group) =>
      run('useradd', [
        ...r,
        '--system',
        '--gid',
        group,
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/usr/sbin/nologin',
        '--comment',
        'QoodBlock vehicle agent',
        name,
      ]),
    addToGroup: (user, group) => run('usermod', [...r, '--append', '--groups', group, user]),
  };
}

/** Lowest id `useradd --system` may hand out (Debian's SYS_UID_MIN and SYS_GID_MIN). */
const SYS_ID_MIN = 100;
/** Highest system id (SYS_UID_MAX): ids from 1000 are people's. */
const SYS_ID_MAX = 999;

function freeSystemId(used: ReadonlySet<number>, where: string): number {
  for (let id = SYS_ID_MAX; id >= SYS_ID_MIN; id--) if (!used.has(id)) return id;
  throw new InstallError('BAD_FILE', where, `no free system id between ${SYS_ID_MIN} and ${SYS_ID_MAX}`);
}

/** Appends a line to a root's file, keeping its mode; a file that does not exist is left alone. */
function appendLine(root: string, file: string, line: string, required: boolean): void {
  const path = join(root, file);
  if (!existsSync(path)) {
    if (required) throw new InstallError('BAD_FILE', path, 'missing; the target root needs it');
    return;
  }
  const text = readFileSync(path, 'utf8');
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  writeFileAtomic(path, `${text}${sep}${line}\n`, { mode: statSync(path).mode & 0o7777 });
}

/** Edits the root's passwd, group, shadow and gshadow files (the shadow ones only when present). */
export function fileEditor(root: string): AccountsEditor {
  return {
    addGroup(name) {
      const used = new Set(readEntries(root, 'etc/group').map((g) => Number(g[2])));
      const gid = freeSystemId(used, join(root, 'etc/group'));
      appendLine(root, 'etc/group', `${name}:x:${gid}:`, true);
      appendLine(root, 'etc/gshadow', `${name}:!::`, false);
    },
    addUser(name, group) {
      const gid = readAccounts(root).group(group);
      if (gid === undefined) throw new InstallError('BAD_FILE', join(root, 'etc/group'), `no group ${group}`);
      const used = new Set(readEntries(root, 'etc/passwd').map((p) => Number(p[2])));
      const uid = used.has(gid) ? freeSystemId(used, join(root, 'etc/passwd')) : gid;
      appendLine(
        root,
        'etc/passwd',
        `${name}:x:${uid}:${gid}:QoodBlock vehicle agent:/nonexistent:/usr/sbin/nologin`,
        true,
      );
      appendLine(root, 'etc/shadow', `${name}:!*:${Math.floor(Date.now() / 86_400_000)}::::::`, false);
    },
    addToGroup(user, group) {
      rewriteGroupLine(root, 'etc/group', group, 3, user, true);
      rewriteGroupLine(root, 'etc/gshadow', group, 3, user, false);
    },
  };
}

/** Adds `user` to the member list (field `field`) of `group`'s line in a root's group or gshadow file. */
function rewriteGroupLine(
  root: string,
  file: string,
  group: string,
  field: number,
  user: string,
  required: boolean,
): void {
  const path = join(root, file);
  if (!existsSync(path)) {
    if (required) throw new InstallError('BAD_FILE', path, 'missing; the target root needs it');
    return;
  }
  const lines = readFileSync(path, 'utf8').split('\n');
  let found = false;
  const out = lines.map((l) => {
    const f = l.split(':');
    if (f[0] !== group || l.startsWith('#')) return l;
    found = true;
    while (f.length <= field) f.push('');
    const members = f[field]!.split(',').filter((m) => m !== '');
    if (!members.includes(user)) members.push(user);
    f[field] = members.join(',');
    return f.join(':');
  });
  if (!found) {
    if (required) throw new InstallError('BAD_FILE', path, `no group ${group}`);
    return;
  }
  writeFileAtomic(path, out.join('\n'), { mode: statSync(path).mode & 0o7777 });
}
