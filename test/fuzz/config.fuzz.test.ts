/**
 * Fuzzing the config readers: the agent and node config files and the signal map files, from
 * arbitrary text and edits of the shipped examples. Each gives a config or a list of problems, every
 * problem naming the file, a field and what was expected; nothing throws, nothing hangs (alias bombs
 * and deep nesting included).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config/index.js';
import { type ConfigProblem, parseConfigText } from '../../agent/config/yaml-file.js';
import { loadDbcFile } from '../../agent/decode/can/index.js';
import { resolveSignalMap, SignalMapError } from '../../agent/decode/vss-map/index.js';
import { vssDictionary } from '../../agent/dictionary/index.js';
import { nodeConfigSchema } from '../../node/config.js';
import { ALIAS_BOMB, answersOrRefuses, fuzz, mutatedText } from '../support/fuzz.js';
import { projectRoot } from '../support/system.js';

const configDir = join(projectRoot(), 'config');
const samples = readdirSync(configDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(configDir, f), 'utf8'));
/** YAML shapes that reach the reader's recursive parts. */
const hostile = fc.oneof(
  fc.integer({ min: 1, max: 3000 }).map((n) => `device: ${'['.repeat(n)}${']'.repeat(n % 2 === 0 ? n : 0)}`),
  fc.integer({ min: 1, max: 3000 }).map((n) => `device: ${'{a: '.repeat(n)}1${'}'.repeat(n)}`),
  fc
    .integer({ min: 1, max: 200 })
    .map((n) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')),
  fc.constant(ALIAS_BOMB),
  fc.string({
    unit: fc.constantFrom(
      '[',
      ']',
      '{',
      '}',
      '&a ',
      '*a',
      ': ',
      '- ',
      '\n',
      ' ',
      '?',
      '!!',
      '"',
      "'",
      '#',
      '|',
    ),
    maxLength: 200,
  }),
);

function expectProblems(problems: readonly ConfigProblem[], file: string): void {
  expect(problems.length).toBeGreaterThan(0);
  for (const p of problems) {
    expect(p.file).toBe(file);
    expect(p.field.length).toBeGreaterThan(0);
    expect(p.expected.length).toBeGreaterThan(0);
    if (p.line !== undefined) expect(p.line).toBeGreaterThanOrEqual(1);
  }
}

describe('config files', () => {
  it('agent and node configs: a config or problems naming file, field and expectation', () => {
    fuzz(
      300,
      [
        fc.oneof({ weight: 4, arbitrary: mutatedText(samples) }, { weight: 1, arbitrary: hostile }),
        fc.boolean(),
      ],
      (text, node) => {
        const r = parseConfigText(text, 'c.yaml', node ? nodeConfigSchema : agentConfigSchema);
        if (!r.ok) expectProblems(r.problems, 'c.yaml');
      },
    );
  });

  it('signal maps: resolved mappings or a SignalMapError listing each problem', () => {
    const root = projectRoot();
    const dbc = loadDbcFile(join(root, 'simulators/vehicle/qood-sim.dbc'));
    const dictionary = vssDictionary();
    const map = readFileSync(join(root, 'simulators/vehicle/qood-sim.vss.yaml'), 'utf8');
    fuzz(
      200,
      [fc.oneof({ weight: 4, arbitrary: mutatedText([map]) }, { weight: 1, arbitrary: hostile })],
      (text) => {
        answersOrRefuses(
          () => resolveSignalMap(text, 'm.yaml', dbc, dictionary),
          [{ type: SignalMapError, codes: ['INVALID_MAP'] }],
        );
      },
    );
  });
});
