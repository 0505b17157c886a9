/** The metadata file of a template (meta.yaml) and the variables every template accepts. */
import { z } from 'zod';
import type { TemplateKind, VariableSpec, VariableType } from './types.ts';

export const TEMPLATE_KINDS = ['promotion', 'greeting', 'personal', 'vip', 'transactional', 'followup'] as const satisfies readonly TemplateKind[];
const VARIABLE_TYPES = ['string', 'number', 'date', 'boolean', 'url', 'email', 'array', 'object', 'money'] as const satisfies readonly VariableType[];

const variableSchema = z.object({
  type: z.enum(VARIABLE_TYPES),
  required: z.boolean().default(false),
  description: z.string().optional(),
  values: z.array(z.string()).optional(),
  /** With `values`: the variant a value outside them renders as (a holiday we have no card for gets the generic one). Without it, such a value is an error. */
  otherwise: z.string().optional(),
  /** Numbers: the smallest and largest allowed value; lists: the fewest and most items. */
  min: z.number().optional(),
  max: z.number().optional(),
})
  .refine((v) => v.otherwise === undefined || (v.values ?? []).includes(v.otherwise), { message: '"otherwise" must be one of "values"' })
  .refine((v) => (v.min === undefined && v.max === undefined) || v.type === 'number' || v.type === 'array', { message: 'min/max apply to number and array variables' });

export const metaSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case words joined by "-"'),
  purpose: z.string().min(10, 'say what the mail is for in a sentence'),
  kind: z.enum(TEMPLATE_KINDS),
  locales: z.array(z.string().min(2)).min(1),
  variables: z.record(z.string().regex(/^[A-Za-z_][\w]*(\[\])?(\.[A-Za-z_][\w]*(\[\])?)*$/, 'a dotted path, [] after arrays'), variableSchema).default({}),
  sample: z.record(z.string(), z.unknown()).default({}),
  samples: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});

export type TemplateMeta = z.infer<typeof metaSchema>;

/** Variables every template accepts (the contract with campaigns and outbound). */
export function commonVariables(kind: TemplateKind): VariableSpec[] {
  return [
    { path: 'contact', type: 'object', required: true, description: 'the recipient' },
    { path: 'contact.name', type: 'string', required: true, description: 'full name as the contact writes it' },
    { path: 'contact.title', type: 'string', required: false, description: 'Mr./Ms./Dr. or a role (总经理, Manager) for the salutation' },
    { path: 'contact.surname', type: 'string', required: false, description: 'family name, when it is not the last word (or first CJK character)' },
    { path: 'contact.language', type: 'string', required: false },
    { path: 'contact.timeZone', type: 'string', required: false, description: 'IANA zone for dates and the greeting' },
    { path: 'client', type: 'object', required: true },
    { path: 'client.name', type: 'string', required: true },
    { path: 'client.country', type: 'string', required: false, description: 'ISO alpha-2' },
    { path: 'client.timeZone', type: 'string', required: false },
    { path: 'sender', type: 'object', required: true, description: 'the person signing, and the company details for the signature' },
    { path: 'sender.name', type: 'string', required: true },
    { path: 'sender.title', type: 'string', required: false },
    { path: 'sender.company', type: 'string', required: true },
    { path: 'sender.website', type: 'url', required: true },
    { path: 'sender.email', type: 'email', required: true },
    { path: 'sender.phone', type: 'string', required: false },
    { path: 'sender.address', type: 'string', required: false },
    { path: 'sender.logoUrl', type: 'url', required: false },
    { path: 'unsubscribeUrl', type: 'url', required: kind === 'promotion', description: 'one-click unsubscribe link (promotional mail)' },
    { path: 'timeZone', type: 'string', required: false, description: 'overrides the contact/client zone' },
    { path: 'now', type: 'date', required: false, description: 'the send time, for the time-of-day greeting' },
    { path: 'recipient', type: 'string', required: false, description: 'who this is for, named in error messages (e.g. the address)' },
  ];
}

/** Template kinds whose mails are sent with an unsubscribe link (the outbox's promotional kinds). */
export const UNSUBSCRIBE_KINDS: ReadonlySet<string> = new Set(['promotion', 'greeting', 'vip']);

export const COMMON_ROOTS = new Set(['contact', 'client', 'sender', 'unsubscribeUrl', 'timeZone', 'now', 'recipient']);

export function declaredVariables(meta: TemplateMeta): VariableSpec[] {
  const own: VariableSpec[] = Object.entries(meta.variables).map(([path, v]) => ({
    path,
    type: v.type,
    required: v.required,
    ...(v.description === undefined ? {} : { description: v.description }),
    ...(v.values === undefined ? {} : { values: v.values }),
    ...(v.otherwise === undefined ? {} : { otherwise: v.otherwise }),
    ...(v.min === undefined ? {} : { min: v.min }),
    ...(v.max === undefined ? {} : { max: v.max }),
  }));
  const ownPaths = new Set(own.map((v) => v.path));
  return [...commonVariables(meta.kind).filter((c) => !ownPaths.has(c.path)), ...own];
}
