/**
 * CAN decode throughput on the real Civic log with its DBC: parsing the candump log alone (the
 * floor), parsing plus decoding, decoding pre-parsed frames (frames/s and signals/s), the full
 * frame-to-VSS-sample mapper, and the npm `candied` decoder on the same frames for comparison.
 * cantools (Python with a C bit-unpacker) decodes about 0.5 M frames/s of this log on one core here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Can, Dbc } from 'candied';
import { loadDbcFile } from '../../agent/decode/can/index.js';
import { FrameMapper } from '../../agent/decode/vss-map/index.js';
import type { Sample } from '../../chain/index.js';
import { readCanLog } from '../../simulators/can-log/index.js';
import { sharedDataDir } from '../support/system.js';
import type { BenchSuite } from './harness.js';

const data = sharedDataDir();
const LOG = 'can_logs/candump_real/civic_2019_type_r_turnonanddrive.log';
const DBC = 'dbc/opendbc/honda_civic_hatchback_ex_2017_can_generated.fixed.dbc';
const REPEAT = 10;

export const suite: BenchSuite = {
  name: 'can-decode',
  skip: () => (data === undefined ? 'needs ../shared/data (the Civic log)' : undefined),
  figures: async () => {
    const text = readFileSync(join(data!, LOG), 'utf8');
    const dbc = loadDbcFile(join(data!, DBC));
    const frames = readCanLog(text).frames;
    const total = frames.length * REPEAT;
    const rate = (n: number, t0: number) => n / ((performance.now() - t0) / 1000);

    let signals = 0;
    const decodeAll = (): number => {
      let n = 0;
      const visit = () => {
        n++;
      };
      for (let r = 0; r < REPEAT; r++)
        for (const f of frames) dbc.lookup(f.id, f.extended)?.forEachSignal(f.data, visit);
      return n;
    };

    const candied = new Can();
    candied.database = new Dbc().load(readFileSync(join(data!, DBC), 'utf8'));
    const candiedFrames = frames.map((f) => candied.createFrame(f.id, [...f.data], f.extended));

    const mapper = new FrameMapper(dbc, undefined);
    const samples: Sample[] = [];

    return [
      {
        name: 'parse + decode Civic log',
        unit: 'frames/s',
        measure: () => {
          const t0 = performance.now();
          for (let r = 0; r < REPEAT; r++) {
            const fs = readCanLog(text).frames;
            for (const f of fs) dbc.lookup(f.id, f.extended)?.forEachSignal(f.data, () => {});
          }
          return rate(total, t0);
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
        name: 'decode only (parsed frames)',
        unit: 'frames/s',
        measure: () => {
          const t0 = performance.now();
          signals = decodeAll();
          return rate(total, t0);
        },
      },
      {
        name: 'decode only (parsed frames)',
        unit: 'signals/s',
        measure: () => {
          const t0 = performance.now();
          signals = decodeAll();
          return rate(signals, t0);
        },
      },
      {
        name: 'frames to Sample objects (FrameMapper)',
        unit: 'frames/s',
        measure: () => {
          const t0 = performance.now();
          for (let r = 0; r < REPEAT; r++) {
            for (const f of frames) {
              mapper.map(f, samples);
              samples.length = 0;
            }
          }
          return rate(total, t0);
        },
      },
      {
        name: 'candied decode (npm, same frames)',
        unit: 'frames/s',
        runs: 3,
        measure: () => {
          const t0 = performance.now();
          for (const f of candiedFrames) candied.decode(f);
          return rate(candiedFrames.length, t0);
        },
        note: 'one pass; for comparison only',
      },
    ];
  },
};
