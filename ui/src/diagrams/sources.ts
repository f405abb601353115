// The course's diagrams, re-authored for what Stackdesk really runs (axum, the `stackdesk`
// worker, the Redis keys we use, our start-up order and retry rules), in Russian and English, with
// the values of the running stack (ports, concurrency, countdown, …) written into them.
//
// Written for a projector: short lines broken by hand (`<br/>` only between words: Mermaid's own
// wrapping would cut identifiers mid-word), layouts that fit a 16:9 screen. Node ids are the same
// in both languages: the live layer finds nodes by id. A line the live layer rewrites starts with
// a marker `§name§` (see `live()`); its placeholder text is as wide as the line usually gets, so
// that the node is drawn large enough for it.

import type { Language } from '../ipc';
import { formatDuration } from '../format';
import { PREFETCH_MULTIPLIER, type StackFacts } from './facts';
import { LIFECYCLE } from './lifecycle';

export interface Diagram {
  id: string;
  title: Record<Language, string>;
  caption: Record<Language, string>;
  source: (lang: Language, facts: StackFacts) => string;
}

const tr = (lang: Language, ru: string, en: string) => (lang === 'ru' ? ru : en);

/** The lifecycle's states in the order the diagram declares them: its live lines are named by
 * their index here. */
export const LIFECYCLE_STATES: string[] = LIFECYCLE.flatMap((t) => [t.from, t.to]).filter(
  (s, i, all) => s !== '[*]' && all.indexOf(s) === i,
);

/** Marks a line the live layer rewrites: `§name§placeholder`. */
export const LIVE_MARK = /^§([\w-]+)§/;

/** A live line named `name` whose placeholder is `placeholder`. */
export function live(name: string, placeholder: string): string {
  return `§${name}§${placeholder}`;
}

/** The placeholder of a measured duration on the product flow (as wide as «12,34 мс»). */
const MEASURED = '· 00,0 мс';

/** A duration for a diagram: «5 с», «2,5 с», «24 ч». A plain space before the unit: Mermaid
 * does not keep a no-break one in every diagram type, and lines are broken by hand anyway. */
function secs(lang: Language, value: number): string {
  const text =
    value >= 3600 && value % 3600 === 0 ? `${value / 3600} ${tr(lang, 'ч', 'h')}` : formatDuration(value, lang);
  return text.replace(/\u00a0/g, ' ');
}

export const DIAGRAMS: Diagram[] = [
  {
    id: 'architecture',
    title: { ru: 'Архитектура', en: 'Architecture' },
    caption: {
      ru: 'Три процесса под одним супервизором; монитор задач работает в процессе приложения. Цвет узла — состояние процесса; стрелка вспыхивает, когда по ней проходит сообщение. Щелчок по процессу открывает его карточку и журнал.',
      en: 'Three processes under one supervisor; the task monitor runs in the app’s own process. A node’s colour is its process’s state; an arrow flashes when a message crosses it. Click a process for its card and log.',
    },
    // Every edge of the app leaves it (it subscribes to Redis's events as the worker takes its
    // messages: the arrow points at whom is asked), so it shares the first column with the client
    // and the picture stays three columns wide, readable at 1280 px.
    source: (l, f) => `flowchart LR
  client["${tr(l, 'Клиент', 'Client')}<br/>${tr(l, 'браузер, curl,', 'browser, curl,')}<br/>Swagger UI"]
  app["${tr(l, 'Приложение Stackdesk', 'Stackdesk app')}<br/>${tr(l, 'и монитор задач,', 'and task monitor,')}<br/>${tr(l, 'порт', 'port')} ${f.monitorPort}"]
  api["stackdesk api<br/>axum, ${tr(l, 'порт', 'port')} ${f.apiPort ?? '—'}"]
  worker["stackdesk worker<br/>send_tg_notification<br/>${live('w', tr(l, 'ждёт задач ———', 'waiting for tasks'))}"]
  redis[("Redis, ${tr(l, 'порт', 'port')} ${f.redisPort ?? '—'}<br/>${live('q', tr(l, 'в очереди — · взято —', 'queued — · taken —'))}<br/>${live('r', tr(l, 'результатов: ———', 'results: ———'))}")]
  tg["${f.telegram ? 'Telegram Bot API' : tr(l, 'Telegram (имитация)', 'Telegram (simulated)')}"]
  client -- "POST /products/" --> api
  api -- "201 + task_id" --> client
  api -- "${tr(l, 'Lua: товар<br/>и задача', 'Lua: product<br/>and task')}" --> redis
  worker -- "${tr(l, 'берёт<br/>сообщение', 'takes a<br/>message')}" --> redis
  worker -- "${tr(l, 'результат,<br/>события', 'result,<br/>events')}" --> redis
  worker -- "sendMessage" --> tg
  app -- "${tr(l, 'читает<br/>события', 'reads<br/>events')}" --> redis
  app -. "${tr(l, 'запускает,<br/>проверяет', 'starts,<br/>probes')}" .-> api
  app -.-> redis
  app -.-> worker`,
  },
  {
    id: 'product-flow',
    title: { ru: 'Создание товара', en: 'Creating a product' },
    caption: {
      ru: 'API отвечает сразу; медленная работа уходит воркеру через Redis. Рядом со шагами — замеры последнего запроса.',
      en: 'The API answers at once; the slow work goes to the worker through Redis. Beside the steps: the last request’s measurements.',
    },
    source: (l, f) => `sequenceDiagram
  participant C as ${tr(l, 'Клиент', 'Client')}
  participant A as API
  participant R as Redis
  participant W as ${tr(l, 'Воркер', 'Worker')}
  participant T as ${f.telegram ? 'Telegram' : tr(l, 'Telegram (имитация)', 'Telegram (simulated)')}
  C->>A: POST /products/
  A->>A: ${tr(l, 'проверка', 'validation')}<br/>${live('v', MEASURED)}
  A->>R: ${tr(l, 'Lua: товар и задача', 'Lua: product and task')}<br/>${live('s', MEASURED)}
  A-->>C: 201 + task_id<br/>${live('total', MEASURED)}
  R->>W: ${tr(l, 'сообщение → unacked', 'message → unacked')}
  W->>T: sendMessage${f.telegram ? '' : ` (${secs(l, f.simulatedSecs)})`}<br/>${live('n', MEASURED)}
  T-->>W: message_id
  W->>R: ${tr(l, 'SUCCESS и подтверждение', 'SUCCESS and ack')}`,
  },
  {
    id: 'lifecycle',
    title: { ru: 'Жизненный цикл задачи', en: 'Task lifecycle' },
    caption: {
      ru: 'Состояния Celery. Число — сколько задач в состоянии сейчас; у выбранной задачи — её путь и время в каждом состоянии.',
      en: 'Celery’s states. The number: how many tasks are in the state now; a selected task shows its path and the time in each state.',
    },
    source: (l, f) =>
      [
        'stateDiagram-v2',
        ...LIFECYCLE_STATES.map(
          (s, i) => `  state "${s}<br/>${live(String(i), tr(l, '00 ×0 · через 00 с', '00 ×0 · in 00.0 s'))}" as ${s}`,
        ),
        ...LIFECYCLE.map(
          (t) =>
            `  ${t.from} --> ${t.to}${t.label ? `: ${t.label[l].replace('{countdown}', secs(l, f.countdownSecs))}` : ''}`,
        ),
      ].join('\n'),
  },
  {
    id: 'components',
    title: { ru: 'Компоненты процессов', en: 'Components per process' },
    caption: {
      ru: 'Что внутри каждого процесса и какие ключи Redis он трогает.',
      en: 'What each process holds and which Redis keys it touches.',
    },
    source: (l, f) => `flowchart TB
  subgraph apiP["stackdesk api"]
    direction TB
    router["${tr(l, 'маршруты', 'routes')}<br/>/products/, /tasks"]
    recorder["${tr(l, 'запись событий', 'event recorder')}<br/>${tr(l, 'в историю', 'into history')}"]
  end
  subgraph workerP["stackdesk worker"]
    direction LR
    consumer["${tr(l, 'приём задач', 'consumer')}<br/>prefetch_count ${f.prefetch}"]
    exec["${tr(l, 'исполнение', 'executor')}<br/>${tr(l, 'задач одновременно:', 'tasks at once:')} ${f.concurrency}"]
    settle["${tr(l, 'результаты', 'results')}<br/>${tr(l, 'и подтверждения', 'and acks')}"]
  end
  subgraph redisP["Redis"]
    direction LR
    q[("celery<br/>unacked")]
    own[("stackdesk:*")]
    ev(["celeryev"])
    meta[("celery-task-<br/>meta-*")]
  end
  router --> own
  router --> q
  recorder -- "${tr(l, 'слушает', 'listens')}" --> ev
  recorder --> own
  consumer --> q
  consumer --> exec
  exec --> settle
  settle --> meta
  settle --> ev`,
  },
  {
    id: 'configuration',
    title: { ru: 'Ключи конфигурации', en: 'Configuration keys' },
    caption: {
      ru: 'Значения, с которыми работает стек сейчас. Порядок: флаги > окружение > .env > значения по умолчанию. Стрелка — кто читает ключ.',
      en: 'The values the stack runs with now. Order: flags > environment > .env > defaults. An arrow: who reads the key.',
    },
    source: (l, f) => `flowchart LR
  url["REDIS_URL<br/>${tr(l, 'порт', 'port')} ${f.redisPort ?? '—'}"]
  port["API_PORT<br/>${f.apiPort ?? '—'}"]
  keys["WORKER_CONCURRENCY ${f.concurrency}<br/>TASK_MAX_RETRIES ${f.maxRetries}<br/>TASK_RETRY_COUNTDOWN_SECS ${secs(l, f.countdownSecs)}<br/>NOTIFY_SIMULATED_SECS ${secs(l, f.simulatedSecs)}<br/>RESULT_EXPIRES_SECS ${secs(l, f.resultTtlSecs)}"]
  fixed["acks_late, track_started<br/>prefetch_count ${f.prefetch}${f.prefetch === PREFETCH_MULTIPLIER * f.concurrency ? ` = ${PREFETCH_MULTIPLIER} × ${f.concurrency}` : ''}<br/>${f.telegram ? tr(l, 'Telegram настроен', 'Telegram set up') : tr(l, 'Telegram не настроен', 'Telegram not set up')}"]
  redis[("Redis")]
  api["stackdesk api"]
  worker["stackdesk worker"]
  url --> redis
  url --> api
  url --> worker
  port --> api
  keys --> worker
  fixed --> worker`,
  },
  {
    id: 'startup',
    title: { ru: 'Порядок запуска', en: 'Start-up order' },
    caption: {
      ru: 'Каждый следующий процесс стартует, только когда предыдущий готов. Остановка — в обратном порядке.',
      en: 'Each process starts only once the one before is ready. Stop goes in reverse.',
    },
    source: (l) => `sequenceDiagram
  participant S as ${tr(l, 'Супервизор', 'Supervisor')}
  participant R as Redis
  participant A as API
  participant W as ${tr(l, 'Воркер', 'Worker')}
  S->>S: ${tr(l, 'найти redis-server, проверить порты', 'find redis-server, check ports')}
  S->>R: ${tr(l, 'запуск', 'start')}
  S->>R: ${tr(l, 'PING до ответа', 'PING until it answers')}
  S->>A: ${tr(l, 'запуск', 'start')}
  S->>A: ${tr(l, 'GET /health до 200', 'GET /health until 200')}
  S->>W: ${tr(l, 'запуск', 'start')}
  W-->>S: worker-online
  Note over S,W: ${tr(l, 'Все три работают. Сбой — перезапуск через 0,25–8 с', 'All three run. A crash: restart after 0.25–8 s')}`,
  },
  {
    id: 'retries',
    title: { ru: 'Ошибки и повторы', en: 'Errors and retries' },
    caption: {
      ru: 'Решение о повторе принимается в одном месте воркера.',
      en: 'The retry decision is made in one place in the worker.',
    },
    source: (l, f) => `flowchart LR
  begin(["${tr(l, 'задача<br/>начата', 'task<br/>started')}"]) --> tgset{"${tr(l, 'Telegram<br/>настроен?', 'Telegram<br/>set up?')}"}
  tgset -- "${tr(l, 'нет', 'no')}" --> sim["${tr(l, 'имитация', 'simulated')}<br/>${secs(l, f.simulatedSecs)}"]
  sim --> ok(["SUCCESS"])
  tgset -- "${tr(l, 'да', 'yes')}" --> send["sendMessage"]
  send -- "200" --> ok
  send -- "429" --> later["${tr(l, 'повтор через', 'retry after')}<br/>retry_after"]
  send -- "${tr(l, 'сеть, 5xx', 'network, 5xx')}" --> more{"${tr(l, 'осталось<br/>повторов?', 'retries<br/>left?')}<br/>${tr(l, `(из ${f.maxRetries})`, `(of ${f.maxRetries})`)}"}
  send -- "400, 401, 403" --> fail(["FAILURE"])
  more -- "${tr(l, 'да', 'yes')}" --> again["RETRY<br/>${tr(l, 'через', 'after')} ${secs(l, f.countdownSecs)}"]
  more -- "${tr(l, 'нет', 'no')}" --> fail
  later --> begin
  again --> begin`,
  },
  {
    id: 'redis',
    title: { ru: 'Ключи Redis', en: 'Redis keys' },
    caption: {
      ru: 'Раскладка Celery как есть, плюс наши ключи с префиксом stackdesk:. Нижние строки — что в Redis сейчас (опрос раз в 2 с); щелчок по узлу показывает ключ.',
      en: 'Celery’s layout exactly, plus our keys under stackdesk:. The bottom lines: what Redis holds now (sampled every 2 s); click a node to see its key.',
    },
    source: (l, f) => `flowchart TB
  subgraph celery["Celery / kombu"]
    direction LR
    queue[("celery<br/>${tr(l, 'очередь', 'the queue')}<br/>${live('q', tr(l, 'сейчас 000', 'now 000'))}<br/>${live('q2', '00000000')}")]
    unacked[("unacked<br/>${tr(l, 'взятые воркером', 'taken by a worker')}<br/>${live('u', tr(l, 'сейчас 000', 'now 000'))}<br/>${live('u2', '00000000')}")]
    meta[("celery-task-meta-{id}<br/>${tr(l, 'результаты', 'results')}, TTL ${secs(l, f.resultTtlSecs)}<br/>${live('m', tr(l, 'сейчас 000', 'now 000'))}<br/>${live('m2', tr(l, 'TTL 00 ч 00 мин', 'TTL 00 h 00 min'))}")]
  end
  subgraph ours["stackdesk:*"]
    direction LR
    products[("stackdesk:product:{id}<br/>stackdesk:products<br/>${live('p', tr(l, 'сейчас 000', 'now 000'))}<br/>${live('p2', 'product:*: 000')}")]
    tasks[("stackdesk:task:{id}<br/>stackdesk:tasks<br/>${live('t', tr(l, 'сейчас 000', 'now 000'))}<br/>${live('t2', 'task:*: 000')}")]
    misc[("stackdesk:workers<br/>:revoked, :dead_letter<br/>${live('k', tr(l, 'воркеров: 0 · отозвано: 0', 'workers: 0 · revoked: 0'))}<br/>${live('k2', 'dead_letter: 0')}")]
  end
  queue -- "${tr(l, 'взято', 'taken')}" --> unacked
  unacked -- "${tr(l, 'задача выполнена', 'done: ack')}" --> meta
  products ~~~ tasks ~~~ misc
  celery ~~~ ours`,
  },
  {
    id: 'with-without',
    title: { ru: 'С воркером и без', en: 'With and without a worker' },
    caption: {
      ru: 'Без фоновой задачи клиент ждёт отправки; с ней — получает 201 сразу. «Измерить» запускает оба варианта по-настоящему.',
      en: 'Without a background task the client waits for the send; with one it gets its 201 at once. “Measure” runs both for real.',
    },
    source: (l, f) => {
      const send = f.telegram ? 'sendMessage' : secs(l, f.simulatedSecs);
      return `flowchart LR
  subgraph without["${tr(l, 'Без воркера', 'Without a worker')}"]
    direction LR
    c1["${tr(l, 'Клиент', 'Client')}"] -- "POST" --> a1["API"]
    a1 -- "${tr(l, 'ждёт', 'waits')} ${send}" --> t1["Telegram"]
    a1 -- "${tr(l, '201 через', '201 after')} ${send}" --> c1
  end
  subgraph with["${tr(l, 'С воркером (Stackdesk)', 'With a worker (Stackdesk)')}"]
    direction LR
    c2["${tr(l, 'Клиент', 'Client')}"] -- "POST" --> a2["API"]
    a2 -- "${tr(l, 'в очередь', 'enqueue')}" --> r2[("Redis")]
    a2 -- "${tr(l, '201 сразу', '201 at once')}" --> c2
    r2 --> w2["${tr(l, 'Воркер', 'Worker')}"] -- "${send}" --> t2["Telegram"]
  end`;
    },
  },
];
