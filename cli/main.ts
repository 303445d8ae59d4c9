#!/usr/bin/env node
/**
 * `qood`: the one executable. Parses the command line, runs a subcommand, and maps failures to exit
 * codes (1 runtime, 2 usage or config) with the message on stderr and no stack trace for expected
 * errors.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { CliExit, EXIT } from './exit-codes.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

// A reader that stops early (`qood can decode ... | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command('qood')
  .description('QoodBlock Edge: vehicle edge agent and light DPoS chain')
  .version(pkg.version)
  .showHelpAfterError('(run qood --help for usage)')
  .exitOverride();
registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof CliExit) {
    if (err.message !== '') process.stderr.write(`${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`qood: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.failure;
  }
}
