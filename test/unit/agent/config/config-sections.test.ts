/** The agent's `storage` and `sync` sections and the node's `ingest` section. */
import { describe, expect, it } from 'vitest';
import { agentConfigSchema, storagePath } from '../../../../agent/config/index.js';
import { formatProblem, parseConfigText } from '../../../../agent/config/yaml-file.js';
import { nodeConfigSchema } from '../../../../node/config.js';

const agent = (text: string) =>
  parseConfigText(`device:\n  vehicleId: car-1\n${text}`, 'agent.yaml', agentConfigSchema);
const problems = (r: ReturnType<typeof agent>) => (r.ok ? [] : r.problems.map(formatProblem));

describe('storage and sync config', () => {
  it('fills defaults: store in the data folder, 256 MiB, full sync, qood/v1, 32 in flight', () => {
    const r = agent('storage: {}\nsync:\n  broker: mqtt://localhost:1883\n');
    expect(problems(r)).toEqual([]);
    if (!r.ok) return;
    expect(storagePath(r.config)).toBe('/var/lib/qood/agent.db');
    expect(r.config.storage).toEqual({ quotaBytes: 268435456, synchronous: 'full' });
    expect(r.config.sync).toMatchObject({ topicPrefix: 'qood/v1', maxInFlight: 32, protocolVersion: 5 });
  });

  it('is optional', () => {
    const r = agent('');
    expect(r.ok && [r.config.storage, r.config.sync]).toEqual([undefined, undefined]);
  });

  it('names a bad broker URL, a wildcard prefix and a certificate without its key, with lines', () => {
    const r = agent(
      'sync:\n  broker: localhost:1883\n  topicPrefix: qood/+\n  tls:\n    certFile: /etc/qood/device.crt\n',
    );
    const p = problems(r);
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/agent\.yaml:4:11: sync\.broker: found "localhost:1883"; expected a broker URL/);
    expect(p[1]).toMatch(/agent\.yaml:5:16: sync\.topicPrefix: .*without '\+'/);
    expect(p[2]).toMatch(/sync\.tls\.keyFile: .*certFile and keyFile together/);
  });

  it('refuses a quota below 1 MiB', () => {
    expect(problems(agent('storage:\n  quotaBytes: 1000\n'))[0]).toMatch(
      /storage\.quotaBytes: found 1000; expected.*1 MiB/,
    );
  });

  it('node ingest: checks device keys', () => {
    const r = parseConfigText(
      'node:\n  dataDir: /tmp\ningest:\n  broker: mqtt://127.0.0.1:1883\n  deviceKeys:\n    car-1: abc\n',
      'node.yaml',
      nodeConfigSchema,
    );
    expect(r.ok ? [] : r.problems.map(formatProblem)).toEqual([
      expect.stringMatching(
        /node\.yaml:6:12: ingest\.deviceKeys\.car-1: found "abc"; expected an ed25519 public key/,
      ),
    ]);
  });

  it('node chain: verifyWorkers defaults to 0 and must be a whole number up to 64', () => {
    const chain = (extra: string) =>
      parseConfigText(
        `node:\n  dataDir: /tmp\nchain:\n  keyFile: k\n  genesisFile: g\n${extra}`,
        'node.yaml',
        nodeConfigSchema,
      );
    const ok = chain('');
    expect(ok.ok && ok.config.chain?.verifyWorkers).toBe(0);
    const two = chain('  verifyWorkers: 2\n');
    expect(two.ok && two.config.chain?.verifyWorkers).toBe(2);
    const bad = chain('  verifyWorkers: 1.5\n');
    expect(bad.ok ? [] : bad.problems.map(formatProblem)).toEqual([
      expect.stringMatching(/node\.yaml:6:18: chain\.verifyWorkers: found 1\.5; expected/),
    ]);
  });
});
