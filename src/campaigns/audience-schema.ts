import { z } from 'zod';

/**
 * A saved, named filter over the client book. Every field narrows the set;
 * lists match any of their values. Members are contacts (with their client).
 */
export const audienceFilterSchema = z.object({
  tiers: z.array(z.enum(['key', 'major', 'normal', 'small'])).min(1).optional(),
  age: z.enum(['old', 'new']).optional(),
  dormant: z.boolean().optional(),
  statuses: z.array(z.enum(['prospect', 'active', 'inactive', 'lost'])).min(1).optional(),
  segments: z.array(z.string().min(1)).min(1).optional(),
  relationshipLevels: z.array(z.enum(['acquaintance', 'engaged', 'partner', 'ally'])).min(1).optional(),
  countries: z.array(z.string().regex(/^[A-Za-z]{2}$/, 'use ISO alpha-2 codes').transform((s) => s.toUpperCase())).min(1).optional(),
  regions: z.array(z.string().min(1)).min(1).optional(),
  languages: z.array(z.string().min(2)).min(1).optional(),
  tags: z.array(z.string().min(1)).min(1).optional(),
  productInterests: z.array(z.string().min(1)).min(1).optional(),
  owners: z.array(z.string().min(1)).min(1).optional(),
  hasOpenInquiry: z.boolean().optional(),
  orderedProduct: z.object({ product: z.string().min(1), withinMonths: z.number().int().min(1).max(120) }).strict().optional(),
  departments: z.array(z.enum(['purchasing', 'technical', 'customs', 'sales', 'warehouse', 'management', 'other'])).min(1).optional(),
  clientIds: z.array(z.number().int().positive()).min(1).optional(),
  /** One contact per client (the primary: management > purchasing > others, then lowest id) instead of all. */
  onePerClient: z.boolean().optional(),
}).strict();

export type AudienceFilter = z.infer<typeof audienceFilterSchema>;

export const audienceNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and -');
