/** The outbox idempotency key of one campaign mail: campaign, occurrence, contact. */
export function campaignMailKey(campaign: string, occurrence: string, contactId: number): string {
  return `campaign:${campaign}:${occurrence}:${contactId}`;
}
