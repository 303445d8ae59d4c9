/**
 * NMEA throughput on real logs (the 38,938-sentence Switzerland drive and the eight gpsd receiver
 * captures): sentences/s checked and parsed, and sentences/s and fixes/s through the whole decoder
 * (line framing from bytes, parsing, epoch assembly), each against plain line splitting of the same
 * text in the same run (`text.split` and a loop over the lines), the floor any decoder pays.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NmeaDecoder, parseNmeaSentence } from '../../firmware-bridge/index.js';
import { fixturePath } from '../support/system.js';
import type { BenchSuite } from './harness.js';

export const suite: BenchSuite = {
  name: 'nmea',
  figures: async () => {
    const dir = fixturePath('nmea');
    const receivers = readdirSync(join(dir, 'gpsd_receivers'))
      .filter((f) => f.endsWith('.log'))
      .map((f) => readFileSync(join(dir, 'gpsd_receivers', f), 'latin1'));
    const text = [
      readFileSync(join(dir, 'drives', '20100403_Z205_Switzerland.txt'), 'latin1'),
      ...receivers,
    ].join('\n');
    const bytes = Buffer.from(text, 'latin1');
    const lines = text.split(/\r?\n/).filter((l) => l.startsWith('$') || l.startsWith('\u0000$'));
    const sentences = lines.length;
    const rate = (n: number, t0: number) => n / ((performance.now() - t0) / 1000);

    const splitFloor = {
      name: 'split lines',
      measure: () => {
        const t0 = performance.now();
        let n = 0;
        let len = 0;
        for (const l of text.split(/\r?\n/)) {
          if (l.length > 0) n++;
          len += l.length;
        }
        if (len === 0) throw new Error('empty');
        return rate(Math.min(n, sentences), t0);
      },
    };
    let fixCount = 0;
    const decodeAll = (): number => {
      let n = 0;
      const d = new NmeaDecoder({
        allowComments: true,
        onFix: () => {
          n++;
        },
      });
      d.push(bytes);
      d.flush();
      fixCount = n;
      return d.stats().sentences;
    };

    // Warm up the JIT so the medians measure steady state, as a long-running agent runs.
    for (let i = 0; i < 3; i++) {
      decodeAll();
      for (const l of lines) parseNmeaSentence(l);
    }

    return [
      {
        name: `parse ${sentences.toLocaleString('en-US')} sentences (checksum + fields)`,
        unit: 'sentences/s',
        floor: splitFloor,
        measure: () => {
          const t0 = performance.now();
          let ok = 0;
          for (const l of lines) if (parseNmeaSentence(l).ok) ok++;
          if (ok < sentences * 0.99) throw new Error(`only ${ok} of ${sentences} parsed`);
          return rate(sentences, t0);
        },
      },
      {
        name: 'decode bytes to fixes (framer + parser + assembler)',
        unit: 'sentences/s',
        floor: splitFloor,
        measure: () => {
          const t0 = performance.now();
          const n = decodeAll();
          return rate(n, t0);
        },
      },
      {
        name: 'fixes assembled (same decode)',
        unit: 'fixes/s',
        measure: () => {
          const t0 = performance.now();
          decodeAll();
          return rate(fixCount, t0);
        },
        note: 'one fix per receiver epoch',
      },
    ];
  },
};
