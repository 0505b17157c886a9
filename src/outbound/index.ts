// The outbound domain: the outbox, the sender, throttles, bounces, unsubscribe.
export { enqueueMail, MAIL_KINDS, type OutboxInsert, type EnqueueResult } from './enqueue-mail.ts';
export { contactBudget } from './contact-budget.ts';
export { makeMessageId, bareMessageId } from './message-id.ts';
export { parseOutboundSettings, accountLimits, providerDefaults, budgetOf, type OutboundSettings, type AccountLimits } from './settings.ts';
export { claimDue, type ClaimedMail, type ClaimDecision, type ClaimResult } from './claim.ts';
export { processBatch, runSender, markSent, suppressAddress, type SenderDeps, type MailReport, type BatchReport, type AfterSent, type RunOptions } from './sender.ts';
export { recoverExpiredLeases, resolveUncertain, type Resolution } from './recovery.ts';
export { SmtpTransports, type CredentialSource, type SmtpCredentials } from './smtp-transports.ts';
export { classifySmtpError, type SmtpOutcome } from './smtp-outcome.ts';
export type { Renderer, RenderedContent } from './renderer.ts';
export { composeMessage, isPromotional, unsubscribeLinks, type UnsubscribeConfig, type DkimConfig } from './compose.ts';
export { makeUnsubscribeToken, verifyUnsubscribeToken, tokenOutboxId, unsubscribeKey } from './unsubscribe-token.ts';
export { nextWindowOpen, recipientZone } from './send-window.ts';
export { nextFreeAt, nextContactSlot, warmupLimit, backoffMs } from './throttle-math.ts';
export { seededJitterMs } from './jitter.ts';
export { unsubscribeByToken, checkUnsubscribeToken, maskAddress, type TokenTarget } from './unsubscribe.ts';
export { listOutbox, showOutbox, cancelOutbox, retryOutbox, pauseAccount, resumeAccount, accountSendStatus, OUTBOX_STATES, type OutboxListItem, type OutboxFilter, type OutboxDetail } from './outbox-admin.ts';
