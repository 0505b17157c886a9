import { z } from 'zod';
import { IANAZone } from 'luxon';
import { AppError } from '../shared/app-error.ts';
import { parseConfigSection } from '../config/section.ts';

/** Per-tier hours; `none` is for prospects and unlinked senders. */
const tierHours = (d: { key: number; major: number; normal: number; small: number; none: number }, floor: number) =>
  z
    .object({
      key: z.number().min(floor).default(d.key),
      major: z.number().min(floor).default(d.major),
      normal: z.number().min(floor).default(d.normal),
      small: z.number().min(floor).default(d.small),
      none: z.number().min(floor).default(d.none),
    })
    .prefault({});

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:mm');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'use YYYY-MM-DD');

const schema = z
  .object({
    /** Our company names and products: mentioning them is a one-to-one signal. */
    company: z
      .object({ names: z.array(z.string().min(2)).default([]), products: z.array(z.string().min(2)).default([]) })
      .prefault({}),
    /** Extra addresses or domains that are "us" (besides the configured mail accounts). */
    us: z.array(z.string().min(3)).default([]),
    /** Extra marketplace relay domains (beside the built-in list). */
    relayDomains: z.array(z.string().min(3)).default([]),
    calendar: z
      .object({
        zone: z.string().default('Asia/Shanghai'),
        /** ISO country for public holidays (date-holidays); '' for none. */
        country: z.string().default('CN'),
        region: z.string().optional(),
        start: hhmm.default('09:00'),
        end: hhmm.default('18:00'),
        /** ISO weekdays, Monday = 1. */
        workdays: z.array(z.number().int().min(1).max(7)).min(1).default([1, 2, 3, 4, 5]),
        /** Extra days off (company holidays, the longer official breaks). */
        holidays: z.array(isoDate).default([]),
        /** Extra working days (China's make-up days on a weekend). */
        workingDays: z.array(isoDate).default([]),
      })
      .prefault({}),
    rules: z
      .object({
        /** Urgency at or above this -> phone. */
        phoneThreshold: z.number().int().min(1).max(100).default(70),
        phoneHours: z.number().min(0.25).default(1),
        oneToOneHours: tierHours({ key: 6, major: 6, normal: 12, small: 12, none: 12 }, 0.5),
        massHours: z.number().min(1).default(24),
        /** Complaint plan within N working days (24-72 h), tighter for key clients. */
        complaintPlanDays: tierHours({ key: 1, major: 2, normal: 3, small: 3, none: 3 }, 0.5),
        /** Below this many working hours left in the day, the acknowledgement moves to the next working day. */
        ackMinHours: z.number().min(0).default(1),
        /** Mass messages never go to phone. */
        massNeverPhone: z.boolean().default(true),
      })
      .prefault({}),
    alerts: z
      .object({
        /** Alert when a target is due within this many minutes. */
        dueSoonMinutes: z.number().int().min(5).default(60),
        webhookUrl: z.string().url().optional(),
      })
      .prefault({}),
  })
  .prefault({});

export type TriageSettings = z.infer<typeof schema>;

/** Validates the `triage` section of the config file, with defaults and floors. */
export function parseTriageSettings(raw: unknown): TriageSettings {
  const s = parseConfigSection('triage', schema, raw);
  if (!IANAZone.isValidZone(s.calendar.zone)) throw new AppError('CONFIG_INVALID', `config triage.calendar.zone: "${s.calendar.zone}" is not an IANA time zone`);
  if (s.calendar.start >= s.calendar.end) throw new AppError('CONFIG_INVALID', `config triage.calendar: start ${s.calendar.start} must be before end ${s.calendar.end}`);
  return s;
}

export const defaultTriageSettings: TriageSettings = parseTriageSettings({});
