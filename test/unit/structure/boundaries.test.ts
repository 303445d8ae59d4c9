/**
 * The room boundaries hold on this repository, and each rule of the checker fails on an import
 * planted in a temporary tree, naming file, line and what was broken.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLI_IMPORT_EXCEPTIONS,
  checkBoundaries,
  formatViolations,
  ROOM_RULES,
  readImports,
} from '../../support/boundaries.js';
import { projectRoot } from '../../support/system.js';

const repoRoot = projectRoot();

describe('room boundaries of this repository', () => {
  it('hold: every room imports only what its row allows, no cli/ imports, one adapter per I/O library, no cycles', () => {
    expect(formatViolations(checkBoundaries(repoRoot))).toBe('');
  });

  it('name only rooms and entry files that exist, and only test files as cli/ importers', () => {
    for (const rule of ROOM_RULES) {
      expect(existsSync(join(repoRoot, rule.room)), rule.room).toBe(true);
      for (const entry of rule.mayImport) expect(existsSync(join(repoRoot, entry)), entry).toBe(true);
    }
    for (const e of CLI_IMPORT_EXCEPTIONS) {
      expect(e.file.startsWith('test/'), e.file).toBe(true);
      expect(e.why.length).toBeGreaterThan(0);
    }
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
  /** The formatted violations of a tree with the default rules and no cli/ exceptions. */
  const check = (files: Record<string, string>): string[] => {
    const out = formatViolations(checkBoundaries(tree(files), ROOM_RULES, []));
    return out === '' ? [] : out.split('\n');
  };

  it('accepts a tree that follows every row', () => {
    const root = tree({
      'chain/index.ts': "export * from './state/state.js';\n",
      'chain/state/state.ts': "import { createHash } from 'node:crypto';\nimport { gzipSync } from 'zlib';\n",
      'firmware-bridge/index.ts': "export * from './can/bus.js';\n",
      'firmware-bridge/can/bus.ts':
        "import { x } from 'socketcan';\nimport { readFileSync } from 'node:fs';\n",
      'process/index.ts': "export * from './log.js';\n",
      'process/log.ts': "import pino from 'pino';\n",
      'agent/main.ts':
        "import { y } from '../firmware-bridge/index.js';\nimport { c } from '../chain/index.js';\nimport { l } from '../process/index.js';\nimport type { Database } from 'better-sqlite3';\n",
      'agent/store/sqlite.ts': "import Database from 'better-sqlite3';\n",
      'node/main.ts': "import { c } from '../chain/index.js';\nimport { l } from '../process/index.js';\n",
      'node/store/sqlite.ts': "import Database from 'better-sqlite3';\n",
      'market/client.ts': "import { c } from '../chain/index.js';\n",
      'simulators/demo.ts':
        "import { s } from '../agent/store/sqlite.js';\nimport { n } from '../node/main.js';\nimport { m } from '../market/client.js';\n",
      'cli/main.ts':
        "import { d } from '../simulators/demo.js';\nimport { a } from '../chain/state/state.js';\n",
      'test/unit/a.test.ts':
        "import { s } from '../../chain/state/state.js';\nimport mqtt from 'mqtt';\nimport { helper } from '../support/h.js';\n",
      'test/unit/b.test.ts': "import mqtt from 'mqtt';\n",
      'test/support/h.ts': 'export const helper = 1;\n',
      'vitest.config.ts': "import { defineConfig } from 'vitest/config';\n",
    });
    expect(checkBoundaries(root, ROOM_RULES, [])).toEqual([]);
  });

  describe('chain/', () => {
    it('imports nothing of ours outside chain/, not even an index', () => {
      expect(
        check({ 'chain/state.ts': "// a comment\nexport * from '../firmware-bridge/index.js';\n" }),
      ).toEqual([
        "chain/state.ts:2: chain/ may import only chain/; this reaches firmware-bridge/index.ts (import '../firmware-bridge/index.js')",
      ]);
    });

    it('loads no I/O library or native module, even for a type; node:crypto and node:zlib are fine', () => {
      expect(
        check({
          'chain/store.ts': [
            "import { createHash } from 'node:crypto';",
            "import { inflateSync } from 'node:zlib';",
            "import { readFile } from 'node:fs/promises';",
            "import { connect } from 'net';",
            "import type { Database } from 'better-sqlite3';",
            "const p = await import('@serialport/parser-readline');",
            "const addon = require('./native/codec.node');",
            "import { Worker } from 'node:worker_threads';",
            '',
          ].join('\n'),
        }),
      ).toEqual([
        "chain/store.ts:3: chain/ is pure: it loads no I/O library or native module, and node:fs/promises is one (import 'node:fs/promises')",
        "chain/store.ts:4: chain/ is pure: it loads no I/O library or native module, and net is one (import 'net')",
        "chain/store.ts:5: chain/ is pure: it loads no I/O library or native module, and better-sqlite3 is one (import 'better-sqlite3')",
        "chain/store.ts:6: chain/ is pure: it loads no I/O library or native module, and @serialport/parser-readline is one (import '@serialport/parser-readline')",
        "chain/store.ts:7: chain/ is pure: it loads no I/O library or native module, and ./native/codec.node is one (import './native/codec.node')",
        "chain/store.ts:8: chain/ is pure: it loads no I/O library or native module, and node:worker_threads is one (import 'node:worker_threads')",
      ]);
    });
  });

  it('firmware-bridge/ imports nothing of ours, naming file and line', () => {
    expect(
      check({
        'firmware-bridge/can/bus.ts':
          "// a comment\nimport { Sample } from '../../agent/decode/sample.js';\n",
      }),
    ).toEqual([
      "firmware-bridge/can/bus.ts:2: firmware-bridge/ may import only firmware-bridge/; this reaches agent/decode/sample.ts (import '../../agent/decode/sample.js')",
    ]);
  });

  it('process/ imports nothing of ours, not even the chain index', () => {
    expect(check({ 'process/metrics.ts': "import type { ChainState } from '../chain/index.js';\n" })).toEqual(
      [
        "process/metrics.ts:1: process/ may import only process/; this reaches chain/index.ts (import '../chain/index.js')",
      ],
    );
  });

  describe('rooms that reach others only through their index.ts', () => {
    it('agent/ reaches chain, firmware-bridge and process through their index, and nothing else', () => {
      expect(
        check({
          'agent/a.ts': "import { MemoryCanBus } from '../firmware-bridge/can/memory-bus.js';\n",
          'agent/b.ts': "const m = await import('../chain/state/accounts.js');\n",
          'agent/c.ts': "import { Logger } from '../process/logger.js';\n",
          'agent/d.ts': "import { runDemo } from '../simulators/demo/demo.js';\n",
          'agent/e.ts': "import type { Api } from '../node/http/index.js';\n",
        }),
      ).toEqual([
        "agent/a.ts:1: agent/ reaches firmware-bridge/ only through firmware-bridge/index.ts, not firmware-bridge/can/memory-bus.ts (import '../firmware-bridge/can/memory-bus.js')",
        "agent/b.ts:1: agent/ reaches chain/ only through chain/index.ts, not chain/state/accounts.ts (import '../chain/state/accounts.js')",
        "agent/c.ts:1: agent/ reaches process/ only through process/index.ts, not process/logger.ts (import '../process/logger.js')",
        "agent/d.ts:1: agent/ may import only agent/, chain/index.ts, firmware-bridge/index.ts and process/index.ts; this reaches simulators/demo/demo.ts (import '../simulators/demo/demo.js')",
        "agent/e.ts:1: agent/ may import only agent/, chain/index.ts, firmware-bridge/index.ts and process/index.ts; this reaches node/http/index.ts (import '../node/http/index.js')",
      ]);
    });

    it('node/ reaches chain and process through their index, and neither the agent nor the bridge', () => {
      expect(
        check({
          'node/store/index.ts': "export * from '../../chain/store/index.js';\n",
          'node/log.ts': "import { Metrics } from '../process/metrics.js';\n",
          'node/link.ts': "import { MqttUplink } from '../agent/index.js';\n",
          'node/can.ts': "import { type CanFrame } from '../firmware-bridge/index.js';\n",
        }),
      ).toEqual([
        "node/can.ts:1: node/ may import only node/, chain/index.ts and process/index.ts; this reaches firmware-bridge/index.ts (import '../firmware-bridge/index.js')",
        "node/link.ts:1: node/ may import only node/, chain/index.ts and process/index.ts; this reaches agent/index.ts (import '../agent/index.js')",
        "node/log.ts:1: node/ reaches process/ only through process/index.ts, not process/metrics.ts (import '../process/metrics.js')",
        "node/store/index.ts:1: node/ reaches chain/ only through chain/index.ts, not chain/store/index.ts (import '../../chain/store/index.js')",
      ]);
    });

    it('market/ reaches chain/index.ts only', () => {
      expect(
        check({
          'market/client.ts': "import { smtVerify } from '../chain/state/smt.js';\n",
          'market/order.ts': "import { OrderDesk } from '../agent/index.js';\n",
          'market/log.ts': "import { Logger } from '../process/index.js';\n",
          'market/http.ts': "import { startHttp } from '../node/index.js';\n",
        }),
      ).toEqual([
        "market/client.ts:1: market/ reaches chain/ only through chain/index.ts, not chain/state/smt.ts (import '../chain/state/smt.js')",
        "market/http.ts:1: market/ may import only market/ and chain/index.ts; this reaches node/index.ts (import '../node/index.js')",
        "market/log.ts:1: market/ may import only market/ and chain/index.ts; this reaches process/index.ts (import '../process/index.js')",
        "market/order.ts:1: market/ may import only market/ and chain/index.ts; this reaches agent/index.ts (import '../agent/index.js')",
      ]);
    });
  });

  describe('cli/', () => {
    it('is imported neither by simulators/ nor by any other room', () => {
      expect(
        check({
          'cli/exit-codes.ts': 'export const EXIT_OK = 0;\n',
          'cli/main.ts': "import { EXIT_OK } from './exit-codes.js';\n",
          'simulators/demo/demo-chain.ts':
            "import { writeDevnetFolder } from '../../cli/commands/devnet-start.js';\n",
          'node/main/chain-role.ts': "import { EXIT_OK } from '../../cli/exit-codes.js';\n",
        }),
      ).toEqual([
        "node/main/chain-role.ts:1: node/ must not import cli/ (only the qood command lives there; move what it needs into the room that owns it); this reaches cli/exit-codes.ts (import '../../cli/exit-codes.js')",
        "simulators/demo/demo-chain.ts:1: simulators/ must not import cli/ (only the qood command lives there; move what it needs into the room that owns it); this reaches cli/commands/devnet-start.ts (import '../../cli/commands/devnet-start.js')",
      ]);
    });

    it('is imported by a test only where the exceptions list that file and module, and a stale entry is reported', () => {
      const root = tree({
        'cli/load-config.ts': 'export const loadNodeConfig = 1;\n',
        'cli/commands/devnet-start.ts': 'export const writeDevnetFolder = 1;\n',
        'test/unit/devnet.test.ts':
          "import { writeDevnetFolder } from '../../cli/commands/devnet-start.js';\nimport { loadNodeConfig } from '../../cli/load-config.js';\n",
        'test/unit/other.test.ts': 'export {};\n',
      });
      const why = 'a reason';
      const violations = checkBoundaries(root, ROOM_RULES, [
        { file: 'test/unit/devnet.test.ts', target: 'cli/commands/devnet-start.ts', why },
        { file: 'test/unit/other.test.ts', target: 'cli/load-config.ts', why },
        { file: 'test/unit/gone.test.ts', target: 'cli/load-config.ts', why },
      ]);
      expect(formatViolations(violations).split('\n')).toEqual([
        "test/unit/devnet.test.ts:2: test/ must not import cli/ (only the qood command lives there; spawn the built CLI, or list the file in CLI_IMPORT_EXCEPTIONS with its reason); this reaches cli/load-config.ts (import '../../cli/load-config.js')",
        'test/unit/other.test.ts:1: is listed in CLI_IMPORT_EXCEPTIONS for cli/load-config.ts but no longer imports it; drop the entry',
      ]);
    });
  });

  describe('one adapter per I/O library per room', () => {
    it('rejects a second file in the same room, but not a type-only import or a file in another room', () => {
      expect(
        check({
          'agent/sync/mqtt.ts': "import mqtt from 'mqtt';\n",
          'agent/sync/other.ts': "// why\nimport { connect } from 'mqtt';\n",
          'agent/sync/types.ts':
            "import type { MqttClient } from 'mqtt';\nexport type { IClientOptions } from 'mqtt';\n",
          'agent/serial.ts': "import { SerialPort } from 'serialport';\n",
          'firmware-bridge/serial.ts': "import { SerialPort } from 'serialport';\n",
          'node/link.ts': "import mqtt from 'mqtt';\n",
        }),
      ).toEqual([
        "agent/sync/mqtt.ts:1: mqtt is imported by 2 files in agent/ (agent/sync/mqtt.ts, agent/sync/other.ts); keep it in one adapter file behind an interface (import 'mqtt')",
        "agent/sync/other.ts:2: mqtt is imported by 2 files in agent/ (agent/sync/mqtt.ts, agent/sync/other.ts); keep it in one adapter file behind an interface (import 'mqtt')",
      ]);
    });

    it('counts require() and sub-path imports of an I/O library, in every room but test/', () => {
      expect(
        check({
          'process/a.ts': "const s = require('unix-dgram');\n",
          'process/b.ts': "const d = await import('unix-dgram');\n",
          'simulators/a.ts': "const s = require('@serialport/bindings-cpp');\n",
          'simulators/b.ts': "import { SerialPort } from 'serialport';\n",
          'simulators/c.ts': "import { ReadlineParser } from '@serialport/parser-readline';\n",
          'test/a.test.ts': "import aedes from 'aedes';\n",
          'test/b.test.ts': "import aedes from 'aedes';\n",
        }),
      ).toEqual([
        "process/a.ts:1: unix-dgram is imported by 2 files in process/ (process/a.ts, process/b.ts); keep it in one adapter file behind an interface (import 'unix-dgram')",
        "process/b.ts:1: unix-dgram is imported by 2 files in process/ (process/a.ts, process/b.ts); keep it in one adapter file behind an interface (import 'unix-dgram')",
        "simulators/a.ts:1: @serialport is imported by 2 files in simulators/ (simulators/a.ts, simulators/c.ts); keep it in one adapter file behind an interface (import '@serialport/bindings-cpp')",
        "simulators/c.ts:1: @serialport is imported by 2 files in simulators/ (simulators/a.ts, simulators/c.ts); keep it in one adapter file behind an interface (import '@serialport/parser-readline')",
      ]);
    });
  });

  describe('import cycles', () => {
    it('are reported once, with the whole path of files, type-only imports included', () => {
      expect(
        check({
          'node/http/api.ts': "import { handleMarket } from './market-api.js';\n",
          'node/http/market-api.ts':
            "import { c } from '../../chain/index.js';\nimport type { ApiRequest } from './api.js';\n",
          'chain/index.ts': "export * from './a.js';\n",
          'chain/a.ts': "import { b } from './b.js';\n",
          'chain/b.ts': "// c closes the loop\nimport { c } from './c/index.js';\n",
          'chain/c/index.ts': "export { a } from '../a.js';\n",
        }),
      ).toEqual([
        "chain/a.ts:1: import cycle chain/a.ts -> chain/b.ts -> chain/c/index.ts -> chain/a.ts (import './b.js')",
        "node/http/api.ts:1: import cycle node/http/api.ts -> node/http/market-api.ts -> node/http/api.ts (import './market-api.js')",
      ]);
    });

    it('name the shortest cycle and the rest of a larger tangle, a file importing itself, and not a diamond', () => {
      expect(
        check({
          'agent/a.ts': "import './d.js';\nimport './b.js';\n",
          'agent/b.ts': "import './a.js';\nimport './c.js';\n",
          'agent/c.ts': "import './b.js';\n",
          'agent/d.ts': "import './e.js';\n",
          'agent/e.ts': "import './c.js';\n",
          'agent/self.ts': "export { x } from './self.js';\n",
          'simulators/top.ts': "import './left.js';\nimport './right.js';\n",
          'simulators/left.ts': "import './bottom.js';\n",
          'simulators/right.ts': "import './bottom.js';\n",
          'simulators/bottom.ts': 'export {};\n',
        }),
      ).toEqual([
        "agent/a.ts:2: import cycle agent/a.ts -> agent/b.ts -> agent/a.ts (in one strongly connected set with agent/c.ts, agent/d.ts, agent/e.ts) (import './b.js')",
        "agent/self.ts:1: import cycle agent/self.ts -> agent/self.ts (import './self.js')",
      ]);
    });
  });

  it('reports a folder of sources that has no row in the table', () => {
    expect(
      check({ 'wallet/keys.ts': "import { sign } from '../chain/index.js';\n", 'notes/a.md': '' }),
    ).toEqual([
      'wallet/keys.ts:1: wallet/ holds sources but is no room of the boundary table; add its row to ROOM_RULES',
    ]);
  });

  it('reads imports with the TypeScript parser, not regular expressions', () => {
    const refs = readImports(
      'x.ts',
      [
        'const s = "import x from \'../agent/a.js\'";',
        "/* import y from 'mqtt' */",
        "import { type A, type B } from 'mqtt';",
        "export { q } from './q.js';",
        "export { type R } from './r.js';",
        "import fs = require('node:fs');",
        "let t: typeof import('../node/index.js').Api;",
        "import './side-effect.js';",
        '',
      ].join('\n'),
    );
    expect(refs).toEqual([
      { specifier: 'mqtt', line: 3, typeOnly: true },
      { specifier: './q.js', line: 4, typeOnly: false },
      { specifier: './r.js', line: 5, typeOnly: true },
      { specifier: 'node:fs', line: 6, typeOnly: false },
      { specifier: '../node/index.js', line: 7, typeOnly: true },
      { specifier: './side-effect.js', line: 8, typeOnly: false },
    ]);
  });
});
