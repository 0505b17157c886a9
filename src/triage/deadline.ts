import { DateTime, FixedOffsetZone, IANAZone, type Zone } from 'luxon';
import type { Deadline } from './types.ts';

// Deadlines in the sender's words, read in the sender's time zone.
// "by Friday", "before 15 March", "within 3 days", "本周五前", "bis Freitag", "antes del 15 de marzo" ...

const END_OF_DAY_HOUR = 18;

const WEEKDAYS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^(monday|montag|lunes|lundi|segunda(-feira)?|понедельник\p{L}*|lunedì|一|الاثنين|الإثنين)$/iu, 1],
  [/^(tuesday|dienstag|martes|mardi|terça(-feira)?|вторник\p{L}*|martedì|二|الثلاثاء)$/iu, 2],
  [/^(wednesday|mittwoch|miércoles|miercoles|mercredi|quarta(-feira)?|сред\p{L}*|mercoledì|三|الأربعاء|الاربعاء)$/iu, 3],
  [/^(thursday|donnerstag|jueves|jeudi|quinta(-feira)?|четверг\p{L}*|giovedì|四|الخميس)$/iu, 4],
  [/^(friday|freitag|viernes|vendredi|sexta(-feira)?|пятниц\p{L}*|venerdì|五|الجمعة)$/iu, 5],
  [/^(saturday|samstag|sábado|sabado|samedi|суббот\p{L}*|sabato|六|السبت)$/iu, 6],
  [/^(sunday|sonntag|domingo|dimanche|воскресень\p{L}*|domenica|日|天|الأحد|الاحد)$/iu, 7],
];
const WEEKDAY_WORDS = 'monday|tuesday|wednesday|thursday|friday|saturday|sunday|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado|domingo|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|segunda(?:-feira)?|ter[çc]a(?:-feira)?|quarta(?:-feira)?|quinta(?:-feira)?|sexta(?:-feira)?|понедельник\\p{L}*|вторник\\p{L}*|сред\\p{L}*|четверг\\p{L}*|пятниц\\p{L}*|суббот\\p{L}*|воскресень\\p{L}*|luned[iì]|marted[iì]|mercoled[iì]|gioved[iì]|venerd[iì]|ال[إا]ثنين|الثلاثاء|ال[أا]ربعاء|الخميس|الجمعة|السبت|ال[أا]حد';

const MONTHS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^(jan(uary)?|januar|jänner|enero|janvier|janeiro|январ\p{L}*|gennaio)$/iu, 1],
  [/^(feb(ruary)?|februar|febrero|février|fevereiro|феврал\p{L}*|febbraio)$/iu, 2],
  [/^(mar(ch)?|märz|marzo|mars|março|март\p{L}*)$/iu, 3],
  [/^(apr(il)?|abril|avril|апрел\p{L}*|aprile)$/iu, 4],
  [/^(may|mai|mayo|maio|ма\p{L}|maggio)$/iu, 5],
  [/^(jun(e)?|juni|junio|juin|junho|июн\p{L}*|giugno)$/iu, 6],
  [/^(jul(y)?|juli|julio|juillet|julho|июл\p{L}*|luglio)$/iu, 7],
  [/^(aug(ust)?|august|agosto|août|август\p{L}*)$/iu, 8],
  [/^(sep(t|tember)?|september|septiembre|septembre|setembro|сентябр\p{L}*|settembre)$/iu, 9],
  [/^(oct(ober)?|oktober|octubre|octobre|outubro|октябр\p{L}*|ottobre)$/iu, 10],
  [/^(nov(ember)?|noviembre|novembre|novembro|ноябр\p{L}*)$/iu, 11],
  [/^(dec(ember)?|dezember|diciembre|décembre|dezembro|декабр\p{L}*|dicembre)$/iu, 12],
];
const MONTH_WORDS = 'jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|januar|jänner|februar|märz|juni|juli|oktober|dezember|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro|январ\\p{L}*|феврал\\p{L}*|март\\p{L}*|апрел\\p{L}*|ма[яй]|июн\\p{L}*|июл\\p{L}*|август\\p{L}*|сентябр\\p{L}*|октябр\\p{L}*|ноябр\\p{L}*|декабр\\p{L}*|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre';

const BY = "by|before|until|till|no later than|not later than|latest|d'ici|avant|jusqu'au|bis|vor|antes del?|hasta el|até|ate|до|entro|prima di|قبل|بحلول|حتى";
const BEFORE_EXCLUSIVE = /^(before|avant|vor|antes|prima)/i;
const NUM_WORDS: Readonly<Record<string, number>> = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, ten: 10, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 七: 7, 十: 10 };

const RE_WEEKDAY = new RegExp(`(?<![\\p{L}])(${BY})\\s+(?:(this|next|coming|ce|diesen|este|esta|próximo|proximo|cette|next week's|يوم)\\s+)?(${WEEKDAY_WORDS})(?![\\p{L}])`, 'giu');
const RE_ZH_WEEKDAY = /(本|这|下|下个)?(周|星期|礼拜)([一二三四五六日天])(前|之前|以前|下班前)?/gu;
const RE_TODAY = /(?<![\p{L}])(today|tonight|this (afternoon|evening)|end of (the )?(business )?day|EOD|COB|heute|hoy( mismo)?|aujourd'hui|hoje|сегодня|oggi)(?![\p{L}])|今天|今日|下班前|اليوم/giu;
const RE_TOMORROW = /(?<![\p{L}])(tomorrow|morgen|mañana|demain|amanhã|завтра|domani)(?![\p{L}])|明天|明日|غدا/giu;
const RE_HOURS = /(?<![\p{L}])(within the next (few )?hours|in the next (few )?hours|in a few hours)(?![\p{L}])/giu;
const RE_WITHIN = /(?<![\p{L}])(within|in the next|innerhalb (von )?|binnen|en|dentro de|sous|dans les|em|в течение|entro|خلال)\s+(\d{1,2}|one|two|three|four|five|six|seven|ten)\s+(working |business )?(hours?|days?|weeks?|Stunden|Tage[n]?|Wochen|horas?|días|dias|heures|jours|semaines|semanas|часов|часа|дней|дня|недел\p{L}*|giorni|ore|ساعات|ساعة|أيام|ايام|يوم|أسابيع|أسبوع)(?![\p{L}])/giu;
const RE_ZH_WITHIN = /(\d{1,2}|[一二两三四五七十])(个)?(小时|天|个?工作日|周)(之内|以内|内)/gu;
const RE_DATE_DM = new RegExp(`(?<![\\p{L}])(${BY})\\s+(?:the\\s+|le\\s+|zum\\s+|el\\s+|o\\s+|il\\s+)?(\\d{1,2})(?:st|nd|rd|th|\\.|er)?\\s+(?:of\\s+|de\\s+)?(${MONTH_WORDS})(?![\\p{L}])`, 'giu');
const RE_DATE_MD = new RegExp(`(?<![\\p{L}])(${BY})\\s+(${MONTH_WORDS})\\s+(\\d{1,2})(?:st|nd|rd|th)?(?![\\p{L}\\d])`, 'giu');
const RE_DATE_NUM = new RegExp(`(?<![\\p{L}])(${BY})\\s+(?:the\\s+|zum\\s+|el\\s+|le\\s+)?(\\d{1,2})[./](\\d{1,2})\\.?(?![\\d])`, 'giu');
const RE_ZH_DATE = /(\d{1,2})月(\d{1,2})[日号](前|之前|以前)?/gu;
const RE_END_OF = new RegExp(`(?<![\\p{L}])(?:by |before )?(?:the )?end of (?:the |this )?(week|month|${MONTH_WORDS})(?![\\p{L}])|本周内|这周内|月底前|月底`, 'giu');

const DEMAND = /(need|must|have to|has to|required|by|before|until|send|reply|answer|respond|confirm|decide|decision|call|deadline|otherwise|or we|at \d|please|meeting|必须|需要|一定|前|要|请|务必|necesit|hay que|antes|brauchen|müssen|bis|entscheiden|besoin|devons|avant|precisamos|até|нужн|необходимо|до|نحتاج|يجب|serve|entro)/iu;

function demands(text: string, index: number): boolean {
  let start = index;
  while (start > 0 && !/[.!?。！？\n]/.test(text[start - 1] ?? '')) start -= 1;
  let end = index;
  while (end < text.length && !/[.!?。！？\n]/.test(text[end] ?? '')) end += 1;
  return DEMAND.test(text.slice(start, end));
}

function weekdayOf(word: string): number | undefined {
  for (const [re, n] of WEEKDAYS) if (re.test(word)) return n;
  return undefined;
}
function monthOf(word: string): number | undefined {
  for (const [re, n] of MONTHS) if (re.test(word)) return n;
  return undefined;
}

/** The sender's zone: the client's IANA zone when known, else the Date header's offset, else UTC. */
const zoneCache = new Map<string, Zone | null>();

export function senderZone(clientZone: string | null | undefined, utcOffsetMinutes: number | null | undefined): Zone {
  if (clientZone) {
    let z = zoneCache.get(clientZone);
    if (z === undefined) {
      // Validating a zone builds an Intl formatter: do it once per zone name.
      z = IANAZone.isValidZone(clientZone) ? IANAZone.create(clientZone) : null;
      if (zoneCache.size > 1000) zoneCache.clear();
      zoneCache.set(clientZone, z);
    }
    if (z) return z;
  }
  if (typeof utcOffsetMinutes === 'number' && Number.isFinite(utcOffsetMinutes)) return FixedOffsetZone.instance(utcOffsetMinutes);
  return FixedOffsetZone.utcInstance;
}

function eod(dt: DateTime): DateTime {
  return dt.set({ hour: END_OF_DAY_HOUR, minute: 0, second: 0, millisecond: 0 });
}

function nextDate(now: DateTime, month: number, day: number): DateTime | null {
  let dt = DateTime.fromObject({ year: now.year, month, day }, { zone: now.zone });
  if (!dt.isValid) return null;
  if (dt.endOf('day') < now.minus({ days: 1 })) dt = dt.plus({ years: 1 });
  return dt;
}

/** The earliest deadline in the text, or null. `text` should be the newest part (not quoted history). */
const ANY_DEADLINE_HINT = new RegExp([RE_WEEKDAY, RE_ZH_WEEKDAY, RE_TODAY, RE_TOMORROW, RE_HOURS, RE_WITHIN, RE_ZH_WITHIN, RE_DATE_DM, RE_DATE_MD, RE_DATE_NUM, RE_ZH_DATE, RE_END_OF].map((r) => `(?:${r.source})`).join('|'), 'iu');

export function extractDeadline(text: string, sentAt: Date, zone: Zone): Deadline | null {
  // Most mail names no deadline: one combined test before any date maths.
  if (!ANY_DEADLINE_HINT.test(text)) return null;
  const now = DateTime.fromJSDate(sentAt, { zone });
  const found: Array<{ at: DateTime; text: string }> = [];
  const push = (at: DateTime | null, words: string) => {
    if (at && at.isValid) found.push({ at, text: words.trim() });
  };
  const onWeekday = (wd: number, next: boolean): DateTime => {
    let delta = (wd - now.weekday + 7) % 7;
    if (next && delta === 0) delta = 7;
    return eod(now.plus({ days: delta }));
  };
  for (const m of text.matchAll(RE_WEEKDAY)) {
    const wd = weekdayOf(m[3] ?? '');
    if (wd) push(onWeekday(wd, /^(next|próximo|proximo)$/i.test(m[2] ?? '')), m[0]);
  }
  for (const m of text.matchAll(RE_ZH_WEEKDAY)) {
    if (!m[1] && !m[4]) continue; // a bare "周五" is not a deadline
    const wd = weekdayOf(m[3] ?? '');
    if (wd) push(onWeekday(wd, false).plus({ days: m[1]?.startsWith('下') ? 7 : 0 }), m[0]);
  }
  // "today"/"tomorrow" are deadlines only in a sentence that asks for something ("we opened the container today" is not).
  for (const m of text.matchAll(RE_TODAY)) if (demands(text, m.index ?? 0)) push(eod(now) < now ? now.plus({ hours: 2 }) : eod(now), m[0]);
  for (const m of text.matchAll(RE_TOMORROW)) if (demands(text, m.index ?? 0)) push(eod(now.plus({ days: 1 })), m[0]);
  for (const m of text.matchAll(RE_HOURS)) push(now.plus({ hours: 4 }), m[0]);
  for (const m of text.matchAll(RE_WITHIN)) {
    const n = Number(m[3]) || NUM_WORDS[(m[3] ?? '').toLowerCase()] || 0;
    const unit = (m[5] ?? '').toLowerCase();
    if (n <= 0) continue;
    if (/^(hour|stunde|hora|heure|час|ore|ساع)/.test(unit)) push(now.plus({ hours: n }), m[0]);
    else if (/^(week|woche|semana|semaine|недел|أسب)/.test(unit)) push(now.plus({ weeks: n }), m[0]);
    else push(now.plus({ days: n }), m[0]);
  }
  for (const m of text.matchAll(RE_ZH_WITHIN)) {
    const n = Number(m[1]) || NUM_WORDS[m[1] ?? ''] || 0;
    if (n <= 0) continue;
    if (m[3] === '小时') push(now.plus({ hours: n }), m[0]);
    else if (m[3] === '周') push(now.plus({ weeks: n }), m[0]);
    else push(now.plus({ days: n }), m[0]);
  }
  const dated = (by: string, month: number | undefined, day: number, words: string) => {
    if (!month || day < 1 || day > 31) return;
    const d = nextDate(now, month, day);
    if (d) push(BEFORE_EXCLUSIVE.test(by) ? eod(d.minus({ days: 1 })) : eod(d), words);
  };
  for (const m of text.matchAll(RE_DATE_DM)) dated(m[1] ?? '', monthOf(m[3] ?? ''), Number(m[2]), m[0]);
  for (const m of text.matchAll(RE_DATE_MD)) dated(m[1] ?? '', monthOf(m[2] ?? ''), Number(m[3]), m[0]);
  for (const m of text.matchAll(RE_DATE_NUM)) dated(m[1] ?? '', Number(m[3]), Number(m[2]), m[0]);
  for (const m of text.matchAll(RE_ZH_DATE)) {
    const d = nextDate(now, Number(m[1]), Number(m[2]));
    if (d) push(eod(d), m[0]);
  }
  for (const m of text.matchAll(RE_END_OF)) {
    const what = (m[1] ?? '').toLowerCase();
    if (m[0].includes('周')) push(onWeekday(5, false), m[0]);
    else if (m[0].includes('月底')) push(eod(now.endOf('month')), m[0]);
    else if (what === 'week') push(onWeekday(5, false), m[0]);
    else if (what === 'month') push(eod(now.endOf('month')), m[0]);
    else {
      const month = monthOf(what);
      if (month) {
        const d = nextDate(now, month, 1);
        if (d) push(eod(d.endOf('month')), m[0]);
      }
    }
  }
  if (found.length === 0) return null;
  found.sort((a, b) => a.at.toMillis() - b.at.toMillis());
  const first = found[0]!;
  return { at: first.at.toJSDate(), text: first.text, zone: zone.name };
}
