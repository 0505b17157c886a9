// The words triage looks for, by language. Each term: a pattern, the label shown in reasons, a weight.
// Latin-script terms match on word starts; CJK and Arabic terms match anywhere.

export interface Term {
  readonly re: RegExp;
  readonly label: string;
  readonly weight: number;
}

function t(pattern: string, weight = 1, label?: string): Term {
  const cjkOrArabic = /[\u0600-\u06ff\u3000-\u9fff\uff00-\uffef]/.test(pattern);
  const re = new RegExp(cjkOrArabic ? `(?:${pattern})` : `(?<![\\p{L}\\p{N}])(?:${pattern})`, 'iu');
  return { re, label: label ?? pattern.replace(/\\s\+|\\s\*|\\s/g, ' ').replace(/[\\()?:|[\]+*.^$]/g, '').slice(0, 40), weight };
}

const unions = new WeakMap<readonly Term[], RegExp>();

/** First match of any term, with the matched text as label. */
export function findTerms(text: string, terms: readonly Term[]): Array<{ term: Term; match: string }> {
  // One combined test first: most lists match nothing in most mail.
  let union = unions.get(terms);
  if (!union) {
    union = new RegExp(terms.map((x) => `(?:${x.re.source})`).join('|'), 'iu');
    unions.set(terms, union);
  }
  if (!union.test(text)) return [];
  const out: Array<{ term: Term; match: string }> = [];
  for (const term of terms) {
    const m = term.re.exec(text);
    if (m) out.push({ term, match: m[0] });
  }
  return out;
}

// ---------------------------------------------------------------- urgency
export const URGENT_WORDS: readonly Term[] = [
  t('urgent(ly)?|urgency'), t('asap|a\\.s\\.a\\.p'), t('as soon as possible'), t('rush(ed)? order|in a rush'), t('immediately|right away|at once'),
  t('emergency'), t('top priority'),
  t('紧急'), t('加急'), t('尽快|盡快'), t('急需|急用|急件'), t('马上|立即|立刻'),
  t('urgente|urgencia|en urgence'), t('lo antes posible|cuanto antes|inmediatamente'),
  t('dringend|eilig|eilt'), t('sofort|umgehend|schnellstmöglich'),
  t('dès que possible|au plus vite|immédiatement'),
  t('o mais rápido possível|imediatamente'),
  t('срочно|срочн\\p{L}*|немедленно|как можно скорее'),
  t('عاجل|فورا|في أقرب وقت'), t('urgentemente|al più presto'),
];

export const CALL_REQUEST: readonly Term[] = [
  t('call me|please call|give me a call|phone me|ring me'), t('打电话|给我电话|回电'), t('llámame|llámeme|llamar'), t('rufen Sie mich|anrufen|Rückruf an'),
  t('appelez-moi|appelle-moi'), t('me ligue|ligue-me'), t('позвоните'), t('اتصل بي'),
];

export const NO_RUSH: readonly Term[] = [
  t('no rush|not urgent|no hurry|whenever you have (a moment|time)|at your convenience|when(ever)? (it is )?convenient|when possible|no need to hurry'),
  t('不急|不着急|不用急|有空'), t('sin prisa|no es urgente|cuando pueda'), t('keine Eile|nicht dringend|wenn Sie Zeit'), t('pas urgent|pas pressé|sans urgence|quand vous (pourrez|aurez)'),
  t('sem pressa|não é urgente'), t('не срочно'), t('ليس عاجلا'), t('non è urgente'),
];

export const CHASER: readonly Term[] = [
  t('(second|third|fourth|\\d+(st|nd|rd|th)) (mail|email|e-mail|reminder|time I write)'), t('without (an )?(answer|reply|response)|no (answer|reply|response) (yet|from you)|still (no|waiting)|haven\'t heard|have not heard|did not (answer|reply)'),
  t('reminder'), t('催|再次提醒|还没回复|仍未回复|没有回复'), t('recordatorio|sin respuesta'), t('Erinnerung|keine Antwort'), t('relance|sans réponse'), t('lembrete|sem resposta'), t('напоминание|без ответа'),
];

// ---------------------------------------------------------------- complaints
export const COMPLAINT_STRONG: readonly Term[] = [
  t('complain(t|ts|ing)?'), t('defect(ive|s)?|faulty|malfunction'), t('damaged|broken|cracked|dented|crushed|deformed'), t('refund'), t('claim (the|for|compensation)|we (will|shall) claim|our claim'),
  t('wrong (colou?r|goods|items?|product|model|size|quantity)'), t('(short|missing) \\d+|\\d+ (cartons|pcs|pieces|units) (are )?(missing|short)'), t('disappoint(ed|ing)'), t('dispute'), t('discrepanc(y|ies)'),
  t('leak(s|ing|age)?'), t('caught fire|catch(es)? fire|on fire|melted|(does|do|did)( not|n\'t) work|stopped working|not working|won\'t (light|ignite|start|work)|pulled .{0,30}from sale|(can\'t|cannot|could not|couldn\'t) sell'), t('rust(y|ed)?|torn|ripped|dents'), t('gas leak|recall(ed)?|withdrawn from sale'), t('quality (problem|issue|complaint)|poor (quality|welding)|not satisfied|unacceptable'), t('compensation|credit note'), t('stop shipment|hold (the )?(current )?production'),
  t('投诉'), t('质量问题|品质问题'), t('退货|退款'), t('索赔|赔偿'), t('漏气|变形|断裂|破损|损坏|次品|不良品'), t('少发|错发|漏发'), t('点不着|打不着|不能用|无法使用|坏了|退回来|退回|给个说法|不满意|划痕|生锈|掉漆|凹陷'),
  t('reclamaci[oó]n|queja'), t('defectuos[oa]s?|con defecto'), t('rot[oa]s'), t('fuga de gas|retirad[oa]s? .{0,40}(venta|tiendas)'), t('no funciona(n)?|abollad[oa]s?|rayad[oa]s?|da[ñn]ad[oa]s?|oxidad[oa]s?'), t('reembolso'), t('faltan \\d+'), t('nota de cr[eé]dito'), t('exigimos'),
  t('Reklamation|Beanstandung|Mängelrüge'), t('beschädigt|defekt'), t('Gasleck|undicht|zurückgerufen|Rückruf'), t('Kratzer|Dellen?|verbeult|zerkratzt|kaputt|gebrochen|funktionier(t|en) nicht|nicht verkaufen|Mängel|Schaden'), t('Gutschrift'), t('verletzt|verbrannt'),
  t('r[ée]clamation'), t('d[ée]fectueu(x|se|ses)'), t('endommag[ée]'), t('fuite de gaz|fuite|retir[ée]e?s? de la vente'), t('cass[ée]e?s?|abîm[ée]e?s?|ray[ée]e?s?|ne fonctionne(nt)? pas|un avoir|rouill[ée]'), t('rembours'), t('d[ée]color'),
  t('reclama[çc][ãa]o'), t('defeito'), t('devolu[çc][ãa]o do dinheiro|reembolso'), t('quebrad[oa]s?'), t('vazamento( de g[áa]s)?|recolhid[oa]s?'), t('amassad[oa]s?|riscad[oa]s?|danificad[oa]s?|não funciona(m)?|enferrujad[oa]s?'),
  t('претензи\\p{L}*'), t('брак\\p{L}*'), t('возврат денег'), t('поврежд\\p{L}*|дефект\\p{L}*'), t('утечк\\p{L}*'), t('вмятин\\p{L}*|царапин\\p{L}*|порван\\p{L}*|сломан\\p{L}*|разбит\\p{L}*|не работа\\p{L}*|компенс\\p{L}*|ржав\\p{L}*'),
  t('شكوى'), t('تالف'), t('التعويض|تعويض'), t('معيب'), t('تسرب'), t('مكسور|لا يعمل|خدوش|تلف'),
  t('reclamo'), t('difettos[io]'), t('rott[io]|non funziona(no)?|graffi|ammaccat[io]'), t('rimborso'),
];
export const COMPLAINT_WEAK: readonly Term[] = [
  t('delay(ed)?|late (delivery|shipment)|still (have )?no B/?L'), t('scratch(es|ed)?'), t('returning them|customers are returning'), t('what (has )?happened|explain what'), t('replacement (plan|parts or)'),
  t('延误|延迟|拖延'), t('retraso'), t('Verspätung|verspätet'), t('retard'), t('atraso'), t('задержк\\p{L}*'), t('sostituzione|reposici[oó]n|remplacement|troca|استبدال'),
];
/** Words that make a complaint severe (safety, injury, recall). */
export const SEVERITY_SAFETY: readonly Term[] = [
  t('gas leak|leak(s|ing)?|fire|burn(ed|t)?|injur(y|ed)|safety|recall|explo'), t('漏气|(?<!不)着火|起火|烧伤|受伤|差点出事|安全'), t('fuga de gas|incendio|herido'), t('caught fire|catch(es)? fire|on fire|melted'), t('冒烟|烧焦'),
  t('verletzt|verbrannt|Rückruf|Sicherheit'), t('fuite de gaz|bless[ée]|rappel'), t('vazamento|ferido'), t('утечк\\p{L}*|пожар|травм\\p{L}*'),
];
export const SEVERITY_MONEY: readonly Term[] = [
  t('claim|refund|compensation|credit note|demurrage|penalt(y|ies)|lose the season|losing'), t('索赔|赔偿|退款|罚款'), t('reembolso|nota de cr[eé]dito|indemniza'), t('Gutschrift|Schadenersatz|Vertragsstrafe'), t('un avoir'),
  t('rembours|p[ée]nalit'), t('devolu[çc][ãa]o do dinheiro'), t('возврат денег|штраф|компенс\\p{L}*'), t('تعويض'),
];
/** A complaint-looking word in a question about policy is not a complaint. */
export const HYPOTHETICAL: readonly Term[] = [t('(return|warranty|refund) policy|before we (order|place)|in case (of|the)|if (the|any) .{0,30}(arrive|is|are) (defective|damaged)')];

// ---------------------------------------------------------------- orders
export const ORDER_TERMS: readonly Term[] = [
  t('purchase order', 2), t('P\\.?O\\.? ?(#|no\\.?|number)? ?[A-Z]{0,3}-?\\d{3,}', 1), t('artwork|shipping marks|唛头|packaging (design|approval)', 2), t('(signed|revised|corrected)? ?PI\\b|proforma|pro-forma', 1), t('order confirmation|confirm (the|our) order|place (the|an|our) order', 1),
  t('deposit (paid|has been paid|wired|will be paid)|wired the .{0,20}deposit|bank slip', 2), t('change (to )?(the )?PO|increase .{0,30}from \\d|cancel the', 1), t('(attached|enclosed|find) (our|the) (signed )?(PO|purchase order|order|contract)', 2),
  t('订单|下单|追加订单', 2), t('采购合同|合同', 2), t('形式发票|订金|定金|预付款', 2),
  t('orden de compra|confirmamos el pedido|pedido de compra', 2), t('pedido (n[ºo°]\\.? ?)?\\d+', 1), t('proforma', 1),
  t('Bestellung|Auftragsbestätigung|Auftrag', 2), t('bon de commande|commande n', 2), t('заказ\\p{L}*', 1), t('инвойс|предоплат\\p{L}*', 1),
  t('أمر شراء|طلبية جديدة', 2), t('ordine d\'acquisto|conferma d\'ordine', 2),
];

// ---------------------------------------------------------------- logistics and documents
export const LOGISTICS_TERMS: readonly Term[] = [
  t('B/L|bill of lading|draft B/?L', 2), t('ETD|ETA|vessel|container (was )?rolled|booking|shipping instructions|cargo ready', 2), t('certificate of origin|Form A|packing list|commercial invoice|shipping documents?', 2),
  t('customs|demurrage|forwarder', 1), t('tracking (number|no)|DHL|FedEx|UPS tracking', 2), t('(ship|shipping|loading|delivery) date|when .{0,20}ship|inspection|loading|production (status|photos)|photos from the line|how is production', 2),
  t('装箱单|提单|产地证|报关|清关|物流|单号|船期|装柜|发货|唛头|验货', 2),
  t('conocimiento de embarque|certificado de origen|factura comercial|aduana|embarque|documentos de embarque', 2),
  t('Konnossement|Ursprungszeugnis|Verschiffung|Liefertermin|Versanddokumente|Zoll', 2),
  t('connaissement|certificat d\'origine|date d\'exp[ée]dition|exp[ée]dition|douane|facture commerciale|liste de colisage|transitaire|d[ée]douanement', 2),
  t('conhecimento de embarque|certificado de origem|desembara[çc]o|aduaneiro', 2),
  t('коносамент|упаковочный лист|сертификат происхождения|отгрузк\\p{L}*|таможн\\p{L}*', 2),
  t('بوليصة الشحن|شهادة المنشأ|قائمة التعبئة|مستندات الشحن', 2),
];

// ---------------------------------------------------------------- inquiries
export const INQUIRY_TERMS: readonly Term[] = [
  t('quot(e|ation|ing)|RFQ|request for quotation|invitation to quote|tender', 2), t('price(s| list)?|pricing|best price|offer|cost(s)?|how much', 1), t('sample(s)?', 1), t('MOQ|minimum order', 1), t('catalog(ue)?', 1),
  t('interested in|looking for|we need|can you (do|offer|make|customi[sz]e|send)|do you (also )?(make|produce|sell|offer)|would you sell|what is (your|the)|question', 1),
  t('询价|询盘|报价|价格|价钱|目录|样品|求购|采购', 2),
  t('cotizaci[oó]n|cotizar|presupuesto|precio|lista de precios|cat[aá]logo|solicitud', 2),
  t('Anfrage|Angebot|Preisanfrage|Preisliste|Muster|Katalog', 2), t('devis|demande de prix|tarifs?|prix|catalogue', 2),
  t('cota[çc][ãa]o|pre[çc]o|tabela de pre[çc]os|cat[aá]logo', 2), t('запрос|коммерческое предложение|прайс|цен\\p{L}*|образ\\p{L}*|каталог', 2),
  t('عرض سعر|أسعار|قائمة الأسعار|الكتالوج', 2), t('offerta|preventivo|listino', 2),
];

// ---------------------------------------------------------------- not for triage
export const AUTO_REPLY_SUBJECT = /^(\s*(re|aw|fw|fwd)\s*:)?\s*(auto(matic|matische|mated)?[ -]?(reply|response|antwort)|autoreply|auto-reply|out of (the )?office|ooo\b|abwesenheitsnotiz|abwesend|automatische antwort|r[ée]ponse automatique|absence|absent|respuesta autom[aá]tica|fuera de la oficina|resposta autom[aá]tica|ausente|risposta automatica|fuori ufficio|afwezig|automatisch antwoord|автоответ|автоматический ответ|自动回复|自動回覆|自动答复|休假|不在办公室|رد تلقائي|خارج المكتب|\[ticket #?\d+\]\s*we received)/iu;
export const AUTO_REPLY_BODY = /^\s*(【自动回复】|\[自动回复\]|\[auto[- ]?reply\]|this is an automa(ted|tic) (message|reply|response))/iu;
export const OUT_OF_OFFICE_BODY = /(i am|i'm) (currently )?(out of (the )?office|away|on (annual )?leave|on vacation|on holiday)|je suis absente?|estar[ée] fuera de la oficina|ich bin (bis|vom)|nicht im büro|estou fora do escrit|я в отпуске|我正在休假|我已休假|أنا خارج المكتب/iu;
export const BOUNCE_SUBJECT = /(undeliver(ed|able)|delivery (status notification|failure|has failed)|mail delivery (failed|subsystem)|returned mail|failure notice|non remis|unzustellbar|nicht zugestellt|no se (pudo|puede) entregar|no entregado|não entregue|недоставлен|退信|投递失败|无法投递|系统退信|تعذر التسليم)/iu;
export const BOUNCE_SENDER = /^(mailer-daemon|postmaster|mail-daemon|bounce[s]?|mdaemon)@/i;
export const UNSUBSCRIBE_BODY = /(unsubscribe|opt[- ]out|to stop receiving|abmelden|se d[ée]sinscrire|se d[ée]sabonner|darse de baja|cancelar suscri|descadastr|отписаться|退订|取消订阅|إلغاء الاشتراك)/iu;

/** Marketplace relays: inquiry notifications come from these, on behalf of a buyer. */
export const RELAY_DOMAINS: readonly string[] = [
  'alibaba.com', 'aliexpress.com', '1688.com', 'made-in-china.com', 'globalsources.com', 'dhgate.com', 'ec21.com', 'ecplaza.net', 'tradekey.com',
  'indiamart.com', 'tradeindia.com', 'amazon.com', 'europages.com', 'kompass.com', 'thomasnet.com', 'hktdc.com', 'exporthub.com',
];
export const RELAY_INQUIRY = /(new inquiry|inquiry from|buyer inquiry|product inquiry|sent you an inquiry|received a new inquiry|询盘|询价|new message from buyer|rfq)/iu;

// ---------------------------------------------------------------- one-to-one vs mass
export const GENERIC_SALUTATION = /^(dear|hello|hi|to)?\s*(sir|sirs|sir\/madam|sir or madam|sir\(s\)|madam|supplier|suppliers|manufacturer|vendor|vendors|all vendors|all suppliers|prospective suppliers|seller|valued supplier|friend|purchasing manager|sales manager|whom it may concern|sales team|hello suppliers)\b|^尊敬的(供应商|先生|女士|卖家|厂家)|^各(位)?供应商|^(estimados|estimado) (señores|proveedor(es)?|sres)|^(sehr geehrte damen und herren)|^madame,? monsieur|^(mesdames|messieurs)|^prezados (senhores|fornecedores)|^уважаемые (господа|коллеги|поставщики)|^السادة|^gentili signori|^to all/iu;
export const BARE_GREETING = /^(hello|hi|hey|good (morning|day)|您好|你好|hola|bonjour|hallo|olá|здравствуйте|مرحبا)[\s,，:：!！.]*$/iu;
export const CATALOGUE_REQUEST = /(price ?list|catalog(ue)?|company profile|目录|价格表|价目表|lista de precios|cat[aá]logo|preisliste|katalog|tarifs|tabela de pre[çc]os|прайс|каталог|قائمة الأسعار|listino)/iu;
export const PRIOR_CONTACT = /(as discussed|further to|following (our|up)|our (last|previous) order|our call|we met|meeting us|at the (canton )?fair|recommended|suite à notre|wie besprochen|como (hablamos|conversamos)|上次|之前|展会上|ранее обсуждали)/iu;
export const CHINESE_PERSONAL_GREETING = /^[\p{Script=Han}]{1,3}(经理|小姐|先生|女士|总|工|老师)(您好)?[：:，,！!]?/u;
