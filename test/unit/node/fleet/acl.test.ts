/**
 * The fleet ACL text: the shipped packaging/mosquitto/qood.acl is what `qood fleet ca` writes for a
 * CA with one node named `qood-node`, every role's lines are there, and names and roles that would
 * collide in the broker's patterns are refused before anything is issued.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkGrantId,
  checkNodeName,
  checkVehicleId,
  FleetError,
  renderFleetAcl,
} from '../../../../node/fleet/index.js';
import { projectRoot } from '../../../support/system.js';

describe('renderFleetAcl', () => {
  it('is the shipped qood.acl for a CA with one node named qood-node', () => {
    const shipped = readFileSync(join(projectRoot(), 'packaging', 'mosquitto', 'qood.acl'), 'utf8');
    expect(renderFleetAcl({ nodes: ['qood-node'] })).toBe(shipped);
  });

  it('gives devices their own up (write) and down (read) topics and nodes every vehicle', () => {
    const acl = renderFleetAcl({ topicPrefix: 'fleet/x', nodes: ['n2', 'n1', 'n1'] });
    const rules = acl.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(rules).toContain('pattern write fleet/x/%u/up/#');
    expect(rules).toContain('pattern read fleet/x/%u/down/#');
    expect(rules).toContain('pattern read fleet/x/chain/finality');
    expect(rules).toContain('pattern write fleet/x/+/control/%u/cmd');
    // One block per node, sorted, duplicates once: the same CA state gives the same file.
    expect(rules.filter((l) => l.startsWith('user '))).toEqual(['user n1', 'user n2']);
    // No line lets a client write someone else's up topics or read everyone's down topics.
    expect(rules.filter((l) => /^pattern (write|readwrite) .*\+\/up/.test(l))).toEqual([]);
    expect(rules.filter((l) => /^pattern (read|readwrite) .*\+\/down/.test(l))).toEqual([]);
  });
});

describe('certificate names', () => {
  const refused = (f: () => void) => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(FleetError);
      expect((err as FleetError).code).toBe('usage');
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('takes a vehicle id that is one topic level, as the agent config does', () => {
    expect(() => checkVehicleId('WVWZZZ1JZXW000001')).not.toThrow();
    expect(refused(() => checkVehicleId('a/b'))).toMatch(/'a\/b'.*topic level/);
    expect(refused(() => checkVehicleId('+'))).toMatch(/expected 1 to 64/);
    expect(refused(() => checkVehicleId(''))).toMatch(/expected 1 to 64/);
    expect(refused(() => checkVehicleId('x'.repeat(65)))).toMatch(/expected 1 to 64/);
  });

  it('refuses vehicle ids the broker would read as another subtree or a grantee', () => {
    expect(refused(() => checkVehicleId('chain'))).toMatch(/reserved/);
    expect(refused(() => checkVehicleId('AB'.repeat(32)))).toMatch(/grant id/);
    expect(refused(() => checkNodeName('ab'.repeat(32)))).toMatch(/grant id/);
  });

  it('takes a grant id as 64 lower-case hex digits only', () => {
    expect(() => checkGrantId('ab'.repeat(32))).not.toThrow();
    expect(refused(() => checkGrantId('AB'.repeat(32)))).toMatch(/64 lower-case hex/);
    expect(refused(() => checkGrantId('ab'))).toMatch(/64 lower-case hex/);
  });
});
