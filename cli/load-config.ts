/** Loads the agent's or the node's config file, or ends the process with exit 2 and every problem listed. */
import { type AgentConfig, agentConfigSchema } from '../agent/config/index.js';
import { type ConfigProblem, formatProblem, loadConfigFile } from '../agent/config/yaml-file.js';
import { type NodeConfig, nodeConfigSchema } from '../node/config.js';
import { CliExit, EXIT } from './exit-codes.js';

/** The agent config in `file`, or CliExit(2) naming each problem. */
export function loadAgentConfig(file: string): AgentConfig {
  const r = loadConfigFile(file, agentConfigSchema);
  if (!r.ok) throw new CliExit(EXIT.usage, describeProblems(file, r.problems));
  return r.config;
}

/** The node config in `file`, or CliExit(2) naming each problem. */
export function loadNodeConfig(file: string): NodeConfig {
  const r = loadConfigFile(file, nodeConfigSchema);
  if (!r.ok) throw new CliExit(EXIT.usage, describeProblems(file, r.problems));
  return r.config;
}

function describeProblems(file: string, problems: readonly ConfigProblem[]): string {
  const n = problems.length;
  return [
    `${file}: ${n} problem${n === 1 ? '' : 's'}:`,
    ...problems.map((p) => `  ${formatProblem(p)}`),
  ].join('\n');
}
