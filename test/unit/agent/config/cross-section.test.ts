/**
 * Rules between config sections, checked as `qood config check` and `qood agent` check a file:
 * each is refused at the field to change, with its line and the fix, before anything starts.
 */
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { formatProblem, parseConfigText } from '../../../../agent/config/yaml-file.js';

const check = (text: string) => parseConfigText(text, 'agent.yaml', agentConfigSchema);
const DEVICE = 'device:\n  vehicleId: car-1\n';
const CAN = 'sources:\n  can:\n    - interface: can0\n      dbc: a.dbc\n';

/** The one problem of `text`, formatted as the CLI prints it. */
function onlyProblem(text: string) {
  const r = check(text);
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('unreachable');
  expect(r.problems.map(formatProblem)).toHaveLength(1);
  return { problem: r.problems[0]!, line: formatProblem(r.problems[0]!) };
}

describe('rules between config sections', () => {
  it('permissions without a store: refused at permissions, saying to add storage or sync', () => {
    const { problem, line } = onlyProblem(`${DEVICE}${CAN}permissions:\n  chainId: qood-1\n`);
    expect(problem).toMatchObject({ field: 'permissions', line: 8 });
    expect(line).toContain('expected a `storage` (or `sync`) section beside it');
    expect(line).toContain('add one, or remove `permissions`');
  });

  it('a vehicle profile with no CAN interface to write on: refused at permissions.profile', () => {
    const { problem, line } = onlyProblem(
      `${DEVICE}storage:\n  quotaBytes: 1048576\npermissions:\n  profile: car.yaml\n`,
    );
    expect(problem).toMatchObject({ field: 'permissions.profile', line: 6, value: '"car.yaml"' });
    expect(line).toContain('set permissions.interface, or add a sources.can entry');
  });

  it('a chain section without sync: refused at chain, saying finality comes from the broker', () => {
    const { problem, line } = onlyProblem(
      `${DEVICE}storage:\n  quotaBytes: 1048576\nchain:\n  checkpoint: cp.bin\n`,
    );
    expect(problem).toMatchObject({ field: 'chain', line: 6 });
    expect(line).toContain('a `sync` section beside it: finality updates come from the broker');
  });

  it('accepts each section with what it needs', () => {
    const sync = 'sync:\n  broker: mqtt://localhost:1883\n';
    for (const text of [
      `${DEVICE}${CAN}${sync}permissions:\n  profile: car.yaml\n`,
      `${DEVICE}storage:\n  quotaBytes: 1048576\npermissions:\n  profile: car.yaml\n  interface: can1\n`,
      `${DEVICE}${sync}chain:\n  checkpoint: cp.bin\n`,
    ]) {
      const r = check(text);
      expect(r.ok ? [] : r.problems.map(formatProblem)).toEqual([]);
    }
  });

  it('reports every broken rule of a file at once', () => {
    const r = check(`${DEVICE}permissions:\n  profile: car.yaml\nchain:\n  checkpoint: cp.bin\n`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.field)).toEqual(['permissions', 'permissions.profile', 'chain']);
  });
});
