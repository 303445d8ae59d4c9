/**
 * Control end to end on a real vcan in the VM: mosquitto, the real agent (CAN source, store, sync,
 * permissions with the simulated car's profile) and a grantee process on the broker. canplayer
 * feeds a parked car (speed 0, engine off); candump, an independent peer, records every
 * BODY_COMMAND frame. Each accepted unlock writes its request and release exactly once; the
 * replayed and the out-of-scope commands write nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { CompiledDbc, parseDbc } from '../../../agent/decode/can/index.js';
import { BASE_TERMS, issueGrant } from '../../../agent/permissions/index.js';
import { fromHex, generateMnemonic, ownerIdentity, seedFromMnemonic, toHex } from '../../../chain/index.js';
import type { CanFrame } from '../../../firmware-bridge/index.js';
import { readCanLog, writeCandumpLog } from '../../../simulators/can-log/index.js';
import { readSimDbc, SIM_DBC_PATH, SIM_MAP_PATH } from '../../../simulators/vehicle/can-frames.js';
import { QOOD_CLI } from '../../support/cli.js';
import { keyPair, SIM_PROFILE } from '../../support/permissions.js';
import { describeSystem, projectRoot } from '../../support/system.js';
import { runInVm, VM_NEEDS, type VmRun } from '../vm/run-in-vm.js';

const dbc = new CompiledDbc(parseDbc(readSimDbc()));

/** Ten seconds of a parked car: speed 0 and engine off every 20 ms. */
function parkedLog(): string {
  const frames: CanFrame[] = [];
  const frame = (name: string, values: Record<string, number>, us: number): CanFrame => {
    const m = dbc.byName(name)!;
    return {
      id: m.message.id,
      extended: m.message.extended,
      rtr: false,
      fd: false,
      data: m.encode(values),
      bus: 'can0',
      wallUs: us,
      monoUs: us,
    };
  };
  for (let t = 0; t < 10_000; t += 20) {
    const us = 1_000_000_000 + t * 1000;
    frames.push(
      frame('VEHICLE_DYNAMICS', { VehicleSpeed: 0 }, us),
      frame('ENGINE_DATA', { EngineRunning: 0 }, us + 100),
    );
  }
  return writeCandumpLog(frames);
}

const qood = `node ${QOOD_CLI}`;
const probe = join(projectRoot(), 'dist', 'test', 'support', 'vm', 'control-probe.js');

describeSystem(
  'control through mosquitto into vcan (qemu VM)',
  [...VM_NEEDS, { bin: 'canplayer', pkg: 'can-utils' }, { bin: 'mosquitto', pkg: 'mosquitto' }],
  () => {
    let run: VmRun;
    let grantId = '';
    beforeAll(async () => {
      const phrase = generateMnemonic();
      const owner = ownerIdentity(seedFromMnemonic(phrase));
      const grantee = keyPair();
      const g = issueGrant({
        ownerSecretKey: owner.secretKey,
        vehicleId: 'vm-car',
        grantee: grantee.hex,
        kind: 'control',
        scope: ['unlock'],
        fromMs: Date.now() - 60_000,
        toMs: Date.now() + 3_600_000,
        terms: { ...BASE_TERMS, commandLimit: { count: 10, perMs: 60_000 } },
      });
      grantId = g.id;
      const script = `
set -e
ip link set lo up
ip link add dev vcan0 type vcan; ip link set up vcan0
printf 'listener 1883 127.0.0.1\\nallow_anonymous true\\nuser root\\n' > /tmp/mq.conf
/usr/sbin/mosquitto -c /tmp/mq.conf -d
mkdir -p /tmp/data
${qood} keys pair --seed-file seed.txt --vehicle vm-car --data-dir /tmp/data > pair.out
canplayer -I parked.log -l i vcan0=can0 &
FEED=$!
candump -L vcan0,2F0:7FF > commands.log &
CD=$!
cat > agent.yaml <<YAML
device:
  vehicleId: vm-car
  dataDir: /tmp/data
  socketPath: /tmp/agent.sock
sources:
  can:
    - interface: vcan0
      dbc: ${SIM_DBC_PATH}
      map: ${SIM_MAP_PATH}
storage:
  path: /tmp/agent.db
sync:
  broker: mqtt://127.0.0.1:1883
permissions:
  profile: ${SIM_PROFILE}
YAML
${qood} agent -c agent.yaml > agent.log 2>&1 &
AGENT=$!
n=0; while [ ! -S /tmp/agent.sock ]; do sleep 0.1; n=$((n+1)); [ $n -lt 900 ] || { echo "agent did not start"; cat agent.log; exit 1; }; done
node ${probe} mqtt://127.0.0.1:1883 vm-car grant.hex ${toHex(grantee.secretKey)} /tmp/data receipts.json
sleep 0.5
${qood} audit --socket /tmp/agent.sock --json > audit.jsonl
kill $CD $FEED || true
kill -TERM $AGENT
wait $AGENT
echo agent-exit=$?
`;
      run = await runInVm(script, {
        files: {
          'seed.txt': `${phrase}\n`,
          'parked.log': parkedLog(),
          'grant.hex': toHex(g.bundle),
        },
        timeoutMs: 600_000,
      });
      if (run.rc !== 0)
        throw new Error(
          `VM run failed (rc ${run.rc}):\n${run.out}\n--- console ---\n${run.console.slice(-3000)}`,
        );
    }, 1_500_000); // VMs run one at a time: this may wait for the others
    const file = (f: string) => readFileSync(join(run.workDir, f), 'utf8');

    it('the receipts: three unlocks executed, the replay and the out-of-scope lock refused', () => {
      const receipts = JSON.parse(file('receipts.json')) as {
        outcome: string;
        reason: string;
        framesWritten: number;
      }[];
      expect(receipts.map((r) => [r.outcome, r.reason, r.framesWritten])).toEqual([
        ['executed', 'OK', 2],
        ['executed', 'OK', 2],
        ['executed', 'OK', 2],
        ['refused', 'REPLAYED', 0],
        ['refused', 'OUT_OF_SCOPE', 0],
      ]);
    });

    it('candump saw each accepted unlock exactly once (request then release), nothing for the refused ones', () => {
      const frames = readCanLog(file('commands.log')).frames;
      const requests = frames.map((f) => dbc.lookup(f.id, f.extended)!.decode(f.data).signals.LockRequest);
      expect(requests).toEqual([2, 0, 2, 0, 2, 0]);
    });

    it('qood audit lists every call with its outcome, and the agent stopped cleanly', () => {
      const rows = file('audit.jsonl')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string; grantId: string; outcome: string; reason: string });
      expect(rows.filter((r) => r.kind === 'control').map((r) => r.reason)).toEqual([
        'OK',
        'OK',
        'OK',
        'REPLAYED',
        'OUT_OF_SCOPE',
      ]);
      expect(rows.every((r) => r.grantId === grantId)).toBe(true);
      expect(run.out).toContain('agent-exit=0');
      expect(fromHex(grantId)).toHaveLength(32);
    });
  },
);
