import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callLocalApi } from '../../../process/local-api/client.js';
import { collectOutput, runQood, startQood, waitExit, waitUntil } from '../../support/cli.js';
import { projectRoot } from '../../support/system.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('qood --help', () => {
  it('lists the commands', () => {
    const r = runQood(['--help']);
    expect(r.status).toBe(0);
    for (const cmd of ['demo', 'agent', 'node', 'status', 'config'])
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
  });

  it('exits 2 on an unknown command', () => {
    const r = runQood(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('qood config check', () => {
  it('accepts the shipped examples', () => {
    for (const f of ['pi-obd-dongle.yaml', 'tbox.yaml', 'node.yaml']) {
      const r = runQood(['config', 'check', join(projectRoot(), 'config', f)]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it('rejects a broken file with exit 2 and one line per problem naming file:line, field, value and expectation', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'device:\n  vehicleId: "has spaces"\n  socketpath: /tmp/x.sock\nlog:\n  level: 7\n');
    const r = runQood(['config', 'check', file]);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(`${file}: 3 problems:`);
    expect(r.stderr).toContain(
      `${file}:2:14: device.vehicleId: found "has spaces"; expected 1 to 64 letters`,
    );
    expect(r.stderr).toContain(`${file}:3:3: device.socketpath:`);
    expect(r.stderr).toContain("did you mean 'socketPath'?");
    expect(r.stderr).toMatch(new RegExp(`${file}:5:10: log\\.level: found 7; expected`));
  });

  it('rejects sections that need each other with exit 2, naming the field and the fix', () => {
    const file = join(dir, 'chain-no-sync.yaml');
    writeFileSync(
      file,
      'device:\n  vehicleId: car-1\nstorage:\n  quotaBytes: 1048576\nchain:\n  checkpoint: cp.bin\n',
    );
    const r = runQood(['config', 'check', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      `${file}:6:3: chain: found {"checkpoint":"cp.bin"}; expected a \`sync\` section beside it: finality updates come from the broker`,
    );
  });

  it('exits 2 for a file that does not exist', () => {
    const r = runQood(['config', 'check', join(dir, 'missing.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ENOENT');
  });
});

describe('qood agent and qood status', () => {
  it('starts, answers status on its local socket (mode 0600), and stops cleanly on SIGTERM', async () => {
    const sock = join(dir, 'agent.sock');
    const file = join(dir, 'agent.yaml');
    writeFileSync(
      file,
      `device:\n  vehicleId: test-car\n  dataDir: ${dir}\n  socketPath: ${sock}\nlog:\n  level: warn\n`,
    );
    const child = startQood(['agent', '--config', file, '--log-level', 'info']);
    const out = collectOutput(child);
    try {
      await waitUntil(() => existsSync(sock), 15_000, 'the agent socket');
      const status = (await callLocalApi(sock, 'status')) as {
        role: string;
        counters: Record<string, number>;
      };
      // The socket is created under umask 0177: never more open than 0600, even before its chmod.
      expect(statSync(sock).mode & 0o777).toBe(0o600);
      expect(status.role).toBe('agent');
      expect(status.counters).toEqual({ 'frames.in': 0, 'frames.errors': 0, 'samples.out': 0 });

      const r = runQood(['status', '--socket', sock]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^agent test-car, up \d+ s$/m);
      expect(r.stdout).toMatch(/^ {2}frames\.in +0$/m);
      await waitUntil(() => out.stdout().includes('agent ready'), 5000, 'the ready log line');
      // --log-level info overrode the file's warn: one JSON object per line, as journald keeps them.
      const first = JSON.parse(out.stdout().split('\n')[0]!) as { level: string; msg: string };
      expect(first.level).toBe('info');
    } finally {
      child.kill('SIGTERM');
    }
    const exit = await waitExit(child, 10_000);
    expect(exit.code).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });

  it('refuses to start with a bad config: exit 2 and the problem on stderr', () => {
    const file = join(dir, 'bad-agent.yaml');
    writeFileSync(file, 'device:\n  vehicleId: ok\nsources:\n  can:\n    - interface: can0\n');
    const r = runQood(['agent', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('sources.can[0].dbc');
  });

  it('exits 1 (retry later) for a CAN interface that does not exist, 2 (fix the config) for a DBC that does not load', () => {
    const file = join(dir, 'can-agent.yaml');
    const dbc = join(projectRoot(), 'simulators', 'vehicle', 'qood-sim.dbc');
    const cfg = (d: string) =>
      `device:\n  vehicleId: c\n  dataDir: ${dir}\n  socketPath: ${join(dir, 'c.sock')}\nsources:\n  can:\n    - interface: nosuchcan9\n      dbc: ${d}\n`;
    writeFileSync(file, cfg(dbc));
    const missingIface = runQood(['agent', '--config', file]);
    expect(missingIface.status).toBe(1);
    expect(missingIface.stderr).toContain('nosuchcan9: no such network interface');
    const broken = join(dir, 'broken.dbc');
    writeFileSync(broken, 'BO_ 1 M: 8 N\n SG_ S : 0|8@1+ (1,0) [0|1] N\n');
    writeFileSync(file, cfg(broken));
    const badDbc = runQood(['agent', '--config', file]);
    expect(badDbc.status).toBe(2);
    expect(badDbc.stderr).toContain(`${broken}:2: expected the quoted unit of S`);
  });

  it('qood status says clearly when nothing is listening', () => {
    const r = runQood(['status', '--socket', join(dir, 'nobody.sock')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('nothing is listening');
  });
});

describe('qood demo', () => {
  it('--seconds N --json runs the whole story and prints one object of what flowed', () => {
    const r = runQood(['demo', '--seconds', '20', '--json'], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as {
      seconds: number;
      stages: string[];
      latest: Record<string, unknown>;
      counters: Record<string, number>;
      node: Record<string, number>;
      market: {
        anchor: string | null;
        orderId: string | null;
        filled: boolean;
        chunks: number;
        samples: number;
        split: Record<string, string>;
        error?: string;
      };
      verified: { chunks: number; samples: number; failed: number };
      permissions: {
        listened: number;
        listenedAfterRevoke: number;
        receipts: { command: string; outcome: string; reason: string; frames: number }[];
        bodyCommandFrames: number;
      };
    };
    expect(summary.seconds).toBeGreaterThanOrEqual(20);
    expect(summary.stages).toEqual([
      'vehicle model',
      'CAN bus (in memory)',
      'ELM327 dongle (emulated)',
      'GNSS receiver (emulated NMEA)',
      'agent: decode (DBC, J1979, NMEA) -> VSS samples',
      'collect -> chunk -> seal (owner keys) -> SQLite store',
      'sync over MQTT (broker in process)',
      'devnet: 4 qood node processes; node 0 stores, acknowledges, anchors and publishes finality',
      "agent: light client follows finality; anchors descriptors with the device's key",
      'grants: a listener and a control grantee over MQTT, revoked by the owner',
      'market: a buyer orders, the device fills, the buyer verifies and decrypts; owner and OEM paid',
    ]);
    const c = summary.counters;
    // The buyer bought an anchored descriptor; the device filled the order; the buyer read it, and
    // the price (25 QDD) went 70/30 to the owner and the OEM.
    expect(summary.market.error).toBeUndefined();
    expect(summary.market.filled).toBe(true);
    expect(summary.market.chunks).toBeGreaterThan(0);
    expect(summary.market.samples).toBeGreaterThan(summary.market.chunks);
    expect(summary.market.split).toEqual({ owner: '17500000', oem: '7500000' });
    expect(c['sales.filled']).toBe(1);
    expect(c['chain.updates']).toBeGreaterThan(10);
    // The anchor of the sold (normal) batch and the fill at least; private batches are not anchored.
    expect(summary.node['bridge.txs.included']).toBeGreaterThanOrEqual(2);
    // Seconds of a car's traffic at 50 Hz per powertrain message went through the decoder.
    expect(c['frames.in']).toBeGreaterThan(100);
    expect(c['samples.out']).toBeGreaterThan(4 * c['frames.in']!);
    expect(c['frames.unknown']).toBe(0);
    expect(c['gnss.fixes']).toBeGreaterThan(0);
    // Everything kept was sealed, synced, stored at the node once, and decrypts for the owner.
    expect(c['chunks.sealed']).toBeGreaterThan(0);
    expect(c['chunks.synced']).toBe(c['chunks.sealed']);
    expect(summary.node['ingest.stored']).toBe(c['chunks.sealed']);
    // The batch cut at shutdown: its descriptor and its transaction reached the node, with the
    // other queued transactions (the executed command's controlExec, the owner's revokes).
    expect(c['descriptors.made']).toBeGreaterThanOrEqual(1);
    expect(summary.node['ingest.descriptors.stored']).toBe(c['descriptors.made']);
    expect(summary.node['ingest.txs.stored']).toBe(c['txs.synced']);
    expect(c['txs.synced']).toBeGreaterThan(c['descriptors.made']!);
    expect(c['descriptors.synced']).toBe(c['descriptors.made']);
    expect(summary.verified).toEqual({
      chunks: c['chunks.sealed'],
      samples: c['samples.collected'],
      failed: 0,
    });
    expect(typeof summary.latest['Vehicle.Speed']).toBe('number');
    // The listener heard the car, and nothing after the owner revoked; the car's bus saw exactly
    // the frames of the executed commands; the command after the revoke was refused for it.
    const p = summary.permissions;
    expect(p.listened).toBeGreaterThan(0);
    expect(p.listenedAfterRevoke).toBe(0);
    expect(p.bodyCommandFrames).toBe(
      p.receipts.filter((x) => x.outcome === 'executed').reduce((n, x) => n + x.frames, 0),
    );
    expect(p.receipts.at(-1)).toEqual({
      command: 'unlock',
      outcome: 'refused',
      reason: 'REVOKED',
      frames: 0,
    });
  });

  it('rejects a bad --seconds with exit 2', () => {
    expect(runQood(['demo', '--seconds', 'soon']).status).toBe(2);
  });
});
