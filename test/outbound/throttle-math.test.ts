import { describe, expect, it } from 'vitest';
import { backoffMs, nextContactSlot, nextFreeAt, warmupLimit } from '../../src/outbound/throttle-math.ts';
import { seededJitterMs } from '../../src/outbound/jitter.ts';
import { accountLimits, parseOutboundSettings, providerDefaults } from '../../src/outbound/settings.ts';
import { classifySmtpError } from '../../src/outbound/smtp-outcome.ts';
import { makeUnsubscribeToken, tokenOutboxId, unsubscribeKey, verifyUnsubscribeToken } from '../../src/outbound/unsubscribe-token.ts';

const DAY = 86_400_000;

describe('throttle arithmetic', () => {
  it('a sliding window frees a slot exactly one window after the blocking slot finished', () => {
    const now = 10_000;
    const rule = { name: 'per second', windowMs: 1000, limit: 2 };
    expect(nextFreeAt(now, [new Date(9_500)], rule)).toBe(now);
    expect(nextFreeAt(now, [new Date(9_500), new Date(9_800)], rule)).toBe(10_500);
    expect(nextFreeAt(now, [new Date(9_500), null], rule)).toBe(10_500);
    expect(nextFreeAt(now, [null, null], rule)).toBe(10_250); // only in-flight slots: look again shortly
    expect(nextFreeAt(now, [new Date(8_000), new Date(8_500)], rule)).toBe(now);
  });

  it('ramps a new account up day by day to its limit', () => {
    expect([0, 1, 2, 5, 10].map((d) => warmupLimit(500, 20, 1.5, d))).toEqual([20, 30, 45, 151, 500]);
  });

  it('spaces promotions 14 days apart and caps them per month', () => {
    const t0 = Date.UTC(2027, 0, 1);
    expect(nextContactSlot(t0, [], 14, 2)).toBe(t0);
    expect(nextContactSlot(t0, [t0 - 3 * DAY], 14, 2)).toBe(t0 + 11 * DAY);
    expect(nextContactSlot(t0, [t0 + 5 * DAY], 14, 2)).toBe(t0 + 19 * DAY); // a planned one ahead counts too
    expect(nextContactSlot(t0, [t0 - 20 * DAY, t0 - 5 * DAY], 0, 2)).toBe(t0 + 10 * DAY);
  });

  it('backs off exponentially with a capped, repeatable spread', () => {
    expect(backoffMs(1, 60, 3600, 0.5)).toBe(60_000);
    expect(backoffMs(3, 60, 3600, 0.5)).toBe(240_000);
    expect(backoffMs(20, 60, 3600, 0.5)).toBe(3_600_000);
    expect(seededJitterMs('s', 42, 100, 900)).toBe(seededJitterMs('s', 42, 100, 900));
    expect(seededJitterMs('s', 42, 100, 900)).not.toBe(seededJitterMs('t', 42, 100, 900));
  });
});

describe('SMTP answers', () => {
  it('classifies what a failure means for the row', () => {
    expect(classifySmtpError({ code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 user unknown', command: 'RCPT TO' }, false).kind).toBe('hard-bounce');
    expect(classifySmtpError({ code: 'EMESSAGE', responseCode: 554, response: '554 5.7.1 rejected as spam', command: 'DATA' }, true).kind).toBe('fail');
    expect(classifySmtpError({ code: 'EENVELOPE', responseCode: 451, response: '451 4.3.0 try later', command: 'RCPT TO' }, false).kind).toBe('retry');
    expect(classifySmtpError({ code: 'EAUTH', responseCode: 535, response: '535 bad login' }, false).kind).toBe('auth');
    expect(classifySmtpError({ code: 'ECONNECTION', message: 'Connection closed' }, false).kind).toBe('retry');
    expect(classifySmtpError({ code: 'ETIMEDOUT', message: 'Timeout' }, true).kind).toBe('uncertain');
  });
});

describe('unsubscribe tokens', () => {
  const key = unsubscribeKey('secret-key-for-tests-0123456789ab');
  it('verify only for the row and address they were made for', () => {
    const token = makeUnsubscribeToken(key, 1234, 'wang@acme.com');
    expect(tokenOutboxId(token)).toBe(1234);
    expect(verifyUnsubscribeToken(key, token, 'wang@acme.com')).toBe(true);
    expect(verifyUnsubscribeToken(key, token, 'li@acme.com')).toBe(false);
    expect(verifyUnsubscribeToken(unsubscribeKey('another-key-0123456789abcdef0000'), token, 'wang@acme.com')).toBe(false);
    const forged = token.replace(/^v1\.[0-9a-z]+\./, `v1.${(1235).toString(36)}.`);
    expect(verifyUnsubscribeToken(key, forged, 'wang@acme.com')).toBe(false);
    expect(tokenOutboxId('v1.zz')).toBeNull();
  });
});

describe('account limits', () => {
  it('default to what the provider allows (500 a day from a free Gmail account), overridden by config, then by the database', () => {
    expect(providerDefaults('smtp.gmail.com')).toMatchObject({ perDay: 500 });
    expect(providerDefaults('smtp.exmail.qq.com')).toMatchObject({ perDay: 1000 });
    expect(providerDefaults('smtp.office365.com')).toMatchObject({ perDay: 300 });
    expect(providerDefaults('mail.maker.cn')).toEqual({ perSecond: null, perMinute: 30, perHour: 300, perDay: 1000 });
    const settings = parseOutboundSettings({ accounts: { linda: { perDay: 200 } } });
    expect(accountLimits(settings, 'tom', 'smtp.gmail.com', null)).toMatchObject({ perMinute: 20, perDay: 500 });
    expect(accountLimits(settings, 'linda', 'smtp.gmail.com', null)).toMatchObject({ perMinute: 20, perDay: 200 });
    expect(accountLimits(settings, 'linda', 'smtp.gmail.com', { perDay: 50, perMinute: null })).toMatchObject({ perMinute: null, perDay: 50 });
  });
});
