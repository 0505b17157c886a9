import { z } from 'zod';
import { AppError } from '../shared/app-error.ts';
import { parseConfigSection } from '../config/section.ts';

/**
 * Segment rules (DOMAIN.md section 2), from the config file's `segments`
 * section. Every limit has a floor so a typo cannot make every client dormant.
 */
export interface SegmentSettings {
  /** Completed (non-cancelled) orders that make a client "old". */
  readonly oldAfterOrders: number;
  /** Trailing window for revenue tiers, in days. */
  readonly tierWindowDays: number;
  /** Cumulative share of ranked clients (by count) in each tier: key, major, normal; the rest are small. */
  readonly tierShares: { readonly key: number; readonly major: number; readonly normal: number };
  /** Dormant when days since the last order exceed median gap x factor. */
  readonly dormantFactor: number;
  /** The usual interval never counts as shorter than this (orders on the same day give a median of 0). */
  readonly dormantMinIntervalDays: number;
  /** A drop of more than this share of the usual amount or quantity is an anomaly. */
  readonly anomalyDropShare: number;
  /** A category bought in at least this share of earlier orders and missing from the new one is an anomaly. */
  readonly anomalyCategoryShare: number;
  /** Orders from which a client should be reachable in purchasing, technical and customs. */
  readonly breadthAfterOrders: number;
}

const share = z.number().gt(0).lt(1);
const schema = z
  .object({
    oldAfterOrders: z.number().int().min(1).max(100).default(2),
    tierWindowDays: z.number().int().min(30).max(3650).default(365),
    tierShares: z
      .object({ key: share.default(0.01), major: share.default(0.19), normal: share.default(0.3) })
      .default({ key: 0.01, major: 0.19, normal: 0.3 }),
    dormantFactor: z.number().min(1).max(20).default(2),
    dormantMinIntervalDays: z.number().int().min(1).max(3650).default(30),
    anomalyDropShare: z.number().min(0.01).max(0.99).default(0.2),
    anomalyCategoryShare: z.number().min(0.1).max(1).default(0.5),
    breadthAfterOrders: z.number().int().min(1).max(100).default(3),
  })
  .strict();

export const defaultSegmentSettings: SegmentSettings = Object.freeze(schema.parse({}));

export function parseSegmentSettings(raw: unknown): SegmentSettings {
  const s = parseConfigSection('segments', schema, raw);
  if (s.tierShares.key + s.tierShares.major + s.tierShares.normal >= 1) {
    throw new AppError('CONFIG_INVALID', 'config segments.tierShares: key + major + normal must leave a share for small clients (sum below 1)');
  }
  return Object.freeze(s);
}
