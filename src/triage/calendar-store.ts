import type { Db } from '../db/database.ts';
import type { TriageSettings } from './settings.ts';
import { WorkingCalendar } from './working-calendar.ts';

/** The configured calendar plus the days set by hand (`rapport triage calendar-day`). */
export async function loadWorkingCalendar(db: Db, settings: TriageSettings): Promise<WorkingCalendar> {
  const days = await db.kysely.selectFrom('triage_calendar_days').select(['day', 'working']).execute();
  const working = new Set(settings.calendar.workingDays);
  const off = new Set(settings.calendar.holidays);
  for (const d of days) {
    if (d.working) {
      working.add(d.day);
      off.delete(d.day);
    } else {
      off.add(d.day);
      working.delete(d.day);
    }
  }
  return new WorkingCalendar({ ...settings.calendar, workingDays: [...working], holidays: [...off] });
}

export async function setCalendarDay(db: Db, day: string, working: boolean, note: string | null): Promise<void> {
  await db.kysely
    .insertInto('triage_calendar_days')
    .values({ day, working, note })
    .onConflict((oc) => oc.column('day').doUpdateSet({ working, note }))
    .execute();
}
