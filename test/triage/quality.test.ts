import { describe, expect, it } from 'vitest';
import { scoreMessage } from '../../src/triage/score-message.ts';
import { CATEGORIES } from '../../src/triage/types.ts';
import { HOLDOUT_DIR, loadLabelledSet, targetLabel } from './quality-set.ts';

/** Scores a labelled set; prints precision/recall per category, delivery, channel and channel+target accuracy, and every miss. */
async function evaluate(title: string, dir?: string) {
  const { us, settings, calendar, items } = await loadLabelledSet(dir);
  const rows = items.map(({ label, msg, client }) => {
    const r = scoreMessage(msg, { us, settings, calendar, client, unansweredBefore: label.unanswered });
    return { label, r, got: { category: r.category, skip: r.skipReason, delivery: r.delivery, target: targetLabel(r) } };
  });
  const lines: string[] = [];
  lines.push(`${title}: ${rows.length} messages`);
  lines.push('category          precision  recall   (tp/fp/fn)');
  for (const c of CATEGORIES) {
    const tp = rows.filter((x) => x.label.category === c && x.got.category === c).length;
    const fp = rows.filter((x) => x.label.category !== c && x.got.category === c).length;
    const fn = rows.filter((x) => x.label.category === c && x.got.category !== c).length;
    const p = tp + fp === 0 ? 1 : tp / (tp + fp);
    const rc = tp + fn === 0 ? 1 : tp / (tp + fn);
    lines.push(`${c.padEnd(17)} ${(p * 100).toFixed(1).padStart(6)}%  ${(rc * 100).toFixed(1).padStart(6)}%   (${tp}/${fp}/${fn})`);
  }
  const skipRows = rows.filter((x) => x.label.skip);
  const skipOk = skipRows.filter((x) => x.got.skip === x.label.skip).length;
  lines.push(`not-for-triage reason accuracy: ${skipOk}/${skipRows.length}`);
  const delRows = rows.filter((x) => x.label.delivery && x.got.delivery);
  const delOk = delRows.filter((x) => x.got.delivery === x.label.delivery).length;
  lines.push(`delivery (one-to-one/mass) accuracy: ${delOk}/${delRows.length} = ${((delOk / Math.max(1, delRows.length)) * 100).toFixed(1)}%`);
  const chanOk = rows.filter((x) => x.got.target.split(':')[0] === x.label.target.split(':')[0]).length;
  const targetOk = rows.filter((x) => x.got.target === x.label.target).length;
  const accuracy = targetOk / rows.length;
  lines.push(`channel accuracy: ${chanOk}/${rows.length} = ${((chanOk / rows.length) * 100).toFixed(1)}%`);
  lines.push(`channel+target accuracy: ${targetOk}/${rows.length} = ${(accuracy * 100).toFixed(1)}%`);
  const misses = rows.filter((x) => x.got.target !== x.label.target || x.got.category !== x.label.category || (x.label.delivery && x.got.delivery && x.got.delivery !== x.label.delivery));
  lines.push(`misses (${misses.length}):`);
  for (const x of misses) {
    lines.push(`  ${x.label.file}: expected ${x.label.category}/${x.label.delivery ?? '-'}/${x.label.target}, got ${x.got.category}${x.got.skip ? `(${x.got.skip})` : ''}/${x.got.delivery ?? '-'}/${x.got.target} urgency ${x.r.urgency}`);
    lines.push(`      ${x.r.explanation}`);
  }
  console.log(lines.join('\n'));
  return { rows, accuracy, categoryOk: rows.filter((x) => x.got.category === x.label.category).length / rows.length };
}

describe('triage quality on the labelled set (test/fixtures/triage)', () => {
  it('prints precision/recall per category, delivery and channel+target accuracy; channel+target >= 90%', async () => {
    const { rows, accuracy } = await evaluate('labelled set');
    expect(rows.length).toBeGreaterThanOrEqual(120);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
  });

  it('holds on a held-out set written after the rules (test/fixtures/triage/holdout): channel+target >= 90%', async () => {
    const { rows, accuracy } = await evaluate('held-out set', HOLDOUT_DIR);
    expect(rows.length).toBeGreaterThanOrEqual(25);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
  });
});
