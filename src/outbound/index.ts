export { enqueueMail, MAIL_KINDS, type OutboxInsert, type EnqueueResult } from './enqueue-mail.ts';
export { makeMessageId, bareMessageId } from './message-id.ts';
