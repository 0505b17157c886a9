import { z } from 'zod';
import type { MailKind } from '../db/tables/outbound.ts';
import { AppError } from '../shared/app-error.ts';
import { parseConfigSection } from '../config/section.ts';

/**
 * The `outbound:` section of the config file, validated with defaults and
 * floors. Every limit is a sliding window counted in the database.
 */

const limit = z.number().int().min(1).nullable();

const accountLimitsSchema = z.object({
  perSecond: limit.optional(),
  perMinute: limit.optional(),
  perHour: limit.optional(),
  perDay: limit.optional(),
});

const warmupSchema = z.object({
  /** Mails on the first day of a new account. */
  startPerDay: z.number().int().min(1).default(20),
  /** Daily growth factor until perDay is reached. */
  growth: z.number().min(1.05).max(10).default(1.5),
});

const dkimSchema = z.object({
  domainName: z.string().min(1),
  keySelector: z.string().min(1),
  /** PEM file of the private key (kept out of the database and the config text). */
  privateKeyFile: z.string().min(1),
});

const accountSchema = accountLimitsSchema.extend({
  warmup: z.union([z.boolean(), warmupSchema]).optional(),
  dkim: dkimSchema.optional(),
  fromName: z.string().min(1).optional(),
  maxConnections: z.number().int().min(1).max(50).optional(),
});

const windowSchema = z
  .object({
    /** ISO weekdays, 1 = Monday ... 7 = Sunday. */
    days: z.array(z.number().int().min(1).max(7)).min(1).default([1, 2, 3, 4, 5]),
    /** Local hours in the recipient's zone, "HH:MM-HH:MM" (start before end). */
    hours: z.string().regex(/^\d{2}:\d{2}-\d{2}:\d{2}$/, 'use HH:MM-HH:MM').default('09:00-17:00'),
  })
  .nullable();

const budgetSchema = z.object({
  /** Minimum days between two mails of this budget to one contact (0 = none). */
  minGapDays: z.number().min(0).max(365).default(0),
  /** At most this many in any 30 days (null = no cap). */
  perMonth: z.number().int().min(1).nullable().default(null),
});

const settingsSchema = z.object({
  /** Turns every throttle and window off (benchmarks, tests). */
  throttles: z.boolean().default(true),
  leaseSeconds: z.number().int().min(30).default(300),
  claimBatch: z.number().int().min(1).max(500).default(20),
  pollMs: z.number().int().min(50).default(1000),
  /** How long after a lease expiry the Sent folder must have been synced before "absent" means "not sent". */
  uncertainGraceSeconds: z.number().int().min(0).default(120),
  /** How often `send run` reads the bounce reports (DSNs) synced into the mailbox; 0 = never (use `send bounces`). */
  bounceCheckSeconds: z.number().int().min(0).default(60),
  publicUrl: z.string().url().optional(),
  unsubscribeMailto: z.string().email().optional(),
  jitter: z.object({ minMs: z.number().int().min(0).default(0), maxMs: z.number().int().min(0).default(0), seed: z.string().default('rapport') }).default({ minMs: 0, maxMs: 0, seed: 'rapport' }),
  retry: z
    .object({ baseSeconds: z.number().min(1).default(60), maxSeconds: z.number().min(1).default(3600), maxAttempts: z.number().int().min(1).max(50).default(8) })
    .default({ baseSeconds: 60, maxSeconds: 3600, maxAttempts: 8 }),
  pause: z
    .object({ bounceRun: z.number().int().min(2).default(5), authFailures: z.number().int().min(1).default(3) })
    .default({ bounceRun: 5, authFailures: 3 }),
  defaults: accountLimitsSchema.default({}),
  accounts: z.record(z.string(), accountSchema).default({}),
  domains: z
    .object({
      perMinute: limit.default(10),
      perHour: limit.default(100),
      /** Freemail providers (gmail.com, qq.com ...) host many unrelated people: a wider limit. */
      freemailPerMinute: limit.default(60),
      freemailPerHour: limit.default(1000),
    })
    .default({ perMinute: 10, perHour: 100, freemailPerMinute: 60, freemailPerHour: 1000 }),
  contacts: z
    .object({
      promotion: budgetSchema.default({ minGapDays: 14, perMonth: 2 }),
      greeting: budgetSchema.default({ minGapDays: 0, perMonth: 4 }),
      vip: budgetSchema.default({ minGapDays: 20, perMonth: 1 }),
    })
    .default({ promotion: { minGapDays: 14, perMonth: 2 }, greeting: { minGapDays: 0, perMonth: 4 }, vip: { minGapDays: 20, perMonth: 1 } }),
  windows: z
    .object({
      promotion: windowSchema.default({ days: [2, 3, 4], hours: '09:00-11:00' }),
      greeting: windowSchema.default({ days: [1, 2, 3, 4, 5, 6, 7], hours: '08:00-20:00' }),
      vip: windowSchema.default({ days: [1, 2, 3, 4, 5], hours: '09:00-17:00' }),
      personal: windowSchema.default(null),
      reply: windowSchema.default(null),
      transactional: windowSchema.default(null),
    })
    .default({
      promotion: { days: [2, 3, 4], hours: '09:00-11:00' },
      greeting: { days: [1, 2, 3, 4, 5, 6, 7], hours: '08:00-20:00' },
      vip: { days: [1, 2, 3, 4, 5], hours: '09:00-17:00' },
      personal: null,
      reply: null,
      transactional: null,
    }),
  /** Zone for recipients whose contact, client and country give none. */
  defaultTimeZone: z.string().default('UTC'),
});

export type OutboundSettings = z.infer<typeof settingsSchema>;
export type AccountConfig = z.infer<typeof accountSchema>;
export type SendWindow = NonNullable<z.infer<typeof windowSchema>>;
export type BudgetRule = z.infer<typeof budgetSchema>;

export function parseOutboundSettings(raw: unknown): OutboundSettings {
  const s = parseConfigSection('outbound', settingsSchema, raw);
  for (const [kind, w] of Object.entries(s.windows)) {
    if (!w) continue;
    const [a, b] = w.hours.split('-');
    if (!a || !b || a >= b || b > '24:00') throw new AppError('CONFIG_INVALID', `config outbound.windows.${kind}.hours: ${w.hours} must be a start before an end within one day`);
  }
  if (s.jitter.maxMs < s.jitter.minMs) throw new AppError('CONFIG_INVALID', 'config outbound.jitter.maxMs: must be at least minMs');
  try {
    new Intl.DateTimeFormat('en', { timeZone: s.defaultTimeZone });
  } catch {
    throw new AppError('CONFIG_INVALID', `config outbound.defaultTimeZone: ${s.defaultTimeZone} is not an IANA time zone`);
  }
  return s;
}

/** The contact budget a kind of mail draws from (personal notes, replies and transactional mail are not capped). */
export function budgetOf(kind: MailKind): 'promotion' | 'greeting' | 'vip' | 'other' {
  return kind === 'promotion' || kind === 'greeting' || kind === 'vip' ? kind : 'other';
}

export interface AccountLimits {
  readonly perSecond: number | null;
  readonly perMinute: number | null;
  readonly perHour: number | null;
  readonly perDay: number | null;
}

/** Defaults that fit common providers, by SMTP host (a config value overrides). */
export function providerDefaults(smtpHost: string | null | undefined): AccountLimits {
  const h = (smtpHost ?? '').toLowerCase();
  if (h.endsWith('gmail.com') || h.endsWith('googlemail.com')) return { perSecond: null, perMinute: 20, perHour: 100, perDay: 500 };
  if (h.includes('office365') || h.includes('outlook') || h.includes('hotmail')) return { perSecond: null, perMinute: 30, perHour: 300, perDay: 300 };
  if (h.includes('exmail.qq') || h.includes('qq.com')) return { perSecond: null, perMinute: 20, perHour: 200, perDay: 1000 };
  if (h.includes('aliyun') || h.includes('163.com') || h.includes('126.com')) return { perSecond: null, perMinute: 20, perHour: 200, perDay: 500 };
  return { perSecond: null, perMinute: 30, perHour: 300, perDay: 1000 };
}

/** The limits for one account: provider defaults < config defaults < config account < database overrides. */
export function accountLimits(settings: OutboundSettings, accountName: string, smtpHost: string | null, overrides: Readonly<Record<string, number | null>> | null): AccountLimits {
  const base = providerDefaults(smtpHost);
  const layers = [settings.defaults, settings.accounts[accountName] ?? {}, overrides ?? {}] as ReadonlyArray<Partial<Record<keyof AccountLimits, number | null | undefined>>>;
  const pick = (k: keyof AccountLimits): number | null => {
    let v: number | null = base[k];
    for (const l of layers) if (l[k] !== undefined) v = l[k] ?? null;
    return v;
  };
  return { perSecond: pick('perSecond'), perMinute: pick('perMinute'), perHour: pick('perHour'), perDay: pick('perDay') };
}
