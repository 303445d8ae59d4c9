/**
 * `qood devnet simulate` as a user runs it (the compiled CLI): the JSON report, the same seed giving
 * the same head, and usage errors naming the option; plus the option parser on its own.
 */
import { describe, expect, it } from 'vitest';
import { DevnetSpecError, parseDevnetSpec } from '../../../simulators/devnet/index.js';
import { runQood } from '../../support/cli.js';

describe('qood devnet simulate', () => {
  const args = [
    'devnet',
    'simulate',
    '--producers',
    '21',
    '--minutes',
    '1',
    '--latency-ms',
    '100-300',
    '--seed',
    'cli',
  ];

  it('prints a JSON report of a run with a partition, a crash and a byzantine producer; the same seed replays it', () => {
    const extra = [
      '--partition',
      '11:10@10-25',
      '--crash',
      '3@30-40',
      '--byzantine',
      '1',
      '--loss',
      '0.01',
      '--json',
    ];
    const a = runQood([...args, ...extra], { timeoutMs: 60_000 });
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    const r = JSON.parse(a.stdout);
    expect(r).toMatchObject({ producers: 21, simulatedSeconds: 60, conflictingFinalBlocks: 0, slots: 120 });
    expect(r.blocks).toBeGreaterThan(60);
    expect(r.finalityLagMs.p50).toBeGreaterThan(100);
    expect(r.messages.partitioned).toBeGreaterThan(0);
    expect(r.messages.lost).toBeGreaterThan(0);
    expect(r.penalised).toHaveLength(1);
    const b = JSON.parse(runQood([...args, ...extra], { timeoutMs: 60_000 }).stdout);
    expect(b.finalHeadHash).toBe(r.finalHeadHash);
  });

  it('prints a readable summary without --json', () => {
    const r = runQood(['devnet', 'simulate', '--producers', '4', '--minutes', '0.5', '--seed', 'x'], {
      timeoutMs: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^4 producers, 30 s simulated/m);
    expect(r.stdout).toMatch(/^finality lag: p50 \d+ ms, p99 \d+ ms/m);
    expect(r.stdout).toMatch(/^conflicting final blocks: 0$/m);
  });

  it('exits 2 naming the option, what it got and what it expects', () => {
    const r = runQood(['devnet', 'simulate', '--crash', 'six@1-2']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--crash: got 'six@1-2', expected COUNT@FROM-TO such as 6@120-300");
    const l = runQood(['devnet', 'simulate', '--latency-ms', '300-100']);
    expect(l.status).toBe(2);
    expect(l.stderr).toContain("--latency-ms: got '300-100', expected FROM <= TO");
  });
});

describe('the devnet option parser', () => {
  const base = { producers: '21', minutes: '10', latencyMs: '100-300', seed: 's' };
  it('turns sizes into groups of producers, the rest forming one more group, and seconds into ms', () => {
    const o = parseDevnetSpec({ ...base, partition: ['7:7@60-180'], crash: ['6@120-300'], byzantine: '2' });
    expect(o.partitions![0]!.groups.map((g) => g.length)).toEqual([7, 7, 7]);
    expect(o.partitions![0]).toMatchObject({ fromMs: 60_000, toMs: 180_000 });
    expect(o.crashes![0]!.nodes).toEqual([0, 1, 2, 3, 4, 5]);
    expect(o.byzantine!.map((b) => b.node)).toEqual([20, 19]);
    expect(o.durationMs).toBe(600_000);
  });
  it('refuses what does not fit, with a code', () => {
    const code = (t: Partial<typeof base> & Record<string, unknown>) => {
      try {
        parseDevnetSpec({ ...base, ...t } as never);
        return 'ok';
      } catch (e) {
        return e instanceof DevnetSpecError ? `${e.code} ${e.option}` : String(e);
      }
    };
    expect(code({ producers: '0' })).toBe('BAD_NUMBER --producers');
    expect(code({ minutes: 'ten' })).toBe('BAD_NUMBER --minutes');
    expect(code({ partition: ['11:10@60-900'] })).toBe('BAD_RANGE --partition');
    expect(code({ partition: ['21@1-2'] })).toBe('BAD_PARTITION --partition');
    expect(code({ loss: '1.5' })).toBe('BAD_NUMBER --loss');
    expect(code({ byzantine: '21' })).toBe('TOO_MANY --byzantine');
  });
});
