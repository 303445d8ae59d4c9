/** Resolves a group name to its gid from /etc/group (Node has no getgrnam). */
import { readFileSync } from 'node:fs';

/** The gid of `name` (or of a numeric string), or undefined when the group does not exist. */
export function resolveGid(name: string, groupFile = '/etc/group'): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}
