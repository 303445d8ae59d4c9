/**
 * Accounts made without root, by editing a root's files as an unprivileged image build does: a
 * system id below 1000 that no one has, the same id for the user and its group when free, shadow
 * entries when the root has shadow files, and membership added once.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileEditor, readAccounts } from '../../../../agent/install/index.js';
import { fakeRoot } from '../../../support/init-root.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe('fileEditor', () => {
  it('adds a system group and user with free ids, shadow lines, and a membership once', () => {
    const root = fakeRoot();
    roots.push(root);
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/bash\n_apt:x:999:65534::/nonexistent:/usr/sbin/nologin\n',
    );
    writeFileSync(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
    writeFileSync(join(root, 'etc/gshadow'), 'root:*::\ndialout:*::\n', { mode: 0o640 });
    const edit = fileEditor(root);
    edit.addGroup('qood');
    edit.addUser('qood', 'qood');
    edit.addToGroup('qood', 'dialout');
    edit.addToGroup('qood', 'dialout');

    const a = readAccounts(root);
    // 999 is taken by _apt in passwd but free in group: the group gets it, the user the next free id.
    expect(a.group('qood')).toBe(999);
    expect(a.user('qood')).toEqual({ uid: 998, gid: 999 });
    expect(a.isMember('qood', 'dialout')).toBe(true);
    expect(readFileSync(join(root, 'etc/group'), 'utf8')).toBe('root:x:0:\ndialout:x:20:qood\nqood:x:999:\n');
    expect(readFileSync(join(root, 'etc/gshadow'), 'utf8')).toBe('root:*::\ndialout:*::qood\nqood:!::\n');
    expect(readFileSync(join(root, 'etc/shadow'), 'utf8')).toMatch(/^qood:!\*:\d+::::::$/m);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(
      /^qood:x:998:999:QoodBlock vehicle agent:\/nonexistent:\/usr\/sbin\/nologin$/m,
    );
    expect(statSync(join(root, 'etc/shadow')).mode & 0o777).toBe(0o640);
  });
});
