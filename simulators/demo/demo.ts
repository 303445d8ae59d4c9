/**
 * `qood demo`: one process that brings up, on embedded defaults, every stage of QoodBlock that
 * exists, feeds it from simulators, and prints what flows. A stage that does not exist is not shown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema } from '../../agent/config/index.js';
import { silentLogger } from '../../agent/log.js';
import { startAgent } from '../../agent/main.js';
import { Metrics } from '../../agent/metrics.js';
import { noopNotifier } from '../../agent/service.js';

export interface DemoOptions {
  /** Stop after this many seconds; run until `signal` aborts when undefined. */
  readonly seconds?: number;
  /** Print one line per event as it flows (off with --json). */
  readonly print: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** What flowed, as `qood demo --json` prints it. */
export interface DemoSummary {
  readonly seconds: number;
  readonly stages: readonly string[];
  readonly counters: Readonly<Record<string, number>>;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'qood-demo-'));
  const metrics = new Metrics();
  const stages: string[] = [];
  const startedMs = performance.now();
  const config = agentConfigSchema.parse({
    device: { vehicleId: 'demo-vehicle', dataDir: dir, socketPath: join(dir, 'agent.sock') },
  });
  const agent = await startAgent({ config, logger: silentLogger, notifier: noopNotifier, metrics });
  stages.push('agent');
  options.print(`agent up: vehicle ${config.device.vehicleId}, local API on ${config.device.socketPath}`);
  try {
    await waitFor(options.seconds, options.signal);
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    seconds: Math.round((performance.now() - startedMs) / 100) / 10,
    stages,
    counters: metrics.snapshot().counters,
  };
}

function waitFor(seconds: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = seconds === undefined ? undefined : setTimeout(done, seconds * 1000);
    if (signal?.aborted) done();
    signal?.addEventListener('abort', done);
  });
}
