/**
 * The agent's configuration file (`/etc/qood/agent.yaml`). Each section lives beside the code that
 * uses it; this file composes them and checks the rules between sections (`crossSectionRules`), so
 * `qood config check` refuses a file the agent could not start with. Unknown fields are errors, so
 * a misspelt key is caught at start instead of being silently ignored.
 */
import { z } from 'zod';
import { chainSchema } from './chain.js';
import { collectSchema } from './collect.js';
import { logLevel, topicSafeId } from './common.js';
import { permissionsSchema } from './permissions.js';
import { sourcesSchema } from './sources.js';
import { storageSchema, syncSchema } from './storage-sync.js';

const agentSections = z
  .object({
    device: z
      .object({
        /** Vehicle id used in MQTT topics (`qood/v1/<vehicleId>/...`) and descriptors. */
        vehicleId: topicSafeId,
        /** Where the store, keys and state live. */
        dataDir: z.string().min(1).default('/var/lib/qood'),
        /** Local owner API socket (root or the owner group only). */
        socketPath: z.string().min(1).default('/run/qood/agent.sock'),
        /** Group allowed to open the local socket besides root. */
        ownerGroup: z.string().min(1).optional(),
      })
      .strict(),
    log: z
      .object({ level: logLevel.default('info') })
      .strict()
      .default({ level: 'info' }),
    sources: sourcesSchema.default({ can: [] }),
    /** The store of sealed chunks; opened when this section or `sync` is present. */
    storage: storageSchema.optional(),
    /** Sync of stored chunks to the TSP's broker; absent: chunks stay on the device. */
    sync: syncSchema.optional(),
    /** The light client: follow finality from the broker; apply proven grant records. */
    chain: chainSchema.optional(),
    /** Collection schemes and chunk limits; absent: every change of every signal, one stream. */
    collect: collectSchema.optional(),
    /** Listener and control APIs; absent: nothing is granted. */
    permissions: permissionsSchema.optional(),
  })
  .strict();

/** The whole file: every section, then the rules between them. */
export const agentConfigSchema = agentSections.superRefine(crossSectionRules);

export type AgentConfig = z.infer<typeof agentConfigSchema>;

/**
 * Rules between sections, each reported at the field to change with the fix. They run once every
 * section is valid on its own (zod skips refinements of an object with problems inside).
 */
function crossSectionRules(c: z.infer<typeof agentSections>, ctx: z.RefinementCtx): void {
  const hasStore = c.storage !== undefined || c.sync !== undefined;
  if (c.permissions !== undefined && !hasStore)
    ctx.addIssue({
      code: 'custom',
      path: ['permissions'],
      message:
        'a `storage` (or `sync`) section beside it: grants and the audit are kept in the store; add one, or remove `permissions`',
    });
  const p = c.permissions;
  if (p?.profile !== undefined && p.interface === undefined && c.sources.can.length === 0)
    ctx.addIssue({
      code: 'custom',
      path: ['permissions', 'profile'],
      message:
        'a CAN interface to write its commands on: set permissions.interface, or add a sources.can entry',
    });
  if (c.chain !== undefined && c.sync === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['chain'],
      message:
        'a `sync` section beside it: finality updates come from the broker; add one, or remove `chain`',
    });
}
