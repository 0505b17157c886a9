/**
 * Pure: what an SMTP failure means for the row (house rule: translate library
 * errors where the driver meets the library).
 *  - retry:       4xx, or a connection fault before the message was fully handed over
 *  - fail:        5xx that is not about the recipient's address; the server's words are kept
 *  - hard-bounce: 5xx about the recipient (RCPT TO, or 5.1.x); the address goes on the suppression list
 *  - auth:        the server refused the credentials; the row waits, the account may pause
 *  - uncertain:   the connection broke after the whole message was handed over: the server
 *                 may have accepted it, so it is not resent blindly
 */
export type SmtpOutcomeKind = 'retry' | 'fail' | 'hard-bounce' | 'auth' | 'uncertain';

export interface SmtpOutcome {
  readonly kind: SmtpOutcomeKind;
  /** The server's words (or the fault), one line, no secrets. */
  readonly words: string;
}

export interface SmtpErrorLike {
  readonly code?: string;
  readonly responseCode?: number;
  readonly response?: string;
  readonly command?: string;
  readonly message?: string;
}

const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROTOCOL', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE']);

export function classifySmtpError(err: SmtpErrorLike, messageHandedOver: boolean): SmtpOutcome {
  const words = oneLine(err.response ?? err.message ?? 'unknown SMTP error');
  const code = err.responseCode;
  if (err.code === 'EAUTH' || err.code === 'ENOAUTH' || err.code === 'EOAUTH2' || code === 535 || code === 534) return { kind: 'auth', words };
  if (typeof code === 'number' && code >= 400 && code < 500) return { kind: 'retry', words };
  if (typeof code === 'number' && code >= 500 && code < 600) {
    const enhanced = /\b5\.(\d{1,3})\.(\d{1,3})\b/.exec(words);
    const policy = enhanced?.[1] === '7';
    const addressProblem = enhanced?.[1] === '1' || (enhanced?.[1] === '2' && enhanced[2] === '1');
    if (!policy && (err.command === 'RCPT TO' || addressProblem)) return { kind: 'hard-bounce', words };
    return { kind: 'fail', words };
  }
  if (err.code === 'EENVELOPE' || err.code === 'EMESSAGE' || err.code === 'EMAXRECIPIENTS') return { kind: 'fail', words };
  if (CONNECTION_CODES.has(err.code ?? '') || !err.code) return { kind: messageHandedOver ? 'uncertain' : 'retry', words };
  return { kind: messageHandedOver ? 'uncertain' : 'retry', words };
}

export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 500);
}
