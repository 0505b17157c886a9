import type { ClientBookTables } from './tables/client-book.ts';
import type { MailboxTables } from './tables/mailbox.ts';
import type { TriageTables } from './tables/triage.ts';
import type { OutboundTables } from './tables/outbound.ts';
import type { CampaignTables } from './tables/campaigns.ts';

/** Every table Rapport keeps, for Kysely. Each domain owns its file in tables/. */
export interface Database extends ClientBookTables, MailboxTables, TriageTables, OutboundTables, CampaignTables {}
