/** A throw-away target root for `qood init` tests: /etc/passwd and /etc/group, and by-id links. */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Makes a root with Debian's first accounts and `byId` names as links in /dev/serial/by-id. */
export function fakeRoot(byId: readonly string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'qood-init-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\ndialout:x:20:\n');
  if (byId.length > 0) {
    mkdirSync(join(root, 'dev/serial/by-id'), { recursive: true });
    for (const [i, name] of byId.entries())
      symlinkSync(`../../ttyUSB${i}`, join(root, 'dev/serial/by-id', name));
  }
  return root;
}
