import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBoundaries, formatViolations, readImports } from '../../support/boundaries.js';
import { projectRoot } from '../../support/system.js';

const repoRoot = projectRoot();

describe('folder boundaries of this repository', () => {
  it('hold: firmware-bridge and chain import nothing of ours, agent uses their index, one adapter per I/O library', () => {
    const violations = checkBoundaries(repoRoot);
    expect(formatViolations(violations)).toBe('');
  });
});

describe('the boundary checker', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tree = (files: Record<string, string>): string => {
    const root = mkdtempSync(join(tmpdir(), 'qood-bounds-'));
    made.push(root);
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), text);
    }
    return root;
  };

  it('accepts a tree that follows the rules', () => {
    const root = tree({
      'firmware-bridge/index.ts': "export * from './can/bus.js';\n",
      'firmware-bridge/can/bus.ts': "import { x } from 'socketcan';\nexport const y = x;\n",
      'chain/index.ts': 'export const c = 1;\n',
      'agent/main.ts':
        "import { y } from '../firmware-bridge/index.js';\nimport { c } from '../chain/index.js';\nimport type { Database } from 'better-sqlite3';\nexport const z = [y, c];\n",
      'agent/store/sqlite.ts': "import Database from 'better-sqlite3';\nexport const d = Database;\n",
    });
    expect(checkBoundaries(root)).toEqual([]);
  });

  it('rejects firmware-bridge importing the agent, naming file and line', () => {
    const root = tree({
      'firmware-bridge/can/bus.ts': "// a comment\nimport { Sample } from '../../agent/decode/sample.js';\n",
    });
    const v = checkBoundaries(root);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ file: 'firmware-bridge/can/bus.ts', line: 2, rule: 'folder' });
  });

  it('rejects chain importing firmware-bridge, even through its index', () => {
    const root = tree({ 'chain/state.ts': "export * from '../firmware-bridge/index.js';\n" });
    expect(checkBoundaries(root).map((v) => v.rule)).toEqual(['folder']);
  });

  it('rejects agent reaching past the index of firmware-bridge or chain', () => {
    const root = tree({
      'agent/a.ts': "import { MemoryCanBus } from '../firmware-bridge/can/memory-bus.js';\n",
      'agent/b.ts': "const m = await import('../chain/state/accounts.js');\n",
    });
    const v = checkBoundaries(root);
    expect(v.map((x) => [x.file, x.rule])).toEqual([
      ['agent/a.ts', 'index-only'],
      ['agent/b.ts', 'index-only'],
    ]);
  });

  it('rejects agent importing simulators or cli', () => {
    const root = tree({ 'agent/a.ts': "import { runDemo } from '../simulators/demo/demo.js';\n" });
    expect(checkBoundaries(root)[0]?.rule).toBe('folder');
  });

  it('rejects a second file in the same folder importing an I/O library, but not a type-only import', () => {
    const root = tree({
      'agent/sync/mqtt.ts': "import mqtt from 'mqtt';\nexport const m = mqtt;\n",
      'agent/sync/other.ts': "import { connect } from 'mqtt';\nexport const c = connect;\n",
      'agent/sync/types.ts': "import type { MqttClient } from 'mqtt';\nexport type T = MqttClient;\n",
      'agent/serial.ts': "import { SerialPort } from 'serialport';\n",
      'firmware-bridge/serial.ts': "import { SerialPort } from 'serialport';\n",
    });
    const v = checkBoundaries(root);
    expect(v.every((x) => x.rule === 'one-adapter')).toBe(true);
    expect(v.map((x) => x.file).sort()).toEqual(['agent/sync/mqtt.ts', 'agent/sync/other.ts']);
  });

  it('counts require() and sub-path imports of an I/O library', () => {
    const root = tree({
      'firmware-bridge/a.ts': "const s = require('@serialport/bindings-cpp');\n",
      'firmware-bridge/b.ts': "import { SerialPort } from 'serialport';\n",
      'firmware-bridge/c.ts': "import { ReadlineParser } from '@serialport/parser-readline';\n",
    });
    expect(new Set(checkBoundaries(root).map((x) => x.file))).toEqual(
      new Set(['firmware-bridge/a.ts', 'firmware-bridge/c.ts']),
    );
  });

  it('reads imports with the TypeScript parser, not regular expressions', () => {
    const refs = readImports(
      'x.ts',
      "const s = \"import x from '../agent/a.js'\";\n/* import y from 'mqtt' */\nimport { type A, type B } from 'mqtt';\nexport { q } from './q.js';\n",
    );
    expect(refs).toEqual([
      { specifier: 'mqtt', line: 3, typeOnly: true },
      { specifier: './q.js', line: 4, typeOnly: false },
    ]);
  });
});
