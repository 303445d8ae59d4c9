import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { formatProblem, loadConfigFile, parseConfigText } from '../../../../agent/config/yaml-file.js';
import { nodeConfigSchema } from '../../../../node/config.js';
import { projectRoot } from '../../../support/system.js';

const configDir = join(projectRoot(), 'config');

describe('shipped example configs', () => {
  for (const file of readdirSync(configDir).filter((f) => f.endsWith('.yaml'))) {
    it(`${file} validates`, () => {
      const schema = file.startsWith('node') ? nodeConfigSchema : agentConfigSchema;
      const r = loadConfigFile(join(configDir, file), schema);
      expect(r.ok ? [] : r.problems.map(formatProblem)).toEqual([]);
    });
  }
});

describe('config validation', () => {
  const check = (text: string) => parseConfigText(text, 'agent.yaml', agentConfigSchema);

  it('fills defaults for a minimal file', () => {
    const r = check('device:\n  vehicleId: car-1\n');
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.config.device.dataDir).toBe('/var/lib/qood');
      expect(r.config.log.level).toBe('info');
      expect(r.config.sources.can).toEqual([]);
    }
  });

  it('names the field, the value, what was expected and the line of a wrong value', () => {
    const r = check('device:\n  vehicleId: car-1\nlog:\n  level: loud\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(1);
    const p = r.problems[0]!;
    expect(p).toMatchObject({ file: 'agent.yaml', line: 4, field: 'log.level', value: '"loud"' });
    expect(p.expected).toContain('debug');
    expect(formatProblem(p)).toMatch(/^agent\.yaml:4:10: log\.level: found "loud"; expected .*"info"/);
  });

  it('points at the key of a misspelt field and suggests the right one', () => {
    const r = check('device:\n  vehicleId: car-1\n  datadir: /tmp/x\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]).toMatchObject({
      line: 3,
      column: 3,
      field: 'device.datadir',
      fix: "did you mean 'dataDir'?",
    });
  });

  it('reports a missing required field at its parent', () => {
    const r = check('device:\n  dataDir: /tmp/x\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]).toMatchObject({ line: 2, field: 'device.vehicleId' });
    expect(r.problems[0]?.expected).toMatch(/required/);
  });

  it('finds problems inside lists, with their index', () => {
    const r = check(
      'device:\n  vehicleId: car-1\nsources:\n  can:\n    - interface: can0\n      dbc: a.dbc\n    - interface: "this name is far too long"\n      dbc: b.dbc\n',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]).toMatchObject({ line: 7, field: 'sources.can[1].interface' });
  });

  it('checks fields that depend on each other (elm327 needs a port)', () => {
    const r = check('device:\n  vehicleId: car-1\nsources:\n  obd:\n    transport: elm327\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]?.field).toBe('sources.obd.port');
    expect(r.problems[0]?.expected).toMatch(/serial port/);
  });

  it('reports YAML syntax errors with their position', () => {
    const r = check('device:\n  vehicleId: [car-1\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]?.field).toBe('(syntax)');
    expect(r.problems[0]?.line).toBeGreaterThanOrEqual(2);
  });

  it('reports a file that cannot be read', () => {
    const r = loadConfigFile('/nonexistent/qood.yaml', agentConfigSchema);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]?.expected).toContain('ENOENT');
  });

  it('rejects a non-mapping document', () => {
    const r = check('- just\n- a list\n');
    expect(r.ok).toBe(false);
  });
});
