/**
 * Every `qood` subcommand, registered in the order `qood --help` lists them. Each command lives in
 * its own file here and is added with one line.
 */
import type { Command } from 'commander';
import { registerAgent } from './agent.js';
import { registerCan } from './can.js';
import { registerConfig } from './config.js';
import { registerDemo } from './demo.js';
import { registerDevnet } from './devnet.js';
import { registerFleet } from './fleet.js';
import { registerGnss } from './gnss.js';
import { registerGrants } from './grants.js';
import { registerInit } from './init.js';
import { registerKeys } from './keys.js';
import { registerMarket } from './market.js';
import { registerNode } from './node.js';
import { registerObd } from './obd.js';
import { registerOwner } from './owner.js';
import { registerStatus } from './status.js';
import { registerVerify } from './verify.js';

export function registerCommands(program: Command): void {
  registerDemo(program);
  registerInit(program);
  registerAgent(program);
  registerNode(program);
  registerStatus(program);
  registerCan(program);
  registerObd(program);
  registerKeys(program);
  registerGrants(program);
  registerVerify(program);
  registerMarket(program);
  registerOwner(program);
  registerGnss(program);
  registerConfig(program);
  registerDevnet(program);
  registerFleet(program);
}
