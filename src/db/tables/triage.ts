// Table types for the triage domain. Owned by that domain; migrations in db/migrations/.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TriageTables {}
