/**
 * Child process of the data-path bench: an agent-sized process that replays the Civic log through
 * decode, collect, chunk, seal and store, streaming the log line by line as `qood can replay` into
 * an agent would deliver it, then prints its peak RSS in MB. Run: node data-path-child.js LOG DBC DIR
 */

import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { collectSchema } from '../../agent/config/collect.js';
import { loadDbcFile } from '../../agent/decode/can/index.js';
import { FrameMapper } from '../../agent/decode/vss-map/index.js';
import { DataPath } from '../../agent/pipeline/data-path.js';
import { openSqliteChunkStore } from '../../agent/store/index.js';
import type { Sample } from '../../chain/index.js';
import { ownerIdentity, seedFromMnemonic, vehicleDataRoot } from '../../chain/index.js';
import { silentLogger } from '../../process/log.js';
import { Metrics } from '../../process/metrics.js';
import { readCanLog } from '../../simulators/can-log/index.js';
import { fixed } from '../vectors/generate-chain.js';
import { VECTOR_MNEMONIC } from '../vectors/generate-data.js';

const [log, dbcFile, dir] = process.argv.slice(2) as [string, string, string];
const seed = seedFromMnemonic(VECTOR_MNEMONIC);
const store = openSqliteChunkStore({ path: join(dir, 'rss.db'), synchronous: 'full' });
const dp = new DataPath({
  collect: collectSchema.parse({ schemes: [{ name: 'all', kind: 'on-change', signals: ['*'] }] }),
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
  metrics: new Metrics(),
  logger: silentLogger,
  nowMs: Date.now,
});
const mapper = new FrameMapper(loadDbcFile(dbcFile), undefined);
const samples: Sample[] = [];
for (let pass = 0; pass < 4; pass++) {
  for await (const line of createInterface({ input: createReadStream(log) })) {
    const f = readCanLog(line, { lenient: true }).frames[0];
    if (f === undefined) continue;
    mapper.map({ ...f, wallUs: f.wallUs + pass * 3_600_000_000 }, samples);
    dp.add(samples);
    samples.length = 0;
  }
}
dp.flush();
store.close();
process.stdout.write(`${process.resourceUsage().maxRSS / 1024}\n`);
