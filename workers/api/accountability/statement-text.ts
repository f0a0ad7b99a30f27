// The user-readable statement of reasons a platform sends the person whose content or account it
// acted on after a match (DSA Art. 17(3); TCO Art. 11): what was done, on what legal ground, how it
// was decided (an automated match, then a human review), and every way to challenge it. The fixed
// parts are written here in plain language in English, Dutch, German and French; the variable parts
// (the authority's national provision, the reviewer, the platform's complaint page) are inserted as
// the platform and the authority gave them. Pure: the same inputs always give the same text.
import {
  EU_SCOPE,
  type StatementAction,
  type StatementGround,
  type StatementLanguage,
  type StatementRecord,
  type UserStatement,
} from "@eusn/protocol";

export type StatementInput = {
  id: string;
  record: StatementRecord;
  ground: StatementGround;
  platformName: string;
};

type Texts = {
  title: string;
  intro: (platform: string, id: string) => string;
  headings: { did: string; why: string; how: string; routes: string };
  actions: Record<StatementAction, (scope: string) => string>;
  scopeEu: string;
  scopeList: (countries: string) => string;
  posted: (ref: string, posted: string, applied: string) => string;
  why: (authority: string, country: string, articles: string, limbs: string, provision: string) => string;
  limbs: Record<string, string>;
  article: (limbs: string[]) => string;
  and: string;
  how: (reviewer: string, date: string) => string;
  routes: (url: string, body: string | undefined) => string;
  basis: string;
};

/** TCO Art. 2(7) limbs in plain words; the official wording is in the Regulation. */
const EN: Texts = {
  title: "Statement of reasons: why we acted on your content",
  intro: (p, id) => `From ${p}. Reference of this statement: ${id}.`,
  headings: { did: "What we did", why: "Why", how: "How we decided", routes: "What you can do" },
  actions: {
    content_removed: () => "We removed your content.",
    access_disabled: (s) => `We disabled access to your content ${s}.`,
    account_suspended: () => "We suspended your account.",
    account_terminated: () => "We closed your account.",
  },
  scopeEu: "in the European Union",
  scopeList: (c) => `in these countries: ${c}`,
  posted: (ref, posted, applied) =>
    `This concerns your content with our reference ${ref}, posted on ${posted}. The action took effect on ${applied}.`,
  why: (authority, country, articles, limbs, provision) =>
    `Your content matches material that ${authority}, competent authority (${country}), has assessed as terrorist content. The legal ground is ${articles} of Regulation (EU) 2021/784 on addressing the dissemination of terrorist content online: material that ${limbs}. The authority also relies on this national law: ${provision}.`,
  limbs: {
    a: "incites people to commit terrorist offences, for example by glorifying terrorist attacks",
    b: "asks people to commit or contribute to terrorist offences",
    c: "asks people to take part in the activities of a terrorist group",
    d: "gives instructions for making or using weapons, explosives or dangerous substances to commit terrorist offences",
    e: "threatens to commit a terrorist offence",
  },
  article: (l) => `Article 2(7)(${l.join(") and (")})`,
  and: "; or ",
  how: (reviewer, date) =>
    `A computer found the match automatically, by comparing a digital fingerprint (a hash) of your content with fingerprints that competent authorities share through the EU Signal Network. A fingerprint does not contain the content itself. The match alone did not decide: a person (${reviewer}) reviewed it on ${date} before we acted.`,
  routes: (url, body) =>
    [
      "If you think this decision is wrong, you can:",
      `1. complain to us, free of charge: ${url} (our complaint procedure under Article 10 of Regulation (EU) 2021/784 and Article 20 of the Digital Services Act). We will look at your complaint again, and a person will decide on it.`,
      `2. take the dispute to a certified out-of-court dispute settlement body (Article 21 of the Digital Services Act)${body ? `, for example ${body}` : ""}.`,
      "3. go to court in the member state concerned.",
      "Using one of these routes does not stop you from using another.",
    ].join("\n"),
  basis:
    "We give you this statement under Article 17 of the Digital Services Act (Regulation (EU) 2022/2065) and Article 11 of Regulation (EU) 2021/784.",
};

const NL: Texts = {
  title: "Motivering: waarom we maatregelen hebben genomen tegen uw content",
  intro: (p, id) => `Van ${p}. Kenmerk van deze motivering: ${id}.`,
  headings: {
    did: "Wat we hebben gedaan",
    why: "Waarom",
    how: "Hoe we hebben besloten",
    routes: "Wat u kunt doen",
  },
  actions: {
    content_removed: () => "We hebben uw content verwijderd.",
    access_disabled: (s) => `We hebben de toegang tot uw content geblokkeerd ${s}.`,
    account_suspended: () => "We hebben uw account tijdelijk opgeschort.",
    account_terminated: () => "We hebben uw account opgeheven.",
  },
  scopeEu: "in de Europese Unie",
  scopeList: (c) => `in deze landen: ${c}`,
  posted: (ref, posted, applied) =>
    `Het gaat om uw content met ons kenmerk ${ref}, geplaatst op ${posted}. De maatregel geldt sinds ${applied}.`,
  why: (authority, country, articles, limbs, provision) =>
    `Uw content komt overeen met materiaal dat ${authority}, bevoegde autoriteit (${country}), heeft beoordeeld als terroristische inhoud. De wettelijke grondslag is ${articles} van Verordening (EU) 2021/784 inzake het tegengaan van de verspreiding van terroristische online-inhoud: materiaal dat ${limbs}. De autoriteit baseert zich ook op dit nationale recht: ${provision}.`,
  limbs: {
    a: "tot het plegen van terroristische misdrijven aanzet, bijvoorbeeld door terroristische aanslagen te verheerlijken",
    b: "mensen oproept terroristische misdrijven te plegen of daaraan bij te dragen",
    c: "mensen oproept deel te nemen aan de activiteiten van een terroristische groep",
    d: "instructies geeft voor het maken of gebruiken van wapens, explosieven of gevaarlijke stoffen om terroristische misdrijven te plegen",
    e: "dreigt met het plegen van een terroristisch misdrijf",
  },
  article: (l) => `artikel 2, punt 7, onder ${l.map((x) => `${x})`).join(" en ")}`,
  and: "; of ",
  how: (reviewer, date) =>
    `Een computer heeft de overeenkomst automatisch gevonden, door een digitale vingerafdruk (een hash) van uw content te vergelijken met vingerafdrukken die bevoegde autoriteiten delen via het EU Signal Network. Een vingerafdruk bevat de content zelf niet. De overeenkomst alleen was niet beslissend: een mens (${reviewer}) heeft haar op ${date} beoordeeld voordat we iets deden.`,
  routes: (url, body) =>
    [
      "Vindt u dat dit besluit niet klopt? Dan kunt u:",
      `1. gratis een klacht bij ons indienen: ${url} (onze klachtenprocedure volgens artikel 10 van Verordening (EU) 2021/784 en artikel 20 van de digitaledienstenverordening). We bekijken uw zaak opnieuw en een mens beslist over uw klacht.`,
      `2. het geschil voorleggen aan een gecertificeerde instantie voor buitengerechtelijke geschillenbeslechting (artikel 21 van de digitaledienstenverordening)${body ? `, bijvoorbeeld ${body}` : ""}.`,
      "3. naar de rechter gaan in de betrokken lidstaat.",
      "Als u één van deze wegen kiest, kunt u de andere nog steeds gebruiken.",
    ].join("\n"),
  basis:
    "U ontvangt deze motivering op grond van artikel 17 van de digitaledienstenverordening (Verordening (EU) 2022/2065) en artikel 11 van Verordening (EU) 2021/784.",
};

const DE: Texts = {
  title: "Begründung: warum wir gegen Ihren Inhalt vorgegangen sind",
  intro: (p, id) => `Von ${p}. Aktenzeichen dieser Begründung: ${id}.`,
  headings: {
    did: "Was wir getan haben",
    why: "Warum",
    how: "Wie wir entschieden haben",
    routes: "Was Sie tun können",
  },
  actions: {
    content_removed: () => "Wir haben Ihren Inhalt entfernt.",
    access_disabled: (s) => `Wir haben den Zugang zu Ihrem Inhalt ${s} gesperrt.`,
    account_suspended: () => "Wir haben Ihr Konto vorübergehend gesperrt.",
    account_terminated: () => "Wir haben Ihr Konto geschlossen.",
  },
  scopeEu: "in der Europäischen Union",
  scopeList: (c) => `in diesen Ländern (${c})`,
  posted: (ref, posted, applied) =>
    `Es geht um Ihren Inhalt mit unserem Zeichen ${ref}, veröffentlicht am ${posted}. Die Maßnahme gilt seit ${applied}.`,
  why: (authority, country, articles, limbs, provision) =>
    `Ihr Inhalt stimmt mit Material überein, das ${authority}, zuständige Behörde (${country}), als terroristischen Inhalt eingestuft hat. Rechtsgrundlage ist ${articles} der Verordnung (EU) 2021/784 zur Bekämpfung der Verbreitung terroristischer Online-Inhalte: Material, das ${limbs}. Die Behörde stützt sich außerdem auf dieses nationale Recht: ${provision}.`,
  limbs: {
    a: "zur Begehung terroristischer Straftaten anstiftet, zum Beispiel durch die Verherrlichung terroristischer Anschläge",
    b: "Menschen auffordert, terroristische Straftaten zu begehen oder dazu beizutragen",
    c: "Menschen auffordert, sich an den Aktivitäten einer terroristischen Vereinigung zu beteiligen",
    d: "Anleitungen zur Herstellung oder Verwendung von Waffen, Sprengstoffen oder gefährlichen Stoffen gibt, um terroristische Straftaten zu begehen",
    e: "mit der Begehung einer terroristischen Straftat droht",
  },
  article: (l) => `Artikel 2 Nummer 7 Buchstabe${l.length > 1 ? "n" : ""} ${l.join(" und ")}`,
  and: "; oder ",
  how: (reviewer, date) =>
    `Ein Computer hat die Übereinstimmung automatisch gefunden, indem er einen digitalen Fingerabdruck (einen Hash) Ihres Inhalts mit Fingerabdrücken verglichen hat, die zuständige Behörden über das EU Signal Network teilen. Ein Fingerabdruck enthält den Inhalt selbst nicht. Die Übereinstimmung allein hat nicht entschieden: Ein Mensch (${reviewer}) hat sie am ${date} geprüft, bevor wir gehandelt haben.`,
  routes: (url, body) =>
    [
      "Wenn Sie diese Entscheidung für falsch halten, können Sie:",
      `1. sich kostenlos bei uns beschweren: ${url} (unser Beschwerdeverfahren nach Artikel 10 der Verordnung (EU) 2021/784 und Artikel 20 des Gesetzes über digitale Dienste). Wir prüfen Ihren Fall erneut, und ein Mensch entscheidet über Ihre Beschwerde.`,
      `2. den Streit einer zertifizierten außergerichtlichen Streitbeilegungsstelle vorlegen (Artikel 21 des Gesetzes über digitale Dienste)${body ? `, zum Beispiel ${body}` : ""}.`,
      "3. vor Gericht gehen, in dem betroffenen Mitgliedstaat.",
      "Wenn Sie einen dieser Wege nutzen, bleiben Ihnen die anderen offen.",
    ].join("\n"),
  basis:
    "Sie erhalten diese Begründung nach Artikel 17 des Gesetzes über digitale Dienste (Verordnung (EU) 2022/2065) und Artikel 11 der Verordnung (EU) 2021/784.",
};

const FR: Texts = {
  title: "Exposé des motifs : pourquoi nous avons agi sur votre contenu",
  intro: (p, id) => `De la part de ${p}. Référence du présent exposé : ${id}.`,
  headings: {
    did: "Ce que nous avons fait",
    why: "Pourquoi",
    how: "Comment nous avons décidé",
    routes: "Ce que vous pouvez faire",
  },
  actions: {
    content_removed: () => "Nous avons retiré votre contenu.",
    access_disabled: (s) => `Nous avons bloqué l'accès à votre contenu ${s}.`,
    account_suspended: () => "Nous avons suspendu votre compte pour une durée limitée.",
    account_terminated: () => "Nous avons fermé votre compte.",
  },
  scopeEu: "dans l'Union européenne",
  scopeList: (c) => `dans ces pays : ${c}`,
  posted: (ref, posted, applied) =>
    `Il s'agit de votre contenu portant notre référence ${ref}, publié le ${posted}. La mesure s'applique depuis le ${applied}.`,
  why: (authority, country, articles, limbs, provision) =>
    `Votre contenu correspond à du matériel que ${authority}, autorité compétente (${country}), a qualifié de contenu à caractère terroriste. La base juridique est ${articles} du règlement (UE) 2021/784 relatif à la lutte contre la diffusion des contenus à caractère terroriste en ligne : du matériel qui ${limbs}. L'autorité s'appuie aussi sur ce droit national : ${provision}.`,
  limbs: {
    a: "incite à commettre des infractions terroristes, par exemple en glorifiant des attentats terroristes",
    b: "demande à des personnes de commettre des infractions terroristes ou d'y contribuer",
    c: "demande à des personnes de participer aux activités d'un groupe terroriste",
    d: "donne des instructions pour fabriquer ou utiliser des armes, des explosifs ou des substances dangereuses afin de commettre des infractions terroristes",
    e: "menace de commettre une infraction terroriste",
  },
  article: (l) => `l'article 2, point 7), ${l.map((x) => `${x})`).join(" et ")}`,
  and: " ; ou ",
  how: (reviewer, date) =>
    `Un ordinateur a trouvé la correspondance automatiquement, en comparant une empreinte numérique (un hachage) de votre contenu avec les empreintes que les autorités compétentes partagent via le réseau EU Signal Network. Une empreinte ne contient pas le contenu lui-même. La correspondance seule n'a pas décidé : une personne (${reviewer}) l'a examinée le ${date} avant que nous agissions.`,
  routes: (url, body) =>
    [
      "Si vous pensez que cette décision est erronée, vous pouvez :",
      `1. nous adresser une réclamation, gratuitement : ${url} (notre procédure de réclamation prévue à l'article 10 du règlement (UE) 2021/784 et à l'article 20 du règlement sur les services numériques). Nous réexaminerons votre cas et une personne statuera sur votre réclamation.`,
      `2. soumettre le litige à un organisme certifié de règlement extrajudiciaire des litiges (article 21 du règlement sur les services numériques)${body ? `, par exemple ${body}` : ""}.`,
      "3. saisir la justice dans l'État membre concerné.",
      "Utiliser l'une de ces voies ne vous empêche pas d'utiliser les autres.",
    ].join("\n"),
  basis:
    "Vous recevez cet exposé en application de l'article 17 du règlement sur les services numériques (règlement (UE) 2022/2065) et de l'article 11 du règlement (UE) 2021/784.",
};

export const STATEMENT_TEXTS: Record<StatementLanguage, Texts> = { en: EN, nl: NL, de: DE, fr: FR };

/** A country's name in `lang` (ICU), or its code where the runtime has no name for it. */
export function countryName(code: string, lang: StatementLanguage): string {
  try {
    return new Intl.DisplayNames([lang], { type: "region" }).of(code) ?? code;
  } catch {
    return code;
  }
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x) => b.includes(x));

/** The statement for the person affected, in `lang` (default: the language the platform chose). */
export function userStatement(s: StatementInput, lang: StatementLanguage = s.record.language): UserStatement {
  const t = STATEMENT_TEXTS[lang];
  const r = s.record;
  const scope = sameSet(r.territorialScope, EU_SCOPE)
    ? t.scopeEu
    : t.scopeList(r.territorialScope.map((c) => countryName(c, lang)).join(", "));
  const limbs = [...s.ground.limbs].sort();
  const sections = [
    {
      heading: t.headings.did,
      body: [
        ...r.actions.map((a) => t.actions[a](scope)),
        t.posted(r.contentRef, r.contentDate, r.appliedOn),
      ].join(" "),
    },
    {
      heading: t.headings.why,
      body: t.why(
        s.ground.authority,
        countryName(s.ground.memberState, lang),
        t.article(limbs),
        limbs.map((l) => t.limbs[l] ?? l).join(t.and),
        s.ground.nationalProvision,
      ),
    },
    { heading: t.headings.how, body: t.how(r.reviewer, r.reviewedAt.slice(0, 10)) },
    { heading: t.headings.routes, body: t.routes(r.complaintUrl, r.outOfCourtBody) },
  ];
  const text = [
    t.title,
    t.intro(s.platformName, s.id),
    ...sections.map((x) => `${x.heading}\n${x.body}`),
    t.basis,
  ].join("\n\n");
  return { language: lang, title: t.title, sections, text: `${text}\n` };
}
