/**
 * The bridge's ISO-TP against the Linux kernel's can-isotp (isotpsend / isotprecv from can-utils)
 * on a real vcan in a VM: 4095-byte payloads both ways over classic CAN with 11-bit ids and the
 * kernel asking for blocks of 4, 29-bit normal-fixed ids, and CAN FD with 64-byte frames.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { describeSystem, projectRoot } from '../../support/system.js';
import { runInVm, VM_NEEDS, type VmRun } from '../vm/run-in-vm.js';

const probe = join(projectRoot(), 'dist', 'test', 'support', 'vm', 'isotp-probe.js');
const pattern = (n: number) =>
  Array.from({ length: n }, (_, i) => ((i * 31 + 7) & 0xff).toString(16).toUpperCase().padStart(2, '0')).join(
    ' ',
  );
const fromKernel = (n: number) =>
  Array.from({ length: n }, (_, i) => ((i * 13 + 1) & 0xff).toString(16).toUpperCase().padStart(2, '0')).join(
    ' ',
  );

/** One exchange: the kernel sends `kernelSends` bytes to the probe, then the probe sends `probeSends` back. */
function exchange(
  tag: string,
  o: {
    probeTx: string;
    probeRx: string;
    fd?: boolean;
    kernelSends: number;
    probeSends: number;
    recvOpts?: string;
  },
): string {
  const cfg = JSON.stringify({
    iface: 'vcan0',
    txId: Number.parseInt(o.probeTx, 16),
    rxId: Number.parseInt(o.probeRx, 16),
    fd: o.fd ?? false,
    send: o.probeSends,
    tag,
  });
  const link = o.fd ? '-L 72:64:0' : '';
  return `
node ${probe} '${cfg}' > ${tag}.probe.out 2>&1 &
P=$!
n=0; while [ ! -f ${tag}.ready ]; do sleep 0.1; n=$((n+1)); [ $n -lt 600 ] || { echo "${tag}: probe not ready"; cat ${tag}.probe.out; exit 1; }; done
isotpsend -s ${o.probeRx} -d ${o.probeTx} ${link} vcan0 < ${tag}.kernel-sends.hex
n=0; while [ ! -f ${tag}.received.hex ]; do sleep 0.1; n=$((n+1)); [ $n -lt 100 ] || { echo "${tag}: probe received nothing"; break; }; done
isotprecv -s ${o.probeRx} -d ${o.probeTx} ${o.recvOpts ?? ''} ${link} vcan0 > ${tag}.kernel-received.hex &
R=$!
sleep 0.3
touch ${tag}.send-now
n=0; while kill -0 $R 2>/dev/null; do sleep 0.1; n=$((n+1)); [ $n -lt 150 ] || { echo "${tag}: isotprecv got nothing"; kill $R; break; }; done
wait $P
`;
}

const CASES = {
  classic11: { probeTx: '7E8', probeRx: '7E0', kernelSends: 4095, probeSends: 4095, recvOpts: '-b 4' },
  ext29: { probeTx: '18DAF110', probeRx: '18DA10F1', kernelSends: 100, probeSends: 300 },
  fd64: { probeTx: '7E9', probeRx: '7E1', fd: true, kernelSends: 4095, probeSends: 4095 },
} as const;

describeSystem(
  "ISO-TP against the kernel's can-isotp (qemu VM)",
  [...VM_NEEDS, { bin: 'isotpsend', pkg: 'can-utils' }],
  () => {
    let run: VmRun;
    beforeAll(async () => {
      const files: Record<string, string> = {};
      let script =
        'set -e\nip link add dev vcan0 type vcan; ip link set vcan0 mtu 72; ip link set up vcan0\n';
      for (const [tag, c] of Object.entries(CASES)) {
        files[`${tag}.kernel-sends.hex`] = `${fromKernel(c.kernelSends)}\n`;
        script += exchange(tag, c);
      }
      run = await runInVm(`${script}echo all-done\n`, { files, timeoutMs: 600_000 });
      if (run.rc !== 0)
        throw new Error(
          `VM run failed (rc ${run.rc}):\n${run.out}\n--- console ---\n${run.console.slice(-2000)}`,
        );
    }, 1_500_000); // VMs run one at a time: this may wait for the others

    const read = (f: string) => readFileSync(join(run.workDir, f), 'utf8').trim();

    for (const [tag, c] of Object.entries(CASES)) {
      it(`${tag}: receives ${c.kernelSends} bytes from isotpsend`, () => {
        expect(read(`${tag}.received.hex`)).toBe(fromKernel(c.kernelSends));
      });
      it(`${tag}: sends ${c.probeSends} bytes that isotprecv prints exactly`, () => {
        expect(read(`${tag}.kernel-received.hex`)).toBe(pattern(c.probeSends));
      });
    }
  },
);
