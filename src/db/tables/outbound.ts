// Table types for the outbound domain. Owned by that domain; migrations in db/migrations/.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface OutboundTables {}
