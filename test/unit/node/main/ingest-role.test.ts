/**
 * The ingest role's ack key: devices delete what they queued only on acks signed by a key they
 * trust, so the role signs with `ingest.keyFile`, else the chain role's key, and does not start
 * without one (a config problem: `usage`). The broker URL points at a closed port: the role starts
 * connecting in the background and is stopped before it ever connects.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestConfigSchema, NodeStartError, newNodeSecret, writeKeyFile } from '../../../../node/index.js';
import { startIngestRole } from '../../../../node/main/index.js';
import { Metrics, silentLogger } from '../../../../process/index.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-ingest-role-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = (extra = {}) => ingestConfigSchema.parse({ broker: 'mqtt://127.0.0.1:1', ...extra });

describe('the ingest role', () => {
  it('does not start without a key to sign its acks, and says where to set one', () => {
    const start = () =>
      startIngestRole({ config: config(), dataDir: dir, logger: silentLogger, metrics: new Metrics() });
    expect(start).toThrow(NodeStartError);
    expect(start).toThrow(/^ingest: acks must be signed: set ingest.keyFile \(or add a chain section/);
    try {
      start();
    } catch (err) {
      expect((err as NodeStartError).code).toBe('usage');
    }
  });

  it('refuses a key file that is not there as a config problem', () => {
    const missing = join(dir, 'missing.key');
    let caught: unknown;
    try {
      startIngestRole({
        config: config({ keyFile: missing }),
        dataDir: dir,
        logger: silentLogger,
        metrics: new Metrics(),
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NodeStartError);
    expect((caught as NodeStartError).code).toBe('usage');
    expect((caught as NodeStartError).file).toBe(missing);
  });

  it("starts with its own key file, or the chain role's", async () => {
    const keyFile = join(dir, 'node.key');
    writeKeyFile(keyFile, newNodeSecret());
    for (const o of [
      { config: config({ keyFile, path: join(dir, 'a.db') }) },
      { config: config({ path: join(dir, 'b.db') }), chainKeyFile: keyFile },
    ]) {
      const role = startIngestRole({ ...o, dataDir: dir, logger: silentLogger, metrics: new Metrics() });
      await role.stop();
    }
  });
});
