import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { handoverTap } from '../../src/outbound/sender.ts';

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

describe('the handover tap on a mail being streamed to the SMTP server', () => {
  it('knows when the server has had the whole message, and keeps exactly those bytes', async () => {
    const h = handoverTap(true);
    const out = h.tap(Readable.from([Buffer.from('Subject: a\r\n\r\n'), Buffer.from('body\r\n')]));
    expect(h.handedOver()).toBe(false);
    expect((await drain(out)).toString()).toBe('Subject: a\r\n\r\nbody\r\n');
    expect(h.handedOver()).toBe(true);
    expect(h.bytes()?.toString()).toBe('Subject: a\r\n\r\nbody\r\n');
  });

  it('refuses to stream a message a second time once it was handed over whole (a pool requeue would send it twice)', async () => {
    const h = handoverTap(false);
    await drain(h.tap(Readable.from([Buffer.from('whole message')])));
    const again = Readable.from([Buffer.from('whole message')]);
    const second = h.tap(again);
    await expect(drain(second)).rejects.toThrow(/not sent again/);
    expect(again.destroyed).toBe(true);
    expect(h.handedOver()).toBe(true);
  });

  it('lets a stream that never finished start over, keeping only the bytes of the attempt that did', async () => {
    const h = handoverTap(true);
    let pushed = false;
    // a connection that closes mid-DATA: the first bytes go, the rest never
    const first = h.tap(new Readable({ read() { if (!pushed) { pushed = true; this.push(Buffer.from('part')); } } }));
    await new Promise<void>((resolve) => first.once('data', () => resolve()));
    first.destroy();
    expect(h.handedOver()).toBe(false);
    expect(h.bytes()).toBeNull();
    expect((await drain(h.tap(Readable.from([Buffer.from('second try')])))).toString()).toBe('second try');
    expect(h.bytes()?.toString()).toBe('second try');
  });

  it('keeps nothing and adds no stage when nothing after the send needs the bytes', async () => {
    const h = handoverTap(false);
    const source = Readable.from([Buffer.from('x')]);
    expect(h.tap(source)).toBe(source);
    await drain(source);
    expect(h.handedOver()).toBe(true);
    expect(h.bytes()).toBeNull();
  });
});
