/** `qood config check FILE`: validates an agent or node config exactly as start-up does. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliExit, EXIT } from '../exit-codes.js';

/** Guesses the kind from the top-level sections: a node config has `node:`, an agent config `device:`. */
function guessKind(file: string): 'agent' | 'node' {
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
      const kind = opts.kind ?? guessKind(file);
      if (kind !== 'agent' && kind !== 'node')
        throw new CliExit(EXIT.usage, `--kind: expected agent or node, got '${kind}'`);
      const { loadAgentConfig, loadNodeConfig } = await import('../load-config.js');
      if (kind === 'agent') loadAgentConfig(file);
      else loadNodeConfig(file);
      process.stdout.write(`${file}: valid ${kind} config\n`);
    });
}
