/**
 * Config files written to exhaust the reader: a YAML alias bomb ("billion laughs") and brackets
 * nested 100,000 deep. Both must end as a config problem naming where, what and what was expected,
 * quickly, never as a stack overflow or an expansion to gigabytes. The signal map loader shares the
 * reader, so it refuses them the same way.
 */
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { formatProblem, parseConfigText } from '../../../../agent/config/yaml-file.js';
import { loadDbcFile } from '../../../../agent/decode/can/index.js';
import { resolveSignalMap, SignalMapError } from '../../../../agent/decode/vss-map/index.js';
import { vssDictionary } from '../../../../agent/dictionary/index.js';
import { ALIAS_BOMB } from '../../../support/fuzz.js';
import { projectRoot } from '../../../support/system.js';

describe('hostile config files', () => {
  it('a YAML alias bomb is a config problem naming the alias limit, not an exception', () => {
    const started = Date.now();
    const r = parseConfigText(ALIAS_BOMB, 'bomb.yaml', agentConfigSchema);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const lines = r.problems.map(formatProblem);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^bomb\.yaml:\d+:\d+: \(aliases\): found more than \d+ alias expansions; expected/,
    );
  });

  it('100,000 nested [ are one config problem naming the depth limit, not a stack overflow', () => {
    for (const text of [`a: ${'['.repeat(100_000)}`, `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}`]) {
      const r = parseConfigText(text, 'deep.yaml', agentConfigSchema);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      const lines = r.problems.map(formatProblem);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^deep\.yaml:1:\d+: \(nesting\): found more than 64 levels; expected/);
      expect(lines[0]).not.toContain('call stack');
    }
  });

  it('deep block nesting (indentation, nested flow maps) is refused the same way', () => {
    let block = '';
    for (let i = 0; i < 3000; i++) block += `${' '.repeat(i)}k${i}:\n`;
    for (const text of [block, `a: ${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}`]) {
      const r = parseConfigText(text, 'deep.yaml', agentConfigSchema);
      expect(r.ok).toBe(false);
      if (!r.ok)
        expect(r.problems.map(formatProblem).join('\n')).toContain('(nesting): found more than 64 levels');
    }
  });

  it('nesting within the limit still reads', () => {
    const text = `device:\n  vehicleId: car-1\nx: ${'['.repeat(60)}${']'.repeat(60)}\n`;
    const r = parseConfigText(text, 'ok.yaml', agentConfigSchema);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map(formatProblem)).toEqual([expect.stringContaining('ok.yaml:3:1: x:')]);
  });

  it('a key that is empty or not a plain name is named as ["key"], never as a blank field (found by the fuzzer)', () => {
    for (const [text, field] of [
      ['?', '[""]'],
      ['"a.b": 1', '["a.b"]'],
      ['device:\n  vehicleId: x\n  "": 1', 'device[""]'],
    ] as const) {
      const r = parseConfigText(text, 'k.yaml', agentConfigSchema);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.map((p) => p.field)).toContain(field);
    }
  });

  it('signal map files share the reader: an alias bomb or deep nesting is a SignalMapError naming the limit', () => {
    const dbc = loadDbcFile(`${projectRoot()}/simulators/vehicle/qood-sim.dbc`);
    for (const [text, what] of [
      [ALIAS_BOMB, '(aliases)'],
      [`signals: ${'['.repeat(100_000)}`, '(nesting)'],
    ] as const) {
      let err: unknown;
      try {
        resolveSignalMap(text, 'map.yaml', dbc, vssDictionary());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SignalMapError);
      expect((err as SignalMapError).problems).toEqual([
        expect.stringMatching(new RegExp(`^map\\.yaml:\\d+:\\d+: \\${what.slice(0, -1)}\\): found`)),
      ]);
    }
  });
});
