/**
 * The firmware bridge's SocketCAN source against a real vcan in a VM, with can-utils (cangen,
 * cansend, candump) as the independent peer: receive classic/FD, 11/29-bit and remote frames
 * without loss, send what candump sees, kernel filters, and an interface taken down and up again.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { readCanLog } from '../../../simulators/can-log/index.js';
import { describeSystem, projectRoot } from '../../support/system.js';
import { runInVm, VM_NEEDS, type VmRun } from '../vm/run-in-vm.js';

const probe = join(projectRoot(), 'dist', 'test', 'support', 'vm', 'socketcan-probe.js');

// Every cangen run sends at 1 frame per ms: the rate this test states as lossless in the VM.
const SCRIPT = `
set -e
for i in 0 1; do ip link add dev vcan$i type vcan; ip link set vcan$i mtu 72; ip link set up vcan$i; done
candump -L vcan0 > reference.log &
candump -L vcan1 > sent-by-probe.log &
CANDUMP1=$!
node ${probe} > probe.out 2>&1 &
PROBE=$!
n=0; while [ ! -f ready ]; do sleep 0.1; n=$((n+1)); [ $n -lt 600 ] || { echo "probe not ready"; cat probe.out; exit 1; }; done
cangen vcan0 -n 1000 -g 1 -L 8
cangen vcan0 -n 1000 -g 1 -e
cangen vcan0 -n 500 -g 1 -f
cangen vcan0 -n 200 -g 1 -R
cangen vcan0 -n 300 -g 1 -e -f -b
cansend vcan1 123#01
cansend vcan1 124#02
cansend vcan1 18DAF110#03
cansend vcan1 00000123#04
touch send-now
n=0; while [ ! -f sent ]; do sleep 0.1; n=$((n+1)); [ $n -lt 300 ] || { echo "probe did not send"; exit 1; }; done
ip link set vcan0 down
sleep 1
ip link set vcan0 up
# candump itself exits when its link goes down (read: Network is down); start it again.
candump -L vcan0 > reference-after.log &
CANDUMP2=$!
sleep 2
cangen vcan0 -n 100 -g 1 -I 42A -L 8
sleep 1
kill $CANDUMP1 $CANDUMP2 2>/dev/null || true
touch finish
wait $PROBE
echo probe-exit=$?
`;

describeSystem('SocketCAN on a real vcan (qemu VM) against can-utils', [...VM_NEEDS], () => {
  let run: VmRun;
  beforeAll(async () => {
    run = await runInVm(SCRIPT, { timeoutMs: 600_000 });
    if (run.rc !== 0)
      throw new Error(
        `VM run failed (rc ${run.rc}):\n${run.out}\n--- console ---\n${run.console.slice(-2000)}`,
      );
  }, 1_500_000); // VMs run one at a time: this may wait for the others

  const file = (f: string) => readFileSync(join(run.workDir, f), 'utf8');

  it('receives every frame candump saw, byte for byte: classic, FD, 11- and 29-bit, remote', () => {
    const reference = [
      ...readCanLog(file('reference.log')).frames,
      ...readCanLog(file('reference-after.log')).frames,
    ];
    const received = readCanLog(file('received.log')).frames;
    // 1000 + 1000 + 500 + 200 + 300 before the link went down, 100 after it came back.
    expect(reference).toHaveLength(3100);
    const key = (f: (typeof received)[number]) =>
      `${f.id}/${f.extended}/${f.rtr}/${Buffer.from(f.data).toString('hex')}`;
    expect(received.map(key)).toEqual(reference.map(key));
    expect(received.filter((f) => f.extended).length).toBe(1300);
    expect(received.filter((f) => f.rtr).length).toBe(200);
    expect(received.some((f) => f.fd && f.data.length === 64)).toBe(true);
    // Kernel timestamps: within a second of candump's for the same frame.
    expect(Math.abs(received[0]!.wallUs - reference[0]!.wallUs)).toBeLessThan(1_000_000);
  });

  it('sends frames that candump sees exactly once each, and refuses invalid ones before the bus', () => {
    const sent = readCanLog(file('sent-by-probe.log')).frames;
    const probeSent = sent.filter(
      (f) => [0x7e0, 0x18db33f1, 0x1abcdef0, 0x321].includes(f.id) || (f.id === 0x123 && f.fd),
    );
    expect(probeSent.map((f) => [f.id.toString(16), f.extended, f.fd, f.rtr, f.data.length])).toEqual([
      ['7e0', false, false, false, 3],
      ['18db33f1', true, false, false, 3],
      ['123', false, true, false, 64],
      ['1abcdef0', true, true, false, 12],
      ['321', false, false, true, 0],
    ]);
    expect(probeSent[3]!.brs).toBe(true);
    const result = JSON.parse(file('result.json')) as { sendErrors: string[] };
    expect(result.sendErrors).toEqual([
      'vcan1: id 0x800 out of range for a 11-bit frame (max 0x7ff)',
      'vcan1: classic CAN payload of 9 bytes; expected at most 8 (set fd for longer frames)',
    ]);
  });

  it('applies kernel receive filters: only 123 (11-bit) and 18DAF110 (29-bit) get through', () => {
    const got = readCanLog(file('filtered.log')).frames;
    expect(got.map((f) => [f.id.toString(16), f.extended, Buffer.from(f.data).toString('hex')])).toEqual([
      ['123', false, '01'],
      ['18daf110', true, '03'],
    ]);
  });

  it('reports the link going down and reopens it when it comes back, without a restart', () => {
    const result = JSON.parse(file('result.json')) as {
      events: { type: string }[];
      stats0: { reopens: number };
    };
    expect(result.events.map((e) => e.type)).toEqual(['down', 'up']);
    expect(result.stats0.reopens).toBe(1);
    // The 100 frames sent after the link came back (id 42A) are the last 100 received.
    const after = readCanLog(file('received.log')).frames.slice(-100);
    expect(after.every((f) => f.id === 0x42a)).toBe(true);
    expect(readCanLog(file('reference-after.log')).frames).toHaveLength(100);
  });

  it('refuses to open an interface that does not exist, saying so', () => {
    const result = JSON.parse(file('result.json')) as { missing: string };
    expect(result.missing).toBe('nosuch0: no such network interface');
  });
});
