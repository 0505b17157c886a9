import { sql, type RawBuilder } from 'kysely';

/** SQL condition: the message (alias m) is an automatic reply or bulk mail (RFC 3834 headers, common subjects). */
export function isAutoMessage(): RawBuilder<boolean> {
  return sql<boolean>`(coalesce(lower(m.headers->>'auto-submitted'), 'no') <> 'no'
    OR coalesce(lower(m.headers->>'precedence'), '') IN ('bulk','auto_reply','junk','list')
    OR m.headers ? 'x-autoreply' OR m.headers ? 'x-autorespond' OR m.headers ? 'x-auto-response-suppress' AND coalesce(m.subject, '') ~* '(out of|automatic|auto)'
    OR coalesce(m.subject, '') ~* '^\\s*(auto(matic)?[ -]?(reply|response)|out of (the )?office|abwesenheit|abwesend|automatische antwort|r[ée]ponse automatique|absence|fuera de la oficina|respuesta autom[aá]tica|自动回复|不在办公室)')`;
}

/** SQL condition: the message (alias m) is an out-of-office reply. */
export function isOutOfOffice(): RawBuilder<boolean> {
  return sql<boolean>`(coalesce(m.subject, '') ~* '(out of (the )?office|abwesen|absence|absent|fuera de la oficina|自动回复|不在办公室|休假|auto(matic)?[ -]?reply|r[ée]ponse automatique|automatische antwort)'
    OR lower(coalesce(m.headers->>'auto-submitted', '')) = 'auto-replied' OR m.headers ? 'x-autoreply')`;
}
