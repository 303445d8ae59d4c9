/** `qood config check FILE`: validates an agent or node config exactly as start-up does. */
import type { Command } from 'commander';
import { type AgentConfig, agentConfigSchema } from '../../agent/config/index.js';
import { type NodeConfig, nodeConfigSchema } from '../../chain/node/config.js';
import { type ConfigProblem, formatProblem, loadConfigFile } from '../config-file.js';
import { CliExit, EXIT } from '../exit-codes.js';

export type ConfigKind = 'agent' | 'node';

/** Loads and validates a config of `kind`, or throws CliExit(2) listing every problem on stderr. */
export function loadAgentConfig(file: string): AgentConfig {
  const r = loadConfigFile(file, agentConfigSchema);
  if (!r.ok) throw new CliExit(EXIT.usage, describeProblems(file, r.problems));
  return r.config;
}

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

/** Guesses the kind from the top-level sections: a node config has `node:`, an agent config `device:`. */
async function guessKind(file: string): Promise<ConfigKind> {
  const { readFileSync } = await import('node:fs');
  try {
    return /^node\s*:/m.test(readFileSync(file, 'utf8')) ? 'node' : 'agent';
  } catch {
    return 'agent';
  }
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('check configuration files');
  config
    .command('check')
    .description('validate an agent or node config file as start-up does (exit 2 if invalid)')
    .argument('<file>', 'YAML config file')
    .option('--kind <kind>', 'agent or node (default: guessed from the top-level sections)')
    .action(async (file: string, opts: { kind?: string }) => {
      const kind = (opts.kind ?? (await guessKind(file))) as string;
      if (kind !== 'agent' && kind !== 'node')
        throw new CliExit(EXIT.usage, `--kind: expected agent or node, got '${kind}'`);
      if (kind === 'agent') loadAgentConfig(file);
      else loadNodeConfig(file);
      process.stdout.write(`${file}: valid ${kind} config\n`);
    });
}
