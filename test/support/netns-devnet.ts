/**
 * The devnet in network namespaces: what the VM probe (vm/netns-devnet-probe.ts) is asked to do (a
 * plan), what it reports (a result), and the analysis the system test and the bench share: parsing
 * the nodes' trace lines (`qood node --log-level trace`), block and vote propagation latencies,
 * finality lags, and the checks that final chains never disagree. All nodes run in one VM, so their
 * wall clocks are one clock and a latency is a receiver's time minus the sender's.
 */

/** What the probe sets up and runs. */
export interface NetnsPlan {
  /** Producers, one per namespace (n0 .. n{nodes-1}); at most 9. */
  readonly nodes: number;
  /**
   * netem delay of node i's link, applied in both directions: a packet from a to b waits
   * halfDelayMs[a] leaving a and halfDelayMs[b] reaching b, so the one-way delay between them is the
   * sum (see pairDelayMs).
   */
  readonly halfDelayMs: readonly number[];
  /** Bound on the start: every node has a final block and all its peers. */
  readonly warmupTimeoutMs: number;
  /** Running time after the warm-up before the steady window (JIT warm-up, first syncs). */
  readonly settleMs: number;
  /** The measured window of normal running. */
  readonly steadyMs: number;
  /** How often each node's /status is read. */
  readonly pollMs: number;
  /** A partition after the steady window; omitted in the bench. */
  readonly partition?: {
    /** Nodes cut off from the others (they keep their links to each other). */
    readonly side: readonly number[];
    readonly holdMs: number;
    /** Bound on finality coming back after the heal. */
    readonly healTimeoutMs: number;
    /** Running time after finality came back, before the final chains are compared. */
    readonly afterMs: number;
  };
}

/** The one-way netem delay between nodes a and b under `plan`. */
export function pairDelayMs(plan: NetnsPlan, a: number, b: number): number {
  return (plan.halfDelayMs[a] ?? 0) + (plan.halfDelayMs[b] ?? 0);
}

/** One reading of a node's GET /status. */
export interface PollSample {
  readonly atMs: number;
  readonly node: number;
  readonly finalHeight: number;
  readonly finalId: string;
  readonly headHeight: number;
  readonly peers: number;
}

/** Wall times (ms, the VM's clock) of the run's phases; later ones absent when not reached. */
export interface NetnsPhases {
  readonly nodesStartedAt: number;
  readonly steadyFrom?: number;
  readonly steadyTo?: number;
  readonly cutAt?: number;
  readonly healAt?: number;
  /** When every node's finality moved past the partition again. */
  readonly resumedAt?: number;
  readonly endAt?: number;
  /** When the final chains had been read (after endAt). */
  readonly collectedAt?: number;
}

/** What the probe writes to result.json. */
export interface NetnsResult {
  readonly plan: NetnsPlan;
  readonly phases: NetnsPhases;
  /** Round-trip times measured by ping over the netem links before the nodes start, per pair "a-b". */
  readonly pingRttMs: Record<string, number>;
  readonly polls: readonly PollSample[];
  /**
   * At the end: node 0's final block ids from height 1 to the lowest final height of all nodes,
   * and every node's id at that height. A block id commits to its parent's, so nodes that agree
   * there agree on every height below it.
   */
  readonly finalChain: readonly string[];
  readonly idsAtCommonHeight: readonly string[];
  /** CPU seconds (user + system) each node process used, read from /proc before stopping it. */
  readonly cpuSeconds: readonly number[];
  /** What went wrong, if anything (the probe still writes what it has). */
  readonly errors: readonly string[];
}

/** One trace line of a node. */
export type NodeTraceLine =
  | {
      readonly kind: 'blockSent' | 'blockReceived' | 'voteSent' | 'voteReceived';
      readonly node: number;
      readonly atMs: number;
      readonly id: string;
      readonly height: number;
    }
  | {
      readonly kind: 'final';
      readonly node: number;
      readonly atMs: number;
      readonly blocks: readonly { readonly height: number; readonly id: string; readonly timeMs: number }[];
    };

/** Trace lines of one node's log, and the lines that were not JSON (counted, with the first one). */
export interface ParsedTraces {
  readonly traces: NodeTraceLine[];
  readonly badLines: number;
  readonly firstBad?: string;
}

const SEND_RECEIVE = new Set(['blockSent', 'blockReceived', 'voteSent', 'voteReceived']);

/**
 * Reads the trace lines out of a node's log (pino JSON lines; other log lines are skipped). A line
 * that is not JSON, or a trace line missing a field, is counted as bad with its line number.
 */
export function parseNodeTraces(log: string, node: number): ParsedTraces {
  const traces: NodeTraceLine[] = [];
  let badLines = 0;
  let firstBad: string | undefined;
  const lines = log.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const t = traceOf(line, node);
    if (typeof t === 'string') {
      badLines++;
      firstBad ??= `node ${node} log line ${i + 1}: ${t}`;
    } else if (t !== undefined) traces.push(t);
  }
  return firstBad === undefined ? { traces, badLines } : { traces, badLines, firstBad };
}

/** The trace in one log line, undefined for another log line, or what is wrong with it. */
function traceOf(line: string, node: number): NodeTraceLine | undefined | string {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `not JSON: ${line.slice(0, 60)}`;
  }
  const kind = doc.trace;
  if (kind === undefined) return undefined;
  const atMs = doc.atMs;
  if (typeof atMs !== 'number') return 'trace without a numeric atMs';
  if (typeof kind === 'string' && SEND_RECEIVE.has(kind)) {
    if (typeof doc.id !== 'string' || typeof doc.height !== 'number') return `${kind} without id and height`;
    return { kind: kind as 'blockSent', node, atMs, id: doc.id, height: doc.height };
  }
  if (kind !== 'final') return `unknown trace kind ${JSON.stringify(kind)}`;
  const blocks = doc.blocks;
  const isBlock = (b: { height?: unknown; id?: unknown; timeMs?: unknown } | null) =>
    typeof b?.height === 'number' && typeof b.id === 'string' && typeof b.timeMs === 'number';
  if (!Array.isArray(blocks) || !blocks.every(isBlock)) return 'final without blocks [{height, id, timeMs}]';
  return { kind: 'final', node, atMs, blocks };
}

/** A latency from a sender to a receiver, with the netem delay of that pair (the floor). */
export interface Hop {
  readonly from: number;
  readonly to: number;
  readonly ms: number;
  readonly floorMs: number;
}

/**
 * Block and vote propagation: for every message first sent at a time in [fromMs, toMs), the time
 * until each other node first received it (directly or relayed), with that pair's netem delay.
 */
export function propagation(
  plan: NetnsPlan,
  traces: readonly NodeTraceLine[],
  fromMs: number,
  toMs: number,
): { block: Hop[]; vote: Hop[] } {
  const sent = new Map<string, { node: number; atMs: number }>();
  for (const t of traces)
    if ((t.kind === 'blockSent' || t.kind === 'voteSent') && t.atMs >= fromMs && t.atMs < toMs) {
      const key = `${t.kind[0]}:${t.id}`;
      const prev = sent.get(key);
      if (prev === undefined || prev.atMs > t.atMs) sent.set(key, { node: t.node, atMs: t.atMs });
    }
  const firstReceipt = new Map<string, NodeTraceLine>();
  for (const t of traces)
    if (t.kind === 'blockReceived' || t.kind === 'voteReceived') {
      const key = `${t.kind[0]}:${t.id}@${t.node}`;
      const prev = firstReceipt.get(key);
      if (prev === undefined || prev.atMs > t.atMs) firstReceipt.set(key, t);
    }
  const out = { block: [] as Hop[], vote: [] as Hop[] };
  for (const [key, t] of firstReceipt) {
    const s = sent.get(key.slice(0, key.lastIndexOf('@')));
    if (s === undefined || s.node === t.node) continue;
    (t.kind === 'blockReceived' ? out.block : out.vote).push({
      from: s.node,
      to: t.node,
      ms: t.atMs - s.atMs,
      floorMs: pairDelayMs(plan, s.node, t.node),
    });
  }
  return out;
}

/**
 * Finality lag: for every block whose slot started in [fromMs, toMs), at every node, the time from
 * its slot start to that node finalizing it.
 */
export function finalityLags(traces: readonly NodeTraceLine[], fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (const t of traces)
    if (t.kind === 'final')
      for (const b of t.blocks) if (b.timeMs >= fromMs && b.timeMs < toMs) out.push(t.atMs - b.timeMs);
  return out;
}

/**
 * Final block ids that disagree: every (height, id) a node reported in a poll, the final chain at
 * the end and each node's id at its top, grouped by height; a height with two ids is a conflict.
 */
export function finalConflicts(
  polls: readonly PollSample[],
  finalChain: readonly string[],
  idsAtCommonHeight: readonly string[],
): { height: number; ids: string[] }[] {
  const byHeight = new Map<number, Set<string>>();
  const add = (h: number, id: string): void => {
    const s = byHeight.get(h) ?? new Set<string>();
    byHeight.set(h, s.add(id));
  };
  for (const p of polls) if (p.finalHeight > 0) add(p.finalHeight, p.finalId);
  for (const [i, id] of finalChain.entries()) add(i + 1, id);
  for (const id of idsAtCommonHeight) add(finalChain.length, id);
  return [...byHeight]
    .filter(([, s]) => s.size > 1)
    .map(([height, s]) => ({ height, ids: [...s] }))
    .sort((a, b) => a.height - b.height);
}

/** The q-quantile (0..1) of `values` (nearest rank); NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/**
 * Blocks that crossed a partition: sent in [fromMs, toMs) by a node on one side (`side` or the
 * rest) and received before toMs by a node on the other. Empty when the partition held.
 */
export function crossings(
  plan: NetnsPlan,
  side: readonly number[],
  traces: readonly NodeTraceLine[],
  fromMs: number,
  toMs: number,
): { id: string; from: number; to: number }[] {
  const inSide = (n: number) => side.includes(n);
  const sentBy = new Map<string, number>();
  for (const t of traces)
    if (t.kind === 'blockSent' && t.atMs >= fromMs && t.atMs < toMs && t.node < plan.nodes)
      sentBy.set(t.id, t.node);
  const out: { id: string; from: number; to: number }[] = [];
  for (const t of traces)
    if (t.kind === 'blockReceived' && t.atMs < toMs) {
      const from = sentBy.get(t.id);
      if (from !== undefined && inSide(from) !== inSide(t.node)) out.push({ id: t.id, from, to: t.node });
    }
  return out;
}
