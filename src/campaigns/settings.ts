import { z } from 'zod';
import { AppError } from '../shared/app-error.ts';

/** A local send window: hours in the recipient's own zone, and the weekdays allowed (1 = Monday ... 7 = Sunday). */
export interface SendWindow {
  readonly start: string;
  readonly end: string;
  readonly days: readonly number[];
}

/** A period around a holiday in which no promotion reaches a recipient whose country keeps it. */
export interface QuietHoliday {
  readonly holiday: string;
  readonly daysBefore: number;
  readonly daysAfter: number;
}

export interface CampaignSettings {
  /** How far ahead the planner writes outbox rows (days). */
  readonly horizonDays: number;
  /** Minimum days between two promotions to one contact. */
  readonly promotionGapDays: number;
  /** Campaign mails one contact may get on one local day (across all campaigns). */
  readonly maxPerContactPerDay: number;
  readonly sendWindow: SendWindow;
  readonly defaultLocale: string;
  /** Our own country (ISO alpha-2): the country of "ours" holidays such as Spring Festival. */
  readonly ourCountry: string;
  readonly quietHolidays: readonly QuietHoliday[];
  /** A reply within this many days in the thread of a campaign mail counts for that campaign. */
  readonly replyWindowDays: number;
  /** How long after its planned day a greeting may still go out (days). */
  readonly greetingGraceDays: number;
  /** Account name used when a client has no owner with a mailbox and the campaign names none. */
  readonly defaultAccount: string | undefined;
  /** The signature every template's `sender` gets (the owner's name and mailbox are added per mail). */
  readonly sender: { readonly company: string; readonly website: string; readonly phone?: string | undefined; readonly address?: string | undefined };
}

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:MM');

const windowSchema = z.object({
  start: hhmm.default('09:00'),
  end: hhmm.default('11:00'),
  days: z.array(z.number().int().min(1).max(7)).min(1).default([1, 2, 3, 4, 5]),
}).refine((w) => w.start < w.end, { message: 'start must be before end' });

export const DEFAULT_QUIET_HOLIDAYS: readonly QuietHoliday[] = [
  { holiday: 'spring-festival', daysBefore: 1, daysAfter: 6 },
  { holiday: 'golden-week', daysBefore: 0, daysAfter: 6 },
  { holiday: 'eid-al-fitr', daysBefore: 1, daysAfter: 3 },
  { holiday: 'eid-al-adha', daysBefore: 1, daysAfter: 3 },
  { holiday: 'christmas', daysBefore: 1, daysAfter: 7 },
];

const settingsSchema = z.object({
  horizonDays: z.number().int().min(1).max(92).default(7),
  promotionGapDays: z.number().int().min(1).max(365).default(14),
  maxPerContactPerDay: z.number().int().min(1).max(10).default(1),
  sendWindow: windowSchema.default({ start: '09:00', end: '11:00', days: [1, 2, 3, 4, 5] }),
  defaultLocale: z.string().min(2).default('en'),
  ourCountry: z.string().regex(/^[A-Za-z]{2}$/).transform((s) => s.toUpperCase()).default('CN'),
  quietHolidays: z.array(z.object({
    holiday: z.string().min(1),
    daysBefore: z.number().int().min(0).max(30).default(0),
    daysAfter: z.number().int().min(0).max(30).default(0),
  })).default([...DEFAULT_QUIET_HOLIDAYS]),
  replyWindowDays: z.number().int().min(1).max(365).default(14),
  greetingGraceDays: z.number().int().min(0).max(30).default(2),
  defaultAccount: z.string().min(1).optional(),
  sender: z.object({
    company: z.string().min(1).default('Our company'),
    website: z.string().min(1).default('https://example.com'),
    phone: z.string().optional(),
    address: z.string().optional(),
  }).strict().default({ company: 'Our company', website: 'https://example.com' }),
}).strict();

/** Validates the `campaigns` section of the config file (defaults and floors included). */
export function parseCampaignSettings(raw: unknown): CampaignSettings {
  const parsed = settingsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('CONFIG_INVALID', `config campaigns.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return { ...parsed.data, defaultAccount: parsed.data.defaultAccount };
}

export const defaultCampaignSettings: CampaignSettings = parseCampaignSettings({});
