/**
 * The agent's data path on the real Civic log replayed in-process: frames through decode, collect
 * (every change of every signal), chunk, seal and store (a real SQLite file, synchronous FULL),
 * against parsing the log alone in the same run. Also: bytes per sample on the wire, the AEAD
 * against node:crypto's AES-256-GCM on this machine, ed25519 signatures/s, and the process RSS after
 * the load. Aim: 200,000 frames/s end to end; below 2 bytes per sample; RSS below 150 MB.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectSchema } from '../../agent/config/collect.js';
import { loadDbcFile } from '../../agent/decode/can/index.js';
import { FrameMapper } from '../../agent/decode/vss-map/index.js';
import { DataPath } from '../../agent/pipeline/data-path.js';
import { openSqliteChunkStore } from '../../agent/store/index.js';
import {
  Ed25519Signer,
  ownerIdentity,
  type Sample,
  seal,
  seedFromMnemonic,
  vehicleDataRoot,
} from '../../chain/index.js';
import { silentLogger } from '../../process/log.js';
import { Metrics } from '../../process/metrics.js';
import { readCanLog } from '../../simulators/can-log/index.js';
import { sharedDataDir } from '../support/system.js';
import { fixed } from '../vectors/generate-chain.js';
import { VECTOR_MNEMONIC } from '../vectors/generate-data.js';
import type { BenchSuite } from './harness.js';

const data = sharedDataDir();
const LOG = 'can_logs/candump_real/civic_2019_type_r_turnonanddrive.log';
const DBC = 'dbc/opendbc/honda_civic_hatchback_ex_2017_can_generated.fixed.dbc';
const REPEAT = 4;

const dirs: string[] = [];
const seed = seedFromMnemonic(VECTOR_MNEMONIC);

function pipeline(collect: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'qood-bench-'));
  dirs.push(dir);
  const store = openSqliteChunkStore({ path: join(dir, 'agent.db'), synchronous: 'full' });
  const metrics = new Metrics();
  const dp = new DataPath({
    collect: collectSchema.parse(collect),
    identity: {
      vehicleId: 'civic',
      deviceSecretKey: fixed('bench/device'),
      dataRoot: vehicleDataRoot(seed, 'civic'),
      oemPublicKey: null,
      epochLengthS: 86_400,
      dictionaryId: 'qood-vss-6.0+obd-4.0',
    },
    ownerPublicKey: ownerIdentity(seed).publicKey,
    store,
    metrics,
    logger: silentLogger,
    nowMs: Date.now,
  });
  return { dp, store, metrics };
}

const ALL = {
  schemes: [{ name: 'all', kind: 'periodic', periodMs: 1, signals: ['*'] }],
  chunk: { maxSamples: 20_000 },
};

export const suite: BenchSuite = {
  name: 'data-path',
  skip: () => (data === undefined ? 'needs ../shared/data (the Civic log)' : undefined),
  teardown: () => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  },
  figures: async () => {
    const text = readFileSync(join(data!, LOG), 'utf8');
    const dbc = loadDbcFile(join(data!, DBC));
    const frames = readCanLog(text).frames;
    const mapper = new FrameMapper(dbc, undefined);
    const total = frames.length * REPEAT;
    const rate = (n: number, t0: number) => n / ((performance.now() - t0) / 1000);

    /** Runs the whole log through a fresh pipeline; returns frames/s and what it produced. */
    const endToEnd = (collect: unknown) => {
      const { dp, store, metrics } = pipeline(collect);
      const samples: Sample[] = [];
      const t0 = performance.now();
      for (let r = 0; r < REPEAT; r++) {
        const fs = r === 0 ? frames : readCanLog(text).frames;
        for (const f of fs) {
          // Each pass moves the log on in time so a periodic scheme keeps every sample.
          mapper.map({ ...f, wallUs: f.wallUs + r * 3_600_000_000 }, samples);
          dp.add(samples);
          samples.length = 0;
        }
      }
      dp.flush();
      const fps = rate(total, t0);
      const out = { fps, metrics, usage: store.usage() };
      store.close();
      return out;
    };

    const mb = 64 * 1024;
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const buf = randomBytes(mb);
    const signer = new Ed25519Signer(fixed('bench/signer'));
    const msg = randomBytes(32);
    let last: ReturnType<typeof endToEnd> | undefined;
    return [
      {
        name: 'Civic log: decode, collect, chunk, seal, store (SQLite FULL)',
        unit: 'frames/s',
        runs: 3,
        measure: () => {
          last = endToEnd(ALL);
          return last.fps;
        },
        floor: {
          name: 'parse log only',
          measure: () => {
            const t0 = performance.now();
            for (let r = 0; r < REPEAT; r++) readCanLog(text);
            return rate(total, t0);
          },
        },
      },
      {
        name: 'Civic log: sealed bytes per sample kept (every sample)',
        unit: 'bytes/sample',
        runs: 1,
        measure: () => {
          const r = last ?? endToEnd(ALL);
          return r.metrics.counter('bytes.sealed') / r.metrics.counter('samples.collected');
        },
        note: 'columnar delta + deflate, then AEAD and a signed header per chunk',
      },
      {
        name: 'Civic log: sealed bytes per input sample (on-change scheme)',
        unit: 'bytes/sample',
        runs: 1,
        measure: () => {
          const r = endToEnd({ schemes: [{ name: 'all', kind: 'on-change', signals: ['*'] }] });
          let input = 0;
          const s: Sample[] = [];
          for (const f of frames) {
            mapper.map(f, s);
            input += s.length;
            s.length = 0;
          }
          return r.metrics.counter('bytes.sealed') / (input * REPEAT);
        },
      },
      {
        name: 'ChaCha20-Poly1305 seal, 64 KiB',
        unit: 'MB/s',
        measure: () => {
          const t0 = performance.now();
          for (let i = 0; i < 400; i++) seal(key, nonce, buf);
          return (400 * mb) / 1e6 / ((performance.now() - t0) / 1000);
        },
        floor: {
          name: 'AES-256-GCM (AES-NI here; a Pi 4 has none)',
          measure: () => {
            const t0 = performance.now();
            for (let i = 0; i < 400; i++) {
              const c = createCipheriv('aes-256-gcm', key, nonce);
              c.update(buf);
              c.final();
              c.getAuthTag();
            }
            return (400 * mb) / 1e6 / ((performance.now() - t0) / 1000);
          },
        },
      },
      {
        name: 'ed25519 signatures (chunk headers, descriptors)',
        unit: 'sig/s',
        measure: () => {
          const t0 = performance.now();
          for (let i = 0; i < 5000; i++) signer.sign(msg);
          return rate(5000, t0);
        },
      },
      {
        name: 'agent-sized process: peak RSS replaying the Civic log 4x',
        unit: 'MB',
        runs: 1,
        measure: () => {
          const dir = mkdtempSync(join(tmpdir(), 'qood-bench-'));
          dirs.push(dir);
          const out = execFileSync(
            process.execPath,
            [join(import.meta.dirname, 'data-path-child.js'), join(data!, LOG), join(data!, DBC), dir],
            { encoding: 'utf8' },
          );
          return Number(out.trim());
        },
        note: 'a child process: decode, collect, chunk, seal, SQLite store',
      },
    ];
  },
};
