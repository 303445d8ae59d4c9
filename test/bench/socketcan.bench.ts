/**
 * SocketCAN receive rate in the qemu VM: cangen sends bursts of 20,000 classic frames on vcan0 at
 * shrinking gaps while the firmware bridge (the agent's receive path) and candump (the floor: C,
 * the same kernel socket) count them. The figure is the highest rate at which the bridge lost no
 * frame; the floor is candump's highest lossless rate in the same run. The VM runs under software
 * emulation (no KVM here), so absolute rates are far below a Pi's or a TBOX's: quote the ratio.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { missing } from '../support/system.js';
import { runInVm, VM_NEEDS } from '../system/vm/run-in-vm.js';
import type { BenchSuite } from './harness.js';

const FRAMES = 20_000;
/** Gaps between frames in ms, as cangen's -g takes them; 0 is back to back. */
const GAPS_MS = [1, 0.5, 0.2, 0.1, 0.05, 0] as const;
const PROBE = join(import.meta.dirname, '..', 'support', 'vm', 'rx-rate-probe.js');

function script(): string {
  const steps = GAPS_MS.map(
    (g, i) => `
rm -f finish ready
node ${PROBE} rx-${i}.json &
P=$!
n=0; while [ ! -f ready ]; do sleep 0.05; n=$((n+1)); [ $n -lt 1200 ] || exit 1; done
candump -n ${FRAMES} -T 30000 -L vcan0 > cd-${i}.log &
C=$!
sleep 0.3
T0=$(date +%s%N)
cangen vcan0 -g ${g} -n ${FRAMES} -I 123 -L 8 -D i
T1=$(date +%s%N)
echo "$(( (T1 - T0) / 1000 ))" > send-us-${i}
sleep 1
touch finish
wait $P
kill $C 2>/dev/null || true
wait $C 2>/dev/null || true
`,
  );
  return `set -e\nip link add dev vcan0 type vcan; ip link set up vcan0\n${steps.join('')}`;
}

interface Step {
  readonly gapMs: number;
  readonly sentPerS: number;
  readonly bridge: number;
  readonly candump: number;
}

export const suite: BenchSuite = {
  name: 'socketcan',
  skip: () => {
    const absent = missing(VM_NEEDS);
    return absent.length > 0 ? `needs ${absent.map((m) => m.pkg).join(', ')}` : undefined;
  },
  figures: async () => {
    const run = await runInVm(script(), { timeoutMs: 600_000 });
    if (run.rc !== 0) throw new Error(`VM run failed (rc ${run.rc}): ${run.out.slice(-2000)}`);
    const steps: Step[] = GAPS_MS.map((gapMs, i) => {
      const rx = JSON.parse(readFileSync(join(run.workDir, `rx-${i}.json`), 'utf8')) as {
        received: number;
      };
      const sendUs = Number(readFileSync(join(run.workDir, `send-us-${i}`), 'utf8'));
      const cd = readFileSync(join(run.workDir, `cd-${i}.log`), 'utf8')
        .split('\n')
        .filter(Boolean).length;
      return { gapMs, sentPerS: FRAMES / (sendUs / 1e6), bridge: rx.received, candump: cd };
    });
    rmSync(run.workDir, { recursive: true, force: true });
    for (const s of steps)
      process.stderr.write(
        `  gap ${s.gapMs} ms: sent ${Math.round(s.sentPerS)} frames/s; bridge ${s.bridge}/${FRAMES}, candump ${s.candump}/${FRAMES}\n`,
      );
    const best = (count: (s: Step) => number) =>
      Math.max(0, ...steps.filter((s) => count(s) === FRAMES).map((s) => s.sentPerS));
    const note = 'qemu TCG VM without KVM; quote the ratio';
    return [
      {
        name: `lossless receive rate, ${FRAMES} frame bursts`,
        unit: 'frames/s',
        runs: 1,
        note,
        measure: () => best((s) => s.bridge),
        floor: { name: 'candump lossless rate', measure: () => best((s) => s.candump) },
      },
    ];
  },
};
