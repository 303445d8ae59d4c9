/**
 * Runs inside the test VM (compiled to dist/), as root in the VM's own network namespace, from the
 * work folder holding `plan.json` (a NetnsPlan). It builds the namespace devnet and drives it:
 *
 * - network: one namespace per node (n0 ..), each with `eth0` on a veth pair whose other end is a
 *   port of bridge br0; node i has 10.77.0.(i+1)/24 and a netem delay of halfDelayMs[i] on both
 *   ends of its pair, so a packet from a to b waits half a + half b. A second bridge, br1, has no
 *   ports until the partition moves the cut-off side's ports onto it: two switches, each side still
 *   connected within itself. Each namespace also has `mgmt`, a veth pair to this namespace without
 *   delay (10.78.i.1 <-> 10.78.i.254), where the node's HTTP API listens: the probe reads the nodes
 *   through it, so what it observes is neither delayed nor cut by what it tests.
 * - nodes: the devnet folder from `writeDevnetFolder` (as `qood devnet start` writes it), then
 *   `ip netns exec n<i> node dist/cli/main.js node -c ... --log-level trace`, logs in the tmpfs.
 * - phases: warm-up (every node final and connected to all its peers), a settling time, the steady
 *   window, then when planned the partition (hold), the heal, finality resuming on every node, and
 *   a last stretch. GET /status of every node every pollMs throughout; at the end node 0's final
 *   chain (GET /blocks/<h>) and every node's block at the lowest final height.
 *
 * Writes `result.json` (a NetnsResult) and copies the node logs as `node<i>.log`; exits 0 when it
 * wrote them, with what went wrong in `errors`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { devnetNodePaths, writeDevnetFolder } from '../../../simulators/devnet/devnet-folder.js';
import type { NetnsPhases, NetnsPlan, NetnsResult, PollSample } from '../netns-devnet.js';
import { projectRoot } from '../system.js';

const plan = JSON.parse(readFileSync('plan.json', 'utf8')) as NetnsPlan;
const DIR = '/tmp/netns-devnet';
const P2P_PORT = 26600;
const HTTP_PORT = 26700;
const nodeIds = Array.from({ length: plan.nodes }, (_, i) => i);
const p2pAddr = (i: number) => `10.77.0.${i + 1}`;
const apiUrl = (i: number) => `http://10.78.${i}.1:${HTTP_PORT}`;

const errors: string[] = [];
const polls: PollSample[] = [];
const phases: { -readonly [K in keyof NetnsPhases]: NetnsPhases[K] } = { nodesStartedAt: 0 };
const pingRttMs: Record<string, number> = {};
const latest = new Map<number, PollSample>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a command; throws with its stderr when it fails. */
function run(cmd: string, ...args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.toString().trim() || (err as Error).message}`);
  }
}

function buildNetwork(): void {
  for (const br of ['br0', 'br1']) {
    run('ip', 'link', 'add', br, 'type', 'bridge');
    run('ip', 'link', 'set', br, 'up');
  }
  for (const i of nodeIds) {
    const ns = `n${i}`;
    const delay = `${plan.halfDelayMs[i] ?? 0}ms`;
    run('ip', 'netns', 'add', ns);
    run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    run('ip', 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    run('ip', 'link', 'set', `v${i}`, 'master', 'br0', 'up');
    run('ip', '-n', ns, 'addr', 'add', `${p2pAddr(i)}/24`, 'dev', 'eth0');
    run('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    run('tc', '-n', ns, 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', delay);
    run('tc', 'qdisc', 'add', 'dev', `v${i}`, 'root', 'netem', 'delay', delay);
    run('ip', 'link', 'add', `m${i}`, 'type', 'veth', 'peer', 'name', 'mgmt', 'netns', ns);
    run('ip', 'addr', 'add', `10.78.${i}.254/24`, 'dev', `m${i}`);
    run('ip', 'link', 'set', `m${i}`, 'up');
    run('ip', '-n', ns, 'addr', 'add', `10.78.${i}.1/24`, 'dev', 'mgmt');
    run('ip', '-n', ns, 'link', 'set', 'mgmt', 'up');
  }
}

/** Smallest of three ping round trips from a to b over the delayed links. */
function ping(a: number, b: number): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', `n${a}`, 'busybox', 'ping', '-c', '3', p2pAddr(b)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('close', () => {
      const m = /min\/avg\/max = ([0-9.]+)\//.exec(out);
      if (m === null) errors.push(`ping n${a} -> n${b}: no reply (${out.trim().slice(-80)})`);
      resolve(m === null ? Number.NaN : Number(m[1]));
    });
  });
}

async function readStatus(i: number): Promise<void> {
  try {
    const r = await fetch(`${apiUrl(i)}/status`, { signal: AbortSignal.timeout(1500) });
    if (!r.ok) return;
    const s = (await r.json()) as {
      head: { height: number };
      final: { height: number; id: string };
      peers: unknown[];
    };
    const sample: PollSample = {
      atMs: Date.now(),
      node: i,
      finalHeight: s.final.height,
      finalId: s.final.id,
      headHeight: s.head.height,
      peers: s.peers.length,
    };
    polls.push(sample);
    latest.set(i, sample);
  } catch {
    // Not up yet, or busy: the next poll tries again.
  }
}

let polling = true;
async function pollLoop(): Promise<void> {
  while (polling) {
    const next = sleep(plan.pollMs);
    await Promise.all(nodeIds.map(readStatus));
    await next;
  }
}

/** Waits until `cond` holds over the latest samples; false after `timeoutMs`. */
async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(50);
  }
  return true;
}

const finalOf = (i: number) => latest.get(i)?.finalHeight ?? 0;

async function blockId(i: number, h: number): Promise<string> {
  const r = await fetch(`${apiUrl(i)}/blocks/${h}`, { signal: AbortSignal.timeout(5000) });
  if (!r.ok) throw new Error(`node ${i}: GET /blocks/${h}: HTTP ${r.status}`);
  return ((await r.json()) as { id: string }).id;
}

/** Node 0's final ids up to the lowest final height, eight requests at a time; each node's id there. */
async function readFinalChains(): Promise<{ chain: string[]; atCommon: string[] }> {
  const common = Math.min(...nodeIds.map(finalOf));
  const chain: string[] = [];
  for (let h = 1; h <= common; h += 8) {
    const hs = Array.from({ length: Math.min(8, common - h + 1) }, (_, k) => h + k);
    chain.push(...(await Promise.all(hs.map((x) => blockId(0, x)))));
  }
  const atCommon = common === 0 ? [] : await Promise.all(nodeIds.map((i) => blockId(i, common)));
  return { chain, atCommon };
}

/** CPU seconds (user + system) process `pid` has used. */
function cpuSeconds(pid: number | undefined): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function stopNodes(children: readonly ChildProcess[]): Promise<void> {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  return new Promise((done) => {
    let left = alive.length;
    if (left === 0) done();
    const kill = setTimeout(() => {
      for (const c of alive) c.kill('SIGKILL');
    }, 5000);
    for (const c of alive) {
      c.once('exit', () => {
        if (--left === 0) {
          clearTimeout(kill);
          done();
        }
      });
      c.kill('SIGTERM');
    }
  });
}

async function drive(children: ChildProcess[]): Promise<void> {
  buildNetwork();
  const pairs = nodeIds.flatMap((a) => nodeIds.filter((b) => b > a).map((b) => [a, b] as const));
  const rtts = await Promise.all(pairs.map(([a, b]) => ping(a, b)));
  pairs.forEach(([a, b], k) => {
    pingRttMs[`${a}-${b}`] = rtts[k]!;
  });

  mkdirSync(DIR, { recursive: true });
  writeDevnetFolder({
    dir: DIR,
    nodes: plan.nodes,
    preset: 'minimal',
    listen: (i) => `${p2pAddr(i)}:${P2P_PORT}`,
    http: (i) => `10.78.${i}.1:${HTTP_PORT}`,
    // Node processes take seconds to start in an emulated VM.
    genesisTimeMs: Date.now() + 3000,
  });
  const cli = join(projectRoot(), 'dist', 'cli', 'main.js');
  for (const i of nodeIds) {
    const p = devnetNodePaths(DIR, i);
    const out = openSync(p.log, 'w');
    const child = spawn(
      'ip',
      ['netns', 'exec', `n${i}`, process.execPath, cli, 'node', '-c', p.config, '--log-level', 'trace'],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    child.on('exit', (code, signal) => {
      if (polling) errors.push(`node ${i} exited early (${signal ?? `code ${code}`})`);
    });
    children.push(child);
  }
  phases.nodesStartedAt = Date.now();
  void pollLoop();

  const warm = await waitFor(
    () => nodeIds.every((i) => finalOf(i) >= 3 && latest.get(i)!.peers === plan.nodes - 1),
    plan.warmupTimeoutMs,
  );
  if (!warm) {
    errors.push(
      `warm-up: not every node final and connected within ${plan.warmupTimeoutMs} ms: ${nodeIds
        .map((i) => `n${i} final ${finalOf(i)} peers ${latest.get(i)?.peers ?? '-'}`)
        .join(', ')}`,
    );
    return;
  }
  await sleep(plan.settleMs);
  phases.steadyFrom = Date.now();
  await sleep(plan.steadyMs);
  phases.steadyTo = Date.now();

  const part = plan.partition;
  if (part === undefined) return;
  // One `ip -batch` per move, and the phase times taken after it: starting a program can take a
  // second in an emulated VM, and the partition holds only once every port has moved.
  const move = (bridge: string) =>
    execFileSync('ip', ['-batch', '-'], {
      input: part.side.map((i) => `link set v${i} master ${bridge}\n`).join(''),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  move('br1');
  phases.cutAt = Date.now();
  await sleep(part.holdMs);
  move('br0');
  phases.healAt = Date.now();
  const atHeal = Math.max(...nodeIds.map(finalOf));
  const resumed = await waitFor(() => nodeIds.every((i) => finalOf(i) > atHeal), part.healTimeoutMs);
  if (!resumed) {
    errors.push(
      `heal: finality did not pass height ${atHeal} on every node within ${part.healTimeoutMs} ms: ${nodeIds
        .map((i) => `n${i} final ${finalOf(i)}`)
        .join(', ')}`,
    );
    return;
  }
  phases.resumedAt = Date.now();
  await sleep(part.afterMs);
}

const children: ChildProcess[] = [];
let chains: { chain: string[]; atCommon: string[] } = { chain: [], atCommon: [] };
try {
  await drive(children);
} catch (err) {
  errors.push(`probe: ${(err as Error).stack ?? String(err)}`);
}
phases.endAt = Date.now();
polling = false;
await sleep(plan.pollMs + 100);
if (children.length > 0)
  chains = await readFinalChains().catch((err: Error) => {
    errors.push(`reading the final chains: ${err.message}`);
    return chains;
  });
phases.collectedAt = Date.now();
const cpu = children.map((c) => cpuSeconds(c.pid));
await stopNodes(children);
for (const i of children.keys()) {
  try {
    copyFileSync(devnetNodePaths(DIR, i).log, `node${i}.log`);
  } catch (err) {
    errors.push(`node ${i} log: ${(err as Error).message}`);
  }
}
const result: NetnsResult = {
  plan,
  phases,
  pingRttMs,
  polls,
  finalChain: chains.chain,
  idsAtCommonHeight: chains.atCommon,
  cpuSeconds: cpu,
  errors,
};
writeFileSync('result.json', JSON.stringify(result));
process.exit(0);
