/**
 * The `collect` config section: collection schemes (which signals, how often, when) and how chunks
 * are cut. Each scheme feeds its own streams; a stream holds one data class and privacy level so a
 * chunk is sealed under one key and sold or withheld as a whole.
 */
import { z } from 'zod';
import { ConditionError, parseCondition } from '../collect/condition.js';

export const DATA_CLASSES = ['owner', 'oem', 'disputed'] as const;
export const PRIVACY_LEVELS = ['normal', 'private'] as const;

/** A dictionary path, or a prefix pattern `Vehicle.Powertrain.*`, or `*` for every signal. */
const pathPattern = z
  .string()
  .regex(
    /^(\*|[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9_]+)*(\.\*)?)$/,
    'a signal path (Vehicle.Speed), a prefix pattern (Vehicle.Powertrain.*) or *',
  );

const level = {
  /** 0 is the most important; the store evicts the highest numbers first. */
  priority: z.number().int().min(0).max(9).optional(),
  privacy: z.enum(PRIVACY_LEVELS).optional(),
  /** QoodShares class: whose data it is by the owner/OEM agreement. */
  class: z.enum(DATA_CLASSES).optional(),
};

const signalRule = z.union([pathPattern, z.object({ path: pathPattern, ...level }).strict()]);

export const schemeSchema = z
  .object({
    /** Stream name prefix; used in chunk headers and descriptors. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes (1-32)'),
    kind: z.enum(['periodic', 'on-change', 'window']),
    signals: z.array(signalRule).min(1),
    /** periodic: at most one sample per signal per period. window: optional downsampling. */
    periodMs: z.number().int().positive().optional(),
    /** on-change: a numeric change must exceed this to count. */
    deadband: z.number().nonnegative().default(0),
    /** on-change: send the value at least this often even if it did not change. */
    heartbeatMs: z.number().int().positive().optional(),
    /** window: the trigger condition over live signals. */
    when: z.string().min(1).optional(),
    beforeMs: z.number().int().nonnegative().default(10_000),
    afterMs: z.number().int().nonnegative().default(10_000),
    priority: z.number().int().min(0).max(9).default(5),
    privacy: z.enum(PRIVACY_LEVELS).default('normal'),
    class: z.enum(DATA_CLASSES).default('owner'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.kind === 'periodic' && s.periodMs === undefined)
      ctx.addIssue({ code: 'custom', path: ['periodMs'], message: 'a period in ms for a periodic scheme' });
    if (s.kind === 'window' && s.when === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['when'],
        message: 'a trigger condition such as "Vehicle.Speed > 120" for a window scheme',
      });
    if (s.when !== undefined) {
      try {
        parseCondition(s.when);
      } catch (err) {
        if (!(err instanceof ConditionError)) throw err;
        ctx.addIssue({ code: 'custom', path: ['when'], message: err.message });
      }
    }
  });

export const collectSchema = z
  .object({
    schemes: z.array(schemeSchema).min(1),
    chunk: z
      .object({
        /** A chunk closes when its first and newest samples are this far apart... */
        maxSpanMs: z.number().int().positive().default(60_000),
        /** ... or when it holds this many samples ... */
        maxSamples: z.number().int().positive().default(50_000),
        /** ... or when it has been open this long by the wall clock (a quiet stream still ships). */
        maxAgeMs: z.number().int().positive().default(120_000),
      })
      .strict()
      .default({ maxSpanMs: 60_000, maxSamples: 50_000, maxAgeMs: 120_000 }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.schemes.forEach((s, i) => {
      if (seen.has(s.name))
        ctx.addIssue({
          code: 'custom',
          path: ['schemes', i, 'name'],
          message: `a name not used before ('${s.name}' is)`,
        });
      seen.add(s.name);
    });
  });

export type SchemeConfig = z.infer<typeof schemeSchema>;
export type CollectConfig = z.infer<typeof collectSchema>;
export type DataClass = (typeof DATA_CLASSES)[number];
export type PrivacyLevel = (typeof PRIVACY_LEVELS)[number];

/** Without a `collect` section: every change of every signal, owner data, one stream. */
export const DEFAULT_COLLECT: CollectConfig = collectSchema.parse({
  schemes: [{ name: 'all', kind: 'on-change', signals: ['*'] }],
});
