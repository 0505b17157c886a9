import { z } from 'zod';
import { audienceFilterSchema, audienceNameSchema } from './audience-schema.ts';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'use YYYY-MM-DD').refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'not a real date');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:MM');
const data = z.record(z.string(), z.unknown());

/** The priority class of a mail: one budget per contact, in this order (personal first). */
export const PRIORITIES = ['personal', 'greeting', 'vip', 'promotion'] as const;
export type Priority = (typeof PRIORITIES)[number];

const common = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and -').max(60),
  title: z.string().min(1).optional(),
  /** A saved audience's name, or an inline filter. */
  audience: z.union([audienceNameSchema, audienceFilterSchema]),
  template: z.string().min(1).optional(),
  priority: z.enum(PRIORITIES).optional(),
  /** What to do with a mail over the contact's budget: wait for the next allowed day, or leave it out. */
  overBudget: z.enum(['defer', 'drop']).optional(),
  /** Sending account name; default the client's owner's mailbox. */
  account: z.string().min(1).optional(),
  sendWindow: z.object({ start: hhmm, end: hhmm, days: z.array(z.number().int().min(1).max(7)).min(1).optional() }).strict().optional(),
  data: data.optional(),
  paused: z.boolean().optional(),
  startsOn: isoDate.optional(),
  endsOn: isoDate.optional(),
};

export const oneOffSchema = z.object({ ...common, kind: z.literal('one-off'), on: isoDate }).strict();

export const recurringSchema = z.object({
  ...common,
  kind: z.literal('recurring'),
  every: z.enum(['month', 'quarter', 'half-year', 'year']),
  /** Day of the month (1-31; clipped to the month's last day). */
  day: z.number().int().min(1).max(31),
  /** For quarter/half-year/year: the first month of the cycle (1-12, default 1). */
  month: z.number().int().min(1).max(12).optional(),
  /** The template per month (1-12); else `template`, with the variable `month`. */
  templateByMonth: z.record(z.string().regex(/^(1[0-2]|[1-9])$/), z.string().min(1)).optional(),
  /** Fill the VIP summary's figures from the client's orders of the period before. */
  figures: z.boolean().optional(),
}).strict();

export const holidaySchema = z.object({
  ...common,
  kind: z.literal('holiday'),
  /** Holidays sent when the client's own country keeps them (catalogue keys or date-holidays names). */
  holidays: z.array(z.string().min(1)).default([]),
  /** Our holidays, sent to every client whatever its country (e.g. spring-festival). */
  ours: z.array(z.string().min(1)).default([]),
  /** Days before the holiday the card is sent, so it arrives in time. */
  daysBefore: z.number().int().min(0).max(30).default(2),
  /** A template per holiday (catalogue key or holiday name as listed); else `template`, with the variable `holiday`. */
  templateByHoliday: z.record(z.string().min(1), z.string().min(1)).optional(),
}).strict();

export const personalSchema = z.object({
  ...common,
  kind: z.literal('personal'),
  events: z.array(z.enum(['birthday', 'wedding', 'new_child', 'child_school', 'promotion', 'other'])).min(1).default(['birthday']),
  daysBefore: z.number().int().min(0).max(30).default(0),
}).strict();

export const sequenceStepSchema = z.object({
  afterDays: z.number().int().min(0).max(365),
  template: z.string().min(1).optional(),
  data: data.optional(),
}).strict();

export const sequenceSchema = z.object({
  ...common,
  kind: z.literal('sequence'),
  trigger: z.enum(['inquiry', 'quotation', 'dormant', 'order-status']),
  /** For order-status: the statuses that send a note. */
  statuses: z.array(z.enum(['in_production', 'shipped', 'in_transit', 'customs', 'in_warehouse', 'selling', 'remaining_stock'])).optional(),
  steps: z.array(sequenceStepSchema).min(1).max(12),
  stopOn: z.array(z.enum(['reply', 'order', 'unsubscribe'])).default(['reply', 'order', 'unsubscribe']),
  /** Triggers older than this many days are not enrolled. */
  lookbackDays: z.number().int().min(1).max(365).default(30),
}).strict();

export const campaignSchema = z.discriminatedUnion('kind', [oneOffSchema, recurringSchema, holidaySchema, personalSchema, sequenceSchema]);

export type CampaignDefinition = z.infer<typeof campaignSchema>;
export type OneOffCampaign = z.infer<typeof oneOffSchema>;
export type RecurringCampaign = z.infer<typeof recurringSchema>;
export type HolidayCampaign = z.infer<typeof holidaySchema>;
export type PersonalCampaign = z.infer<typeof personalSchema>;
export type SequenceCampaign = z.infer<typeof sequenceSchema>;
export type CampaignKind = CampaignDefinition['kind'];

/** The priority class a campaign's mails carry, from its kind unless set. */
export function campaignPriority(c: CampaignDefinition): Priority {
  if (c.priority) return c.priority;
  switch (c.kind) {
    case 'one-off': return 'promotion';
    case 'recurring': return c.every === 'month' ? 'greeting' : 'vip';
    case 'holiday': return 'greeting';
    case 'personal': return 'personal';
    case 'sequence': return c.trigger === 'dormant' ? 'promotion' : 'personal';
  }
}

/** What happens when over budget: promotions wait by default, dated greetings are dropped rather than sent late. */
export function campaignOverBudget(c: CampaignDefinition): 'defer' | 'drop' {
  if (c.overBudget) return c.overBudget;
  const p = campaignPriority(c);
  return p === 'promotion' || p === 'vip' || c.kind === 'sequence' ? 'defer' : 'drop';
}

/** The outbox kind of a priority class. */
export function outboxKind(p: Priority): 'promotion' | 'greeting' | 'vip' | 'personal' {
  return p;
}
