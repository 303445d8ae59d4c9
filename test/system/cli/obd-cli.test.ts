import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { collectOutput, runQood, startQood, waitExit, waitUntil } from '../../support/cli.js';
import { describeSystem } from '../../support/system.js';

describeSystem(
  'qood obd against `qood obd emulate`, as a user runs them',
  [{ bin: 'socat', pkg: 'socat' }],
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'qood-obd-cli-'));
    const port = join(dir, 'ttyOBD');
    let emu: ChildProcess;
    let out: ReturnType<typeof collectOutput>;

    beforeAll(async () => {
      emu = startQood([
        'obd',
        'emulate',
        '--link',
        port,
        '--dtc',
        'P0301,P0420',
        '--vin',
        '1HGCM82633A004352',
      ]);
      out = collectOutput(emu);
      await waitUntil(() => out.stdout().includes('ELM327 emulator on'), 10_000, 'the emulator to start');
    });
    afterAll(async () => {
      emu.kill('SIGTERM');
      const exit = await waitExit(emu, 5000);
      rmSync(dir, { recursive: true, force: true });
      expect(exit.code).toBe(0);
    });

    it('scan --json prints exactly one object with adapter, protocol, PIDs, VIN and DTCs', () => {
      const r = runQood(['obd', 'scan', '--port', port, '--json'], { timeoutMs: 20_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const report = JSON.parse(lines[0]!) as Record<string, unknown>;
      expect(Object.keys(report)).toEqual(['adapter', 'protocol', 'supportedPids', 'vin', 'dtcs']);
      expect(report).toMatchObject({
        adapter: 'ELM327 v1.5',
        protocol: 'ISO 15765-4 (CAN 11/500)',
        vin: '1HGCM82633A004352',
        dtcs: [
          { code: 'P0301', kind: 'stored', ecu: '7E8' },
          { code: 'P0420', kind: 'stored', ecu: '7E8' },
        ],
      });
      expect(report.supportedPids).toEqual(expect.arrayContaining(['010C', '010D', '0105', '01A6']));
    });

    it('poll --json --count prints decoded JSON lines and exits', () => {
      const r = runQood(['obd', 'poll', '--port', port, '--pids', '010C,010D', '--count', '6', '--json'], {
        timeoutMs: 20_000,
      });
      expect(r.status).toBe(0);
      const rows = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { t: number; pid: string; path: string; value: number; unit: string });
      expect(rows).toHaveLength(6);
      for (const row of rows) expect(Math.abs(row.t - Date.now() / 1000)).toBeLessThan(60);
      const rpm = rows.find((x) => x.pid === '010C')!;
      expect(rpm).toMatchObject({ path: 'Vehicle.Powertrain.CombustionEngine.Speed', unit: 'rpm' });
      expect(rpm.value).toBeGreaterThan(500);
      expect(rows.find((x) => x.pid === '010D')).toMatchObject({ path: 'Vehicle.Speed', unit: 'km/h' });
    });

    it('clear-dtcs refuses without --yes, clears with it', () => {
      const no = runQood(['obd', 'clear-dtcs', '--port', port]);
      expect(no.status).toBe(2);
      expect(no.stderr).toMatch(/--yes/);
      const before = JSON.parse(runQood(['obd', 'scan', '--port', port, '--json']).stdout) as {
        dtcs: unknown[];
      };
      expect(before.dtcs).toHaveLength(2);
      const yes = runQood(['obd', 'clear-dtcs', '--port', port, '--yes']);
      expect(yes.status).toBe(0);
      const after = JSON.parse(runQood(['obd', 'scan', '--port', port, '--json']).stdout) as {
        dtcs: unknown[];
      };
      expect(after.dtcs).toEqual([]);
    });

    it('names the problem: a missing port exits 1, a bad PID or baud exits 2', () => {
      const missing = runQood(['obd', 'scan', '--port', join(dir, 'nope')]);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/nope: cannot open/);
      const pid = runQood(['obd', 'poll', '--port', port, '--pids', '010C,0Z']);
      expect(pid.status).toBe(2);
      expect(pid.stderr).toMatch(/'0Z' is not a service 01 PID/);
      expect(runQood(['obd', 'scan', '--port', port, '--baud', '1234']).status).toBe(2);
    });
  },
);
