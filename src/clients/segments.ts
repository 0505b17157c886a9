import { sql, type Kysely, type Selectable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { ClientSegmentsTable } from '../db/tables/client-book.ts';
import { defaultSegmentSettings, type SegmentSettings } from './segment-settings.ts';

export type SegmentName =
  | 'prospect' | 'new' | 'old'
  | 'tier:key' | 'tier:major' | 'tier:normal' | 'tier:small'
  | 'dormant' | 'order-anomaly' | 'narrow' | 'not-contacted-this-year';

export interface ClientSegment {
  readonly clientId: number;
  readonly segment: SegmentName;
  readonly reason: string;
}

export interface RefreshOptions {
  /** The day segments are computed for (YYYY-MM-DD); default today (UTC). */
  readonly asOf?: string;
  /** Only this client (its tier still ranks it among all clients). */
  readonly clientId?: number;
}

/** One client's segments as stored (client_segments, one row a client). */
export type SegmentRow = Omit<Selectable<ClientSegmentsTable>, 'computed_at'>;

/** A stored row as (segment, reason) pairs, in the rules' order. */
export function segmentsOf(r: Omit<SegmentRow, 'client_id'>): { segment: SegmentName; reason: string }[] {
  const out: { segment: SegmentName; reason: string }[] = [
    { segment: r.age, reason: r.age_reason },
    { segment: `tier:${r.tier}`, reason: r.tier_reason },
  ];
  if (r.dormant !== null) out.push({ segment: 'dormant', reason: r.dormant });
  if (r.order_anomaly !== null) out.push({ segment: 'order-anomaly', reason: r.order_anomaly });
  if (r.narrow !== null) out.push({ segment: 'narrow', reason: r.narrow });
  if (r.not_contacted !== null) out.push({ segment: 'not-contacted-this-year', reason: r.not_contacted });
  return out;
}

/**
 * The category half of the order-anomaly rule as CTEs ending in catreason(client_id, reason): per client
 * and category, the newest order against the earlier ones. All orders with the category (per order
 * first, so an order with two lines of one category counts once), less the newest order's own lines
 * (a few index lookups a client): the lines meet their orders in one merge join on the order id, both
 * read in index order, instead of a hash of every order. Needs only order counts and the newest order
 * (a plain aggregate), so it can run beside the rest of the rules on a second connection.
 */
function categoryCtes(s: SegmentSettings, asOf: string, clientId: number | undefined) {
  const onlyOrders = clientId === undefined ? sql`true` : sql`o.client_id = ${clientId}`;
  return sql`ostats AS MATERIALIZED (
  SELECT o.client_id, count(*)::int AS n_orders, (max(ARRAY[(o.ordered_on - DATE '1970-01-01')::bigint, o.id]))[2] AS last_order_id
  FROM orders o
  WHERE o.status <> 'cancelled' AND o.ordered_on <= ${asOf}::date AND ${onlyOrders}
  GROUP BY o.client_id
),
catall AS (
  SELECT o.client_id, p.category, count(*) AS orders_with, sum(p.qty) AS qty
  FROM (SELECT l.order_id, coalesce(l.category, l.product) AS category, sum(l.quantity) AS qty FROM order_lines l GROUP BY 1, 2) p
  JOIN orders o ON o.id = p.order_id AND o.status <> 'cancelled' AND o.ordered_on <= ${asOf}::date AND ${onlyOrders}
  GROUP BY o.client_id, p.category
),
lastcat AS (
  SELECT st.client_id, coalesce(l.category, l.product) AS category, sum(l.quantity) AS qty
  FROM ostats st JOIN order_lines l ON l.order_id = st.last_order_id
  WHERE st.n_orders >= 2
  GROUP BY 1, 2
),
cat AS (
  SELECT a.client_id, a.category, st.n_orders,
         a.orders_with - (lc.qty IS NOT NULL)::int AS prior_orders_with,
         (a.qty - coalesce(lc.qty, 0)) / nullif(a.orders_with - (lc.qty IS NOT NULL)::int, 0) AS prior_avg_qty,
         lc.qty AS last_qty
  FROM catall a
  JOIN ostats st ON st.client_id = a.client_id AND st.n_orders >= 2
  LEFT JOIN lastcat lc ON lc.client_id = a.client_id AND lc.category = a.category
),
catreason AS (
  SELECT client_id, string_agg(reason, '; ' ORDER BY ord, reason) AS reason
  FROM (
    SELECT ca.client_id, 1 AS ord,
           format('%s quantity %s vs usual %s (-%s%%)', ca.category, ca.last_qty::float8, round(ca.prior_avg_qty, 2)::float8, round(100 * (1 - ca.last_qty / ca.prior_avg_qty))) AS reason
    FROM cat ca
    WHERE ca.last_qty IS NOT NULL AND ca.prior_avg_qty > 0 AND ca.last_qty < ca.prior_avg_qty * (1 - ${s.anomalyDropShare}::float8)
    UNION ALL
    SELECT ca.client_id, 2, format('%s missing (in %s of %s earlier orders)', ca.category, ca.prior_orders_with, ca.n_orders - 1)
    FROM cat ca
    WHERE ca.last_qty IS NULL AND ca.n_orders >= 3 AND ca.prior_orders_with >= (ca.n_orders - 1) * ${s.anomalyCategoryShare}::float8
      -- an order without lines says nothing of its categories (its lines would give some category a last_qty)
      AND EXISTS (SELECT 1 FROM cat c2 WHERE c2.client_id = ca.client_id AND c2.last_qty IS NOT NULL)
  ) a
  GROUP BY client_id
)`;
}

/** The category reasons alone: (client_id, reason) for every client with a category anomaly. */
export function categoryReasonQuery(s: SegmentSettings, asOf: string, clientId: number | undefined) {
  return sql<{ client_id: number; reason: string }>`WITH ${categoryCtes(s, asOf, clientId)} SELECT client_id, reason FROM catreason`;
}

/**
 * Every segment rule in one set-based SQL statement, one row a client (see SegmentRow).
 * Computed in the database, not row by row, so 100,000 clients take seconds.
 * Reasons are written for people, e.g. "median gap 41 days x 2.0 exceeded by 37 days".
 */
export function segmentQuery(s: SegmentSettings, asOf: string, clientId: number | undefined, categories: 'inline' | 'later' = 'inline') {
  const catSource = categories === 'inline' ? categoryCtes(s, asOf, clientId) : sql`catreason AS (SELECT NULL::bigint AS client_id, NULL::text AS reason WHERE false)`;
  const keyCut = s.tierShares.key;
  const majorCut = s.tierShares.key + s.tierShares.major;
  const normalCut = majorCut + s.tierShares.normal;
  const only = clientId === undefined ? sql`true` : sql`c.id = ${clientId}`;
  return sql<SegmentRow>`
WITH stats AS MATERIALIZED (
  -- one sort, newest order first: rn 1 is the newest order, gap the days back to the one before it;
  -- the grouping reads the window's output in its order (no second sort)
  SELECT client_id,
         count(*)::int AS n_orders,
         max(ordered_on) AS last_order,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) FILTER (WHERE gap IS NOT NULL) AS median_gap,
         coalesce(sum(amount) FILTER (WHERE ordered_on > ${asOf}::date - ${s.tierWindowDays}::int), 0) AS revenue,
         avg(amount) FILTER (WHERE rn > 1) AS prior_avg_amount,
         max(amount) FILTER (WHERE rn = 1) AS last_amount,
         max(id) FILTER (WHERE rn = 1) AS last_order_id
  FROM (
    SELECT o.id, o.client_id, o.ordered_on, o.amount,
           row_number() OVER w AS rn,
           lag(o.ordered_on) OVER w - o.ordered_on AS gap
    FROM orders o
    WHERE o.status <> 'cancelled' AND o.ordered_on <= ${asOf}::date
    WINDOW w AS (PARTITION BY o.client_id ORDER BY o.ordered_on DESC, o.id DESC)
  ) ord
  GROUP BY client_id
),
ranked AS (
  SELECT client_id, revenue,
         row_number() OVER (ORDER BY revenue DESC, client_id) AS rk,
         count(*) OVER () AS total
  FROM stats WHERE revenue > 0
),
reach AS (
  -- which of the three departments the client can be reached in (plain aggregates: no per-client sort)
  SELECT ct.client_id,
         array_remove(ARRAY[CASE WHEN bool_or(ct.department = 'purchasing') THEN 'purchasing' END,
                            CASE WHEN bool_or(ct.department = 'technical') THEN 'technical' END,
                            CASE WHEN bool_or(ct.department = 'customs') THEN 'customs' END], NULL) AS depts
  FROM contacts ct
  WHERE ct.active AND ct.department IN ('purchasing','technical','customs')
    AND EXISTS (SELECT 1 FROM contact_emails e WHERE e.contact_id = ct.id AND e.status <> 'invalid')
  GROUP BY ct.client_id
),
touched AS (
  SELECT DISTINCT client_id FROM touchpoints
  WHERE occurred_at >= date_trunc('year', ${asOf}::date)::timestamptz AND occurred_at < (${asOf}::date + 1)::timestamptz
),
base AS (
  SELECT c.id, c.marked_old, c.tier_override, coalesce(st.n_orders, 0) AS n, st.last_order, st.median_gap,
         coalesce(st.revenue, 0) AS revenue, st.prior_avg_amount, st.last_amount, st.last_order_id, r.rk, r.total,
         coalesce(rc.depts, ARRAY[]::text[]) AS depts
  FROM clients c
  LEFT JOIN stats st ON st.client_id = c.id
  LEFT JOIN ranked r ON r.client_id = c.id
  LEFT JOIN reach rc ON rc.client_id = c.id
  WHERE ${only}
),
${catSource}
-- one row a client: the age and the tier always, every other rule its reason when it holds (else NULL)
SELECT b.id AS client_id,
       CASE WHEN n >= ${s.oldAfterOrders}::int OR marked_old THEN 'old' WHEN n = 0 THEN 'prospect' ELSE 'new' END AS age,
       CASE WHEN n >= ${s.oldAfterOrders}::int THEN format('%s completed orders (old from %s)', n, ${s.oldAfterOrders}::int)
            WHEN marked_old THEN format('marked old by hand (%s completed orders)', n)
            WHEN n = 0 THEN 'no order yet'
            ELSE format('%s completed order%s (old from %s)', n, CASE WHEN n = 1 THEN '' ELSE 's' END, ${s.oldAfterOrders}::int) END AS age_reason,
       -- value tier by revenue rank
       coalesce(tier_override,
         CASE WHEN rk IS NULL THEN 'small'
              WHEN rk <= ceil(total * ${keyCut}::float8) THEN 'key'
              WHEN rk <= ceil(total * ${majorCut}::float8) THEN 'major'
              WHEN rk <= ceil(total * ${normalCut}::float8) THEN 'normal'
              ELSE 'small' END) AS tier,
       CASE WHEN tier_override IS NOT NULL THEN format('set by hand to %s', tier_override)
            WHEN rk IS NULL THEN format('no revenue in the last %s days', ${s.tierWindowDays}::int)
            ELSE format('revenue %s in the last %s days, rank %s of %s (top %s%%)',
                        to_char(revenue, 'FM999G999G999G990D00'), ${s.tierWindowDays}::int, rk, total,
                        to_char(100.0 * rk / total, 'FM990D0')) END AS tier_reason,
       -- dormant: an old client past its own usual interval
       CASE WHEN (n >= ${s.oldAfterOrders}::int OR marked_old) AND median_gap IS NOT NULL
                 AND (${asOf}::date - last_order) > greatest(median_gap, ${s.dormantMinIntervalDays}::int) * ${s.dormantFactor}::float8
            THEN format('median gap %s days x %s exceeded by %s days (last order %s)',
                        round(greatest(median_gap, ${s.dormantMinIntervalDays}::int)::numeric, 0), to_char(${s.dormantFactor}::numeric, 'FM990.09'),
                        round(((${asOf}::date - last_order) - greatest(median_gap, ${s.dormantMinIntervalDays}::int) * ${s.dormantFactor}::float8)::numeric, 0),
                        to_char(last_order, 'YYYY-MM-DD')) END AS dormant,
       -- order anomaly: the newest order's amount against the client's usual, then its categories (catreason)
       nullif(concat_ws('; ',
         CASE WHEN n >= 2 AND prior_avg_amount > 0 AND last_amount < prior_avg_amount * (1 - ${s.anomalyDropShare}::float8)
              THEN format('amount %s vs usual %s (-%s%%)', to_char(last_amount, 'FM999G999G999G990D00'), to_char(prior_avg_amount, 'FM999G999G999G990D00'),
                          round(100 * (1 - last_amount / prior_avg_amount))) END,
         cr.reason), '') AS order_anomaly,
       -- breadth: enough orders to need more than one department reachable
       CASE WHEN n >= ${s.breadthAfterOrders}::int AND cardinality(depts) < 3
            THEN format('%s orders, reachable in %s of purchasing/technical/customs (missing %s)', n, cardinality(depts),
                        array_to_string(ARRAY(SELECT d FROM unnest(ARRAY['purchasing','technical','customs']) d WHERE NOT d = ANY(depts)), ', ')) END AS narrow,
       CASE WHEN b.id NOT IN (SELECT client_id FROM touched)
            THEN format('no call, visit, meeting, gift or logged mail since %s', to_char(date_trunc('year', ${asOf}::date), 'YYYY-MM-DD')) END AS not_contacted
FROM base b
LEFT JOIN catreason cr ON cr.client_id = b.id
`;
}

/** Sorts and hashes over a million orders stay in memory instead of spilling to disk (default 4MB). */
const SEGMENT_WORK_MEM = '128MB';

/**
 * Session settings for the one big statement: enough work_mem to sort in memory; no JIT (PostgreSQL
 * compiled this query's ~190 expressions with LLVM for 2.7 s of a 13 s run, more than it saved); and
 * no hash joins: the planner hashed all million orders to meet their lines, where a merge join of the
 * two primary/foreign-key indexes, read in order, took half the CPU (1.5 s against 3.2 s measured on
 * the bench data); every other join here is of per-client rows, as cheap merged as hashed.
 */
async function tuneForSegments(trx: Kysely<Database>): Promise<void> {
  await sql.raw(`SET LOCAL work_mem = '${SEGMENT_WORK_MEM}'`).execute(trx);
  await sql.raw(`SET LOCAL jit = off`).execute(trx);
  await sql.raw(`SET LOCAL enable_hashjoin = off`).execute(trx);
}

export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** The stored columns of client_segments (all but computed_at), as the refresh writes them and storedSegments reads them. */
const STORED = ['client_id', 'age', 'age_reason', 'tier', 'tier_reason', 'dormant', 'order_anomaly', 'narrow', 'not_contacted'] as const;
const STORED_COLUMNS = sql.join(STORED.map((c) => sql.ref(c)));

/**
 * On PostgreSQL with a connection to spare, a whole refresh runs the category half of the anomaly rule
 * (about half the work) on a second connection, in the same snapshot (pg_export_snapshot), while the
 * first computes and stores the other rules: the two cores work at once. The category reasons are
 * appended to the stored rows at the end of the same transaction, so readers see all or nothing.
 */
function secondConnection(db: Db | Kysely<Database>, options: RefreshOptions): Db | null {
  if (!('kysely' in db) || options.clientId !== undefined || db.backend !== 'postgres' || (db.connections ?? 1) < 2) return null;
  return db;
}

type CategoryReasons = { client_id: number; reason: string }[];

/**
 * Runs fn in a REPEATABLE READ transaction and, beside it on another connection, the category
 * reasons in the very same snapshot. If the second connection cannot be had, the reasons are computed
 * in the first transaction after fn (same snapshot, one core).
 */

async function withCategoriesBeside<T>(db: Db, settings: SegmentSettings, asOf: string, fn: (trx: Kysely<Database>) => Promise<T>, finish: (trx: Kysely<Database>, main: T, categories: CategoryReasons) => Promise<T>): Promise<T> {
  return db.kysely.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    await tuneForSegments(trx);
    const snapshot = (await sql<{ s: string }>`SELECT pg_export_snapshot() AS s`.execute(trx)).rows[0]?.s ?? '';
    if (!/^[0-9A-F-]+$/i.test(snapshot)) throw new Error(`unexpected snapshot id ${JSON.stringify(snapshot)}`);
    const beside = db.kysely.transaction().setIsolationLevel('repeatable read').execute(async (t2) => {
      await sql.raw(`SET TRANSACTION SNAPSHOT '${snapshot}'`).execute(t2);
      await tuneForSegments(t2);
      return (await categoryReasonQuery(settings, asOf, undefined).execute(t2)).rows;
    });
    beside.catch(() => undefined); // awaited below; a failure of fn must not leave it unhandled
    const main = await fn(trx);
    const categories = await beside.catch(async () => (await categoryReasonQuery(settings, asOf, undefined).execute(trx)).rows);
    return finish(trx, main, categories);
  });
}

/** Recomputes client_segments (all clients, or one) in one transaction and returns the count of clients written. */
export async function refreshSegments(db: Db | Kysely<Database>, settings: SegmentSettings = defaultSegmentSettings, options: RefreshOptions = {}): Promise<number> {
  const kysely = 'kysely' in db ? db.kysely : db;
  const asOf = options.asOf ?? todayUtc();
  const store = async (trx: Kysely<Database>, categories: 'inline' | 'later'): Promise<number> => {
    // A whole refresh empties the table with TRUNCATE (rolled back with the rest on failure): after a DELETE
    // every new row would meet its dead twin in the primary key, which made the insert twice as slow.
    if (options.clientId === undefined) await sql`TRUNCATE client_segments`.execute(trx);
    else await trx.deleteFrom('client_segments').where('client_id', '=', options.clientId).execute();
    const q = segmentQuery(settings, asOf, options.clientId, categories);
    const res = await sql`INSERT INTO client_segments (${STORED_COLUMNS}) SELECT ${STORED_COLUMNS} FROM (${q}) seg`.execute(trx);
    return Number(res.numAffectedRows ?? 0);
  };
  const split = secondConnection(db, options);
  if (split) {
    return withCategoriesBeside(split, settings, asOf, (trx) => store(trx, 'later'), async (trx, n, categories) => {
      if (categories.length > 0) {
        await sql`UPDATE client_segments s SET order_anomaly = concat_ws('; ', s.order_anomaly, v.reason)
                    FROM unnest(${sql.val(categories.map((c) => Number(c.client_id)))}::bigint[], ${sql.val(categories.map((c) => c.reason))}::text[]) AS v(client_id, reason)
                   WHERE s.client_id = v.client_id`.execute(trx);
      }
      return n;
    });
  }
  return kysely.transaction().execute(async (trx) => {
    await tuneForSegments(trx);
    return store(trx, 'inline');
  });
}

/** By client, then by segment name within the client (a handful each: sorting all ~550,000 pairs with localeCompare took seconds). */
function asPairs(rows: readonly SegmentRow[]): ClientSegment[] {
  return rows
    .map((r) => ({ id: Number(r.client_id), r }))
    .sort((a, b) => a.id - b.id)
    .flatMap(({ id, r }) => segmentsOf(r).sort((a, b) => a.segment.localeCompare(b.segment)).map((x) => ({ clientId: id, segment: x.segment, reason: x.reason })));
}

/** The segments as stored by the last refresh (all clients, or one), as computeSegments gives them. */
export async function storedSegments(db: Db | Kysely<Database>, options: { clientId?: number } = {}): Promise<ClientSegment[]> {
  const kysely = 'kysely' in db ? db.kysely : db;
  let q = kysely.selectFrom('client_segments').select(STORED);
  if (options.clientId !== undefined) q = q.where('client_id', '=', options.clientId);
  return asPairs(await q.execute());
}

/** Computes segments without storing them. */
export async function computeSegments(db: Db | Kysely<Database>, settings: SegmentSettings = defaultSegmentSettings, options: RefreshOptions = {}): Promise<ClientSegment[]> {
  const kysely = 'kysely' in db ? db.kysely : db;
  const asOf = options.asOf ?? todayUtc();
  const split = secondConnection(db, options);
  const res = split
    ? await withCategoriesBeside(split, settings, asOf, (trx) => segmentQuery(settings, asOf, undefined, 'later').execute(trx), async (_trx, main, categories) => {
        const byClient = new Map(categories.map((c) => [Number(c.client_id), c.reason]));
        for (const r of main.rows) {
          const extra = byClient.get(Number(r.client_id));
          if (extra !== undefined) r.order_anomaly = r.order_anomaly === null ? extra : `${r.order_anomaly}; ${extra}`;
        }
        return main;
      })
    : await kysely.transaction().execute(async (trx) => {
        await tuneForSegments(trx);
        return segmentQuery(settings, asOf, options.clientId).execute(trx);
      });
  return asPairs(res.rows);
}
