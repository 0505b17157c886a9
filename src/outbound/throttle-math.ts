/**
 * Pure throttle arithmetic. A slot (one send attempt) counts in a sliding
 * window of length W from the moment it is reserved until W after it
 * finished: so no interval of length W, measured anywhere between reservation
 * and the server's answer, ever holds more than the limit.
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export interface WindowRule {
  readonly name: string;
  readonly windowMs: number;
  readonly limit: number;
}

/** When the slot stops counting in a window of length windowMs (Infinity while in flight). */
export function slotExpiry(finishedAt: Date | null, windowMs: number): number {
  return finishedAt ? finishedAt.getTime() + windowMs : Number.POSITIVE_INFINITY;
}

/**
 * Given the slots still counting (their finish times, null = in flight), the
 * earliest time a new slot fits under `rule`, or `now` when it fits already.
 * `inFlightRetryMs` is used when only in-flight slots block.
 */
export function nextFreeAt(now: number, finishes: ReadonlyArray<Date | null>, rule: WindowRule, inFlightRetryMs = 250): number {
  const expiries = finishes.map((f) => slotExpiry(f, rule.windowMs)).filter((e) => e > now).sort((a, b) => a - b);
  if (expiries.length < rule.limit) return now;
  const blocking = expiries[expiries.length - rule.limit];
  return blocking === undefined || !Number.isFinite(blocking) ? now + inFlightRetryMs : blocking;
}

/** The daily limit of an account on its warm-up ramp, `days` whole days after the ramp started. */
export function warmupLimit(perDay: number | null, startPerDay: number, growth: number, days: number): number | null {
  const ramp = Math.floor(startPerDay * Math.pow(growth, Math.max(0, days)));
  return perDay === null ? (ramp > 1e9 ? null : ramp) : Math.min(perDay, ramp);
}

/** Exponential backoff for a temporary failure, capped, with a deterministic spread. */
export function backoffMs(attempt: number, baseSeconds: number, maxSeconds: number, spread: number): number {
  const raw = baseSeconds * 1000 * Math.pow(2, Math.max(0, attempt - 1));
  const capped = Math.min(raw, maxSeconds * 1000);
  return Math.round(capped * (0.8 + 0.4 * spread));
}

/**
 * When a contact may next receive a mail of a budget, given the times of the
 * mails of that budget it already got or has planned: at least minGapDays
 * from any of them, and at most perMonth in any 30 days.
 */
export function nextContactSlot(at: number, times: readonly number[], minGapDays: number, perMonth: number | null): number {
  const gap = minGapDays * DAY;
  const sorted = [...times].sort((a, b) => a - b);
  let candidate = at;
  for (let guard = 0; guard < 1000; guard += 1) {
    let moved = false;
    if (gap > 0) {
      for (const t of sorted) {
        if (Math.abs(candidate - t) < gap) {
          candidate = t + gap;
          moved = true;
        }
      }
    }
    if (perMonth !== null) {
      const inWindow = sorted.filter((t) => t > candidate - 30 * DAY && t <= candidate);
      if (inWindow.length >= perMonth) {
        const oldest = inWindow[inWindow.length - perMonth];
        if (oldest !== undefined) {
          candidate = oldest + 30 * DAY;
          moved = true;
        }
      }
    }
    if (!moved) return candidate;
  }
  return candidate;
}
