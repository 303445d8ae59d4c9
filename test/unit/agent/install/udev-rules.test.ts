/**
 * The shipped udev rules: every rule matches a USB vendor and product id, gives group dialout and
 * mode 0660 and one of the two stable names, and every chip the adapter detection knows has a rule.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../support/system.js';

const text = readFileSync(join(projectRoot(), 'systemd/udev/70-qood.rules'), 'utf8');
const rules = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
const RULE =
  /^ATTRS\{idVendor\}=="([0-9a-f]{4})", ATTRS\{idProduct\}=="([0-9a-f]{4})", GROUP="dialout", MODE="0660", SYMLINK\+="qood-(obd|gnss)"$/;

describe('70-qood.rules', () => {
  it('has only id rules with group, mode and a qood link, between the tty guard and its label', () => {
    expect(rules.slice(0, 2)).toEqual([
      'ACTION=="remove", GOTO="qood_end"',
      'SUBSYSTEM!="tty", GOTO="qood_end"',
    ]);
    expect(rules.at(-1)).toBe('LABEL="qood_end"');
    for (const r of rules.slice(2, -1)) expect(r).toMatch(RULE);
  });

  it('covers FTDI, CH340, CP210x and PL2303 bridges as OBD and u-blox receivers as GNSS', () => {
    const byVendor = new Map<string, Set<string>>();
    for (const r of rules.slice(2, -1)) {
      const [, vendor, , link] = RULE.exec(r)!;
      byVendor.set(vendor!, (byVendor.get(vendor!) ?? new Set()).add(link!));
    }
    for (const v of ['0403', '1a86', '10c4', '067b'])
      expect([v, [...byVendor.get(v)!]]).toEqual([v, ['obd']]);
    expect([...byVendor.get('1546')!]).toEqual(['gnss']);
  });
});
