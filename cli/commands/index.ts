/**
 * Every `qood` subcommand, registered in the order `qood --help` lists them. Each command lives in
 * its own file here and is added with one line.
 */
import type { Command } from 'commander';
import { registerAgent } from './agent.js';
import { registerCan } from './can.js';
import { registerConfig } from './config.js';
import { registerDemo } from './demo.js';
import { registerGnss } from './gnss.js';
import { registerNode } from './node.js';
import { registerStatus } from './status.js';

export function registerCommands(program: Command): void {
  registerDemo(program);
  registerAgent(program);
  registerNode(program);
  registerStatus(program);
  registerCan(program);
  registerGnss(program);
  registerConfig(program);
}
