/**
 * The agent's wiring: given a validated config and the process services (logger, service manager),
 * starts the local API and the data path, tells the service manager when it is ready and feeds its
 * watchdog while the event loop runs. `stop()` undoes everything in reverse order.
 */
import type { AgentConfig } from './config/index.js';
import { type LocalApiServer, type LocalMethod, startLocalApi } from './local-api/server.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import type { ServiceNotifier } from './service.js';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly logger: Logger;
  readonly notifier: ServiceNotifier;
  readonly metrics?: Metrics;
  /** Numeric gid for the local socket, resolved from `device.ownerGroup` by the caller. */
  readonly ownerGid?: number;
}

/** A running agent. */
export interface RunningAgent {
  readonly metrics: Metrics;
  stop(): Promise<void>;
}

/** The counters every agent reports, present from start so `qood status` shows them at 0. */
export const AGENT_COUNTERS = [
  'frames.in',
  'frames.errors',
  'samples.out',
  'chunks.stored',
  'sync.bytes',
] as const;

/** Starts the agent. Rejects if the local socket cannot be opened. */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { config, logger, notifier } = options;
  const metrics = options.metrics ?? new Metrics();
  metrics.declare(...AGENT_COUNTERS);
  const stops: (() => Promise<void> | void)[] = [];

  const methods: Record<string, LocalMethod> = {
    status: () => ({ role: 'agent', vehicleId: config.device.vehicleId, ...metrics.snapshot() }),
  };
  const api: LocalApiServer = await startLocalApi({
    socketPath: config.device.socketPath,
    methods,
    ...(options.ownerGid === undefined ? {} : { ownerGid: options.ownerGid }),
  });
  stops.push(() => api.close());
  logger.info({ socket: api.socketPath }, 'local API listening');

  if (notifier.watchdogIntervalMs !== undefined) {
    const timer = setInterval(() => notifier.watchdog(), notifier.watchdogIntervalMs);
    timer.unref();
    stops.push(() => clearInterval(timer));
  }
  notifier.ready();
  notifier.status(`running; vehicle ${config.device.vehicleId}`);
  logger.info({ vehicleId: config.device.vehicleId }, 'agent ready');

  return {
    metrics,
    async stop() {
      notifier.stopping();
      for (const stop of stops.reverse()) await stop();
      logger.info({}, 'agent stopped');
    },
  };
}
