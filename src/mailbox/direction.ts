import type { Direction } from '../db/tables/mailbox.ts';
import { isUs } from './link-rules.ts';

/** outbound: we wrote to someone else; internal: only us; inbound: anyone else wrote. */
export function messageDirection(from: string | null, recipients: ReadonlyArray<string>, us: ReadonlySet<string>): Direction {
  if (!from || !isUs(from, us)) return 'inbound';
  return recipients.length > 0 && recipients.every((r) => isUs(r, us)) ? 'internal' : 'outbound';
}
