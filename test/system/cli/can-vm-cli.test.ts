/**
 * The CAN commands as a user runs them, on a real vcan in the VM: `qood can replay` a log of the
 * simulated car (candump checks what went out and when), `qood can dump --dbc --map` decoding live
 * traffic, and `qood agent` decoding canplayer's replay of the same log, seen through `qood status`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { CompiledDbc, parseDbc } from '../../../agent/decode/can/index.js';
import type { CanFrame } from '../../../firmware-bridge/index.js';
import { readCanLog, writeCandumpLog } from '../../../simulators/can-log/index.js';
import {
  readSimDbc,
  SIM_DBC_PATH,
  SIM_MAP_PATH,
  SimFrameScheduler,
} from '../../../simulators/vehicle/can-frames.js';
import { VehicleModel } from '../../../simulators/vehicle/model.js';
import { QOOD_CLI } from '../../support/cli.js';
import { describeSystem } from '../../support/system.js';
import { runInVm, VM_NEEDS, type VmRun } from '../vm/run-in-vm.js';

/** Four seconds of the simulated car's traffic as a candump log, starting at t = 1000 s. */
function simLog(): { text: string; frames: CanFrame[] } {
  const dbc = new CompiledDbc(parseDbc(readSimDbc()));
  const model = new VehicleModel({ seed: 4 });
  const sched = new SimFrameScheduler({
    encoder: {
      encode: (n, v) => ({
        id: dbc.byName(n)!.message.id,
        extended: dbc.byName(n)!.message.extended,
        data: dbc.byName(n)!.encode(v),
      }),
    },
  });
  const frames: CanFrame[] = [];
  for (let t = 10; t <= 4000; t += 10) {
    const s = model.step(10);
    for (const f of sched.framesDue(t, s)) {
      const us = 1_000_000_000 + f.tMs * 1000;
      frames.push({
        id: f.id,
        extended: f.extended,
        rtr: false,
        fd: false,
        data: f.data,
        bus: 'can0',
        wallUs: us,
        monoUs: us,
      });
    }
  }
  return { text: writeCandumpLog(frames), frames };
}

const qood = `node ${QOOD_CLI}`;
const SCRIPT = `
set -e
ip link add dev vcan0 type vcan; ip link set up vcan0
candump -L vcan0 > replayed.log &
CD=$!
${qood} can dump vcan0 --dbc ${SIM_DBC_PATH} --map ${SIM_MAP_PATH} --count 50 > dump.jsonl 2> dump.err &
DUMP=$!
# Node starts slowly under emulation: send only once the dump is listening.
n=0; until grep -q listening dump.err 2>/dev/null; do sleep 0.2; n=$((n+1)); [ $n -lt 1500 ] || { echo "dump did not start"; cat dump.err; exit 1; }; done
sleep 0.5
${qood} can replay sim.log --iface vcan0 --speed 2 2> replay.err
wait $DUMP
sleep 0.5
kill $CD || true
# The socket lives on the VM's own tmpfs: the 9p share with the host cannot hold sockets.
cat > agent.yaml <<YAML
device:
  vehicleId: vm-car
  dataDir: $PWD
  socketPath: /tmp/agent.sock
sources:
  can:
    - interface: vcan0
      dbc: ${SIM_DBC_PATH}
      map: ${SIM_MAP_PATH}
YAML
${qood} agent -c agent.yaml > agent.log 2>&1 &
AGENT=$!
n=0; while [ ! -S /tmp/agent.sock ]; do sleep 0.1; n=$((n+1)); [ $n -lt 3000 ] || { echo "agent did not start"; cat agent.log; exit 1; }; done
canplayer -I sim.log vcan0=can0
sleep 1
${qood} status --socket /tmp/agent.sock --json > status.json
kill -TERM $AGENT
wait $AGENT
echo agent-exit=$?
`;

describeSystem(
  'qood can replay / dump and qood agent on a real vcan (qemu VM)',
  [...VM_NEEDS, { bin: 'canplayer', pkg: 'can-utils' }],
  () => {
    let run: VmRun;
    const log = simLog();
    beforeAll(async () => {
      run = await runInVm(SCRIPT, { files: { 'sim.log': log.text }, timeoutMs: 600_000 });
      if (run.rc !== 0)
        throw new Error(
          `VM run failed (rc ${run.rc}):\n${run.out}\n--- console ---\n${run.console.slice(-2000)}`,
        );
    }, 1_500_000); // VMs run one at a time: this may wait for the others
    const file = (f: string) => readFileSync(join(run.workDir, f), 'utf8');

    it('qood can replay sends every logged frame, in order, at the log timing scaled by --speed', () => {
      const out = readCanLog(file('replayed.log')).frames;
      const key = (f: CanFrame) => `${f.id}/${Buffer.from(f.data).toString('hex')}`;
      expect(out.map(key)).toEqual(log.frames.map(key));
      // 4 s of log at speed 2 took about 2 s on the wire.
      const spanS = (out.at(-1)!.wallUs - out[0]!.wallUs) / 1e6;
      expect(spanS).toBeGreaterThan(1.8);
      expect(spanS).toBeLessThan(3.5);
      expect(file('replay.err')).toContain(
        `${log.frames.length} frames sent on vcan0 in 1 loop(s), 0 failed`,
      );
    });

    it('qood can dump decodes live traffic into VSS paths', () => {
      const lines = file('dump.jsonl')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { message: string; signals: Record<string, unknown> });
      expect(lines).toHaveLength(50);
      const engine = lines.find((l) => l.message === 'ENGINE_DATA')!;
      expect(typeof engine.signals['Vehicle.Powertrain.CombustionEngine.Speed']).toBe('number');
    });

    it('qood agent decodes a canplayer replay on vcan0 and reports it in qood status, then stops cleanly', () => {
      const status = JSON.parse(file('status.json')) as { counters: Record<string, number> };
      expect(status.counters['frames.in']).toBe(log.frames.length);
      expect(status.counters['samples.out']).toBeGreaterThan(4 * log.frames.length);
      expect(status.counters['frames.unknown']).toBe(0);
      expect(run.out).toContain('agent-exit=0');
    });
  },
);
