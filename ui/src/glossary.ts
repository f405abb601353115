// The Russian glossary of the course: one Russian word per term, the variants a careful teacher
// would not sign, and the English that may stay English (names of programs, protocols, states,
// keys). The unit test `test/i18n.test.ts` holds every Russian text of the UI to it, and the
// end-to-end Russian scan (`e2e/tests/it/russian.rs`) reads the allowlist from this file.

/** A term of the course and how the Russian UI says it. */
export interface Term {
  /** The English term. */
  term: string;
  /** The Russian word used everywhere. */
  ru: string;
  /** Why, or how it is used. */
  note: string;
  /** Variants that must not appear in Russian texts (text, or a pattern). */
  forbidden: (string | RegExp)[];
}

export const GLOSSARY: Term[] = [
  {
    term: 'worker',
    ru: 'воркер',
    note: 'a Celery worker process; «рабочий процесс» only when explaining the word',
    forbidden: [/обработчик задач/i],
  },
  {
    term: 'queue',
    ru: 'очередь',
    note: 'the Redis list `celery`; «поставить в очередь», «постановка в очередь»',
    forbidden: ['+ очередь'],
  },
  {
    term: 'task',
    ru: 'задача',
    note: 'a Celery task; feminine: «задача отправлена», «повторена»',
    forbidden: [/\bтаск/i],
  },
  {
    term: 'task monitor',
    ru: 'монитор задач',
    note: "Stackdesk's monitor (Flower's role): history, live feed, controls; not «наблюдатель», «мониторинг»",
    forbidden: [/наблюдател/i],
  },
  { term: 'product', ru: 'товар', note: "the API's product; never «продукт»", forbidden: [/продукт/i] },
  {
    term: 'retry',
    ru: 'повтор',
    note: 'the act of running a task again; «повторить», «повторная попытка»',
    forbidden: [/ретра/i, 'повторы кончились', 'повторы остались'],
  },
  {
    term: 'attempt',
    ru: 'попытка',
    note: 'one run of a task; «попытки исчерпаны» when no retry is left',
    forbidden: [/попытки кончились/i],
  },
  {
    term: 'failure injection',
    ru: 'имитация сбоев',
    note: 'the demo switch that makes first attempts fail',
    forbidden: [/внедрение сбо/i],
  },
  {
    term: 'ack',
    ru: 'подтверждение',
    note: 'a message acknowledged to the broker; `acks_late` stays a code name',
    forbidden: [/\back\b/, 'acks late', /аккнут/i],
  },
  {
    term: 'revoke',
    ru: 'отозвать',
    note: '«отзыв задачи»; the control command `revoke` stays a code name',
    forbidden: [/отменить задачу/i],
  },
  {
    term: 'supervisor',
    ru: 'супервизор',
    note: 'the part of the app that starts, probes and restarts the processes',
    forbidden: [/диспетчер процессов/i],
  },
  {
    term: 'log',
    ru: 'журнал',
    note: "a process's output; never «лог»",
    forbidden: [/(^|[^а-яё])лог(а|е|и|ов|у)?([^а-яё]|$)/i],
  },
  {
    term: 'crashed',
    ru: 'сбой',
    note: 'a process that exited on its own; not the slang «упал»',
    forbidden: [/(^|[^а-яё])упал/i],
  },
  {
    term: 'concurrency',
    ru: 'задач одновременно',
    note: 'how many tasks a worker runs at once (`WORKER_CONCURRENCY`)',
    forbidden: [/конкурентн/i],
  },
  { term: 'Redis', ru: 'Redis', note: 'the server; «брокер» when speaking of its role', forbidden: ['Редис'] },
  { term: 'API', ru: 'API', note: 'masculine: «API запущен»', forbidden: [/АПИ/] },
  { term: 'chat id', ru: 'ID чата', note: "Telegram's chat identifier", forbidden: [/\bId\b/, /айди/i] },
  {
    term: 'waits for',
    ru: 'ждёт (чего?)',
    note: 'genitive: «ждёт отправки», «ждёт ответа»',
    forbidden: [/ждёт отправку/i, /ждет отправку/i],
  },
  {
    term: 'N times',
    ru: 'в N раз(а)',
    note: 'plural by the number: «в 82 раза», «в 5 раз»; never a fixed «раз» after a placeholder',
    forbidden: [/в \{\w+\} раз(а)? /, /в (\d*[02-9])?[2-4] раз(?![а-яё])/],
  },
  {
    term: 'settings',
    ru: 'настройки',
    note: 'the Settings tab; the configuration diagram is «Конфигурация»',
    forbidden: [],
  },
  { term: 'demo', ru: 'демо', note: 'the demo bar of the diagrams («панель «Демо»»)', forbidden: [] },
  { term: 'tray', ru: 'трей', note: 'the notification area', forbidden: [] },
  {
    term: 'simulated send',
    ru: 'имитация отправки',
    note: "the worker's stand-in for Telegram",
    forbidden: [/симуляц/i],
  },
  {
    term: 'seconds, ms',
    ru: 'с, мс, мин, ч',
    note: 'units after a number with a no-break space, a decimal comma: «3,5 с», «0,04 мс»',
    forbidden: [/\d\.\d+\s?(мс|с|мин|ч)(?![а-яё])/, /\d\s?(ms|sec|min|h)\b/],
  },
];

// allowlist:begin — English that may appear in Russian texts (one entry a line, quoted; phrases allowed)
export const ALLOWED_ENGLISH: readonly string[] = [
  'Stackdesk',
  'stackdesk',
  'Redis',
  'API',
  'Celery',
  'Telegram',
  'Telegram Bot API',
  'Swagger UI',
  'PENDING',
  'RECEIVED',
  'STARTED',
  'RETRY',
  'SUCCESS',
  'FAILURE',
  'REVOKED',
  'pid',
  'TTL',
  'SVG',
  'PNG',
  'URL',
  'IP',
  'TCP',
  'ID',
  'JSON',
  'HTTP',
  'POST',
  'GET',
  'PING',
  'LPUSH',
  'SETEX',
  'FastAPI',
  'Lua',
  'Esc',
  'Windows',
  'Linux',
  'Debian',
  'Ubuntu',
  'WSL',
  'Docker',
  'Memurai',
  'Memurai Developer',
  'sudo apt install redis-server',
  'stackdesk api',
  'stackdesk worker',
  'stackdesk ui',
  'redis-server',
  'axum',
  'curl',
  'celery',
  'celeryev',
  'unacked',
  'kombu',
  'pidbox',
  'ping',
  'revoke',
  'stats',
  'list',
  'hash',
  'zset',
  'set',
  'string',
  'pub/sub',
  'message_id',
  'N',
  'English',
];
// allowlist:end

const LATIN = /[A-Za-z]/;

/** Is `token` a code name (an identifier, a key, a path, a command) rather than an English word? */
function isCode(token: string): boolean {
  return (
    /^[.:][a-z]|[_@/{}*=\d]|:\/\/|[A-Za-z0-9]\.[A-Za-z0-9]|[A-Za-z0-9]:[A-Za-z0-9*{]/.test(token) || // snake_case, @name, /path, {id}, 1.2, a:b
    /^[a-z]+[A-Z]\w*$/.test(token) || // camelCase (sendMessage)
    /^[a-z]+(-[a-z]+)+$/.test(token) || // kebab-case (redis-server, task-received)
    /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(token)
  ); // ENV_KEYS
}

/** The English words in a Russian `text` that are neither allowlisted nor code names. */
export function englishWordsIn(text: string, allowed: readonly string[] = ALLOWED_ENGLISH): string[] {
  let rest = text
    .replace(/`[^`]*`/g, ' ') // code in backticks
    .replace(/\{\w+(\|[^}]*)?\}/g, ' '); // placeholders
  // Phrases first (longest first), then single words.
  const phrases = allowed.filter((a) => a.includes(' ')).sort((a, b) => b.length - a.length);
  for (const phrase of phrases) rest = rest.split(phrase).join(' ');
  const words = new Set(allowed.filter((a) => !a.includes(' ')));
  const found: string[] = [];
  // Cyrillic letters separate tokens too («Lua-скрипт» → «Lua»).
  for (const raw of rest.split(/[\s,;()«»"“”'’!?…·→<>|\[\]А-Яа-яЁё—–+]+/)) {
    const token = raw.replace(/^-+|[-.:]+$/g, '');
    if (!LATIN.test(token) || words.has(token) || isCode(token)) continue;
    found.push(token);
  }
  return found;
}

/** The forbidden variants in a Russian `text`, each with the term whose glossary entry forbids it. */
export function forbiddenIn(text: string): { variant: string; term: string; use: string }[] {
  const found: { variant: string; term: string; use: string }[] = [];
  for (const entry of GLOSSARY) {
    for (const variant of entry.forbidden) {
      const hit =
        typeof variant === 'string' ? (text.includes(variant) ? variant : null) : (variant.exec(text)?.[0] ?? null);
      if (hit) found.push({ variant: hit, term: entry.term, use: entry.ru });
    }
  }
  return found;
}
