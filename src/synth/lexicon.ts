/**
 * Word material of the synthetic cohort: generic social-media text, and condition-related
 * language. Each condition has its own phrases and shares a family pool with related conditions
 * (anxiety, panic, PTSD; depression, bipolar, suicide attempt), so a rare task can borrow signal
 * from a common related one, as in Benton et al. (EACL 2017). All text is invented.
 */
export const TASKS = [
  'neurotypical',
  'anxiety',
  'depression',
  'suicide_attempt',
  'eating_disorder',
  'schizophrenia',
  'panic',
  'ptsd',
  'bipolar',
] as const;

export type Condition = Exclude<(typeof TASKS)[number], 'neurotypical'>;

/** Phrases specific to one condition. */
export const CONDITION_PHRASES: Record<Condition, readonly string[]> = {
  anxiety: [
    'overthinking everything',
    'so much worry',
    'restless all day',
    'tense',
    "can't relax",
    'what if it goes wrong',
    'anxiety',
  ],
  depression: [
    'feeling sad',
    'depressed again',
    'no energy',
    "can't get out of bed",
    'worthless',
    'crying a lot',
    'depression',
  ],
  suicide_attempt: [
    'back from the hospital',
    'called the crisis line',
    'survivor',
    'my recovery',
    'safety plan',
    'still here',
  ],
  eating_disorder: [
    'counting calories',
    'binge',
    'skipped meals',
    'my weight',
    'body image',
    'purging',
    'food rules',
  ],
  schizophrenia: [
    'the voices',
    'paranoid',
    'antipsychotics',
    'hallucinations',
    'my psychiatrist said',
    'they are watching',
  ],
  panic: [
    'panic attack',
    'chest tightness',
    "couldn't breathe",
    'dizzy',
    'hyperventilating',
    'heart pounding',
  ],
  ptsd: ['flashbacks', 'nightmares', 'trauma', 'triggered', 'hypervigilant', 'startle'],
  bipolar: ['manic', 'mood swings', 'lithium', 'racing ideas', "didn't sleep for days", 'hypomanic'],
};

/** Family pools shared by related conditions. */
export const FAMILY_PHRASES: Record<'anxious' | 'mood' | 'other', readonly string[]> = {
  anxious: ['anxious', 'nervous', 'worried', 'on edge', 'heart racing', 'scared'],
  mood: ['exhausted', 'hopeless', 'empty', 'numb', 'so alone', 'tired of everything'],
  other: ['therapy', 'meds', 'bad day', 'appointment'],
};

export const FAMILY: Record<Condition, keyof typeof FAMILY_PHRASES> = {
  anxiety: 'anxious',
  panic: 'anxious',
  ptsd: 'anxious',
  depression: 'mood',
  bipolar: 'mood',
  suicide_attempt: 'mood',
  eating_disorder: 'other',
  schizophrenia: 'other',
};

export const GENDER_PHRASES: readonly [readonly string[], readonly string[]] = [
  ['my girlfriend', 'my wife', 'the guys'],
  ['my boyfriend', 'my husband', 'the girls'],
];

export const OPENERS = [
  '',
  '',
  '',
  'honestly',
  'ok so',
  'lol',
  'ugh',
  'today',
  'just saying',
  'fun fact:',
  'btw',
  'anyway',
];
export const SUBJECTS = [
  'i',
  'we',
  'my sister',
  'my roommate',
  'the team',
  'my friend',
  'everyone',
  'my dad',
  'my mom',
  'the neighbor',
];
export const VERBS = [
  'watched',
  'made',
  'found',
  'fixed',
  'tried',
  'finished',
  'started',
  'forgot',
  'loved',
  'hated',
  'bought',
  'played',
  'cleaned',
  'painted',
  'cooked',
];
export const OBJECTS = [
  'a new recipe',
  'the old bike',
  'that movie',
  'a podcast',
  'the garden',
  'my phone',
  'a puzzle',
  'the laundry',
  'some coffee',
  'the game last night',
  'a long walk',
  'the bus schedule',
  'pizza',
  'a playlist',
  'the report',
  'a book about space',
  'the dog',
  'our cat',
  'a concert',
  'the homework',
  'a sweater',
  'the couch',
  'tacos',
];
export const TAILS = [
  '',
  '',
  'again',
  'finally',
  'for the first time',
  'with friends',
  'this weekend',
  'before work',
  'after class',
  'and it was great',
  'and it was weird',
  'no regrets',
  'ten out of ten',
  'would do it again',
  'at midnight',
];
export const HASHTAGS = [
  '#mondaymood',
  '#coffee',
  '#weekend',
  '#gamenight',
  '#foodie',
  '#nofilter',
  '#throwback',
  '#fitness',
  '#booklover',
  '#rainyday',
];
export const EMOJI = ['😂', '🙂', '😭', '❤️', '🔥', '👍', '🙄', '😴', '🎉', '👋🏽', '🤷‍♀️', '☕'];
export const FOREIGN = [
  'qué día tan largo, mañana será mejor',
  'je suis allé au café près de la gare',
  'das Wetter ist heute wirklich schön',
  'сегодня была отличная погода',
  'я люблю читать книги вечером',
  '今日はとても忙しかったです',
  '我们明天去公园散步吧',
  'ça va très bien, merci beaucoup',
  'über den Wolken ist die Freiheit',
  'não sei o que fazer hoje à noite',
];
export const FIRST_NAMES = [
  'alex',
  'sam',
  'jordan',
  'casey',
  'riley',
  'morgan',
  'taylor',
  'jamie',
  'drew',
  'quinn',
  'avery',
  'robin',
  'kim',
  'lee',
  'noor',
  'yuki',
  'ivan',
  'lena',
  'omar',
  'sofia',
];
export const SITE_WORDS = [
  'sunny',
  'pixel',
  'daily',
  'green',
  'river',
  'maple',
  'nova',
  'cloud',
  'stone',
  'orbit',
  'paper',
  'lucky',
];
