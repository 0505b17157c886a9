import type { Category, ClientFacts, Deadline, Delivery, Reason } from './types.ts';
import { CALL_REQUEST, CHASER, NO_RUSH, SEVERITY_MONEY, SEVERITY_SAFETY, URGENT_WORDS, findTerms } from './lexicon.ts';

/** The weights of the urgency score (0-100). */
export const URGENCY_WEIGHTS = {
  base: { inquiry: 20, order: 25, logistics: 25, complaint: 40 },
  firstUrgentWord: 20,
  moreUrgentWords: 10,
  urgentWordsMax: 35,
  callRequest: 15,
  noRush: -20,
  deadline24h: 25,
  deadline72h: 15,
  deadline7d: 8,
  keyClient: 15,
  majorClient: 8,
  orderInProduction: 10,
  safety: 30,
  money: 10,
  perUnanswered: 12,
  unansweredMax: 24,
  chaser: 10,
  mass: -10,
} as const;

export interface UrgencyInput {
  readonly category: Exclude<Category, 'not-for-triage'>;
  readonly delivery: Delivery;
  readonly subject: string;
  readonly newest: string;
  readonly client: ClientFacts | null;
  readonly deadline: { readonly deadline: Deadline; readonly hoursLeft: number } | null;
  readonly unansweredBefore: number;
}

export function scoreUrgency(input: UrgencyInput): { urgency: number; reasons: Reason[] } {
  const W = URGENCY_WEIGHTS;
  const reasons: Reason[] = [];
  const add = (code: string, text: string, weight: number) => {
    if (weight !== 0) reasons.push({ group: 'urgency', code, text, weight });
  };
  const mass = input.delivery === 'mass';
  add('base', `${input.category} base`, W.base[input.category]);
  const text = `${input.subject}\n${input.newest}`;
  const noRush = findTerms(text, NO_RUSH);
  if (noRush.length > 0) {
    add('no-rush', `"${noRush[0]!.match}"`, W.noRush);
  } else {
    const found = [...new Set(findTerms(text, URGENT_WORDS).map((f) => f.match.toLowerCase()))];
    // "urgent" inside "urgente" is one word, not two.
    const words = found.filter((w) => !found.some((o) => o !== w && o.startsWith(w)));
    if (words.length > 0) {
      let pts = Math.min(W.urgentWordsMax, W.firstUrgentWord + (words.length - 1) * W.moreUrgentWords);
      if (mass) pts = Math.round(pts / 2);
      add('urgent-words', `urgent word${words.length > 1 ? 's' : ''} ${words.slice(0, 3).map((w) => `"${w}"`).join(', ')}${mass ? ' (mass: half)' : ''}`, pts);
    }
    const call = findTerms(input.newest, CALL_REQUEST);
    if (call.length > 0 && !mass) add('call-request', `asks for a call ("${call[0]!.match}")`, W.callRequest);
  }
  if (input.deadline) {
    const h = input.deadline.hoursLeft;
    const pts = h <= 24 ? W.deadline24h : h <= 72 ? W.deadline72h : h <= 168 ? W.deadline7d : 0;
    add('deadline', `deadline "${input.deadline.deadline.text}" (${h <= 0 ? 'passed' : `${Math.round(h)}h away`})`, noRush.length > 0 ? Math.round(pts / 2) : pts);
  }
  const tier = input.client?.tier;
  if (tier === 'key') add('key-client', 'key client', W.keyClient);
  else if (tier === 'major') add('major-client', 'major client', W.majorClient);
  if (input.client?.orderInProduction) add('order-in-production', 'order in production', W.orderInProduction);
  if (input.category === 'complaint') {
    const safety = findTerms(text, SEVERITY_SAFETY);
    if (safety.length > 0) add('safety', `safety issue ("${safety[0]!.match}")`, W.safety);
    const money = findTerms(text, SEVERITY_MONEY);
    if (money.length > 0) add('money', `money at stake ("${money[0]!.match}")`, W.money);
  }
  if (input.unansweredBefore > 0) add('unanswered', `${input.unansweredBefore} earlier message${input.unansweredBefore > 1 ? 's' : ''} unanswered`, Math.min(W.unansweredMax, input.unansweredBefore * W.perUnanswered));
  const chaser = findTerms(input.newest, CHASER);
  if (chaser.length > 0) add('chaser', `chases an answer ("${chaser[0]!.match}")`, W.chaser);
  if (mass) add('mass', 'mass inquiry', W.mass);
  const total = reasons.reduce((s, r) => s + r.weight, 0);
  return { urgency: Math.max(0, Math.min(100, Math.round(total))), reasons };
}
