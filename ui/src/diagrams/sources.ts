// The course's diagrams, re-authored for what Stackdesk really runs (axum, the `stackdesk`
// worker, the Redis keys we use, our start-up order and retry rules), in Russian and English.
// Node ids are the same in both languages: the live layer finds nodes by id.

import type { Language } from '../ipc';
import { LIFECYCLE } from './lifecycle';
import { redisLine } from './live';

export interface Diagram {
  id: string;
  title: Record<Language, string>;
  caption: Record<Language, string>;
  source: (lang: Language) => string;
}

const tr = (lang: Language, ru: string, en: string) => (lang === 'ru' ? ru : en);
/** The placeholder of a live line, as wide as its usual text (the node is sized by it). */
const now = (lang: Language) => tr(lang, 'сейчас: — · —————', 'now: — · ——————');

export const DIAGRAMS: Diagram[] = [
  {
    id: 'architecture',
    title: { ru: 'Архитектура', en: 'Architecture' },
    caption: {
      ru: 'Три процесса под одним супервизором. Цвет узла — состояние процесса сейчас; стрелка вспыхивает, когда по ней проходит сообщение. Щелчок по процессу открывает его карточку и журнал.',
      en: 'Three processes under one supervisor. A node’s colour is its process’s state now; an arrow flashes when a message crosses it. Click a process for its card and log.',
    },
    source: (l) => `flowchart LR
  client["${tr(l, 'Клиент: браузер, curl, Swagger UI', 'Client: browser, curl, Swagger UI')}"]
  app["${tr(l, 'Приложение Stackdesk (супервизор)', 'Stackdesk app (supervisor)')}"]
  api["stackdesk api<br/>axum :API_PORT"]
  redis[("redis-server<br/>${tr(l, 'брокер · результаты · хранилище', 'broker · results · store')}<br/>${redisLine(null, l)}")]
  worker["stackdesk worker<br/>send_tg_notification<br/>${tr(l, 'ждёт задач', 'waiting for tasks')}"]
  tg["Telegram Bot API"]
  client -- "POST /products/" --> api
  api -- "${tr(l, 'Lua: товар + сообщение задачи', 'Lua: product + task message')}" --> redis
  api -- "201 + task_id" --> client
  redis -- "${tr(l, 'сообщение из очереди celery', 'message from the celery queue')}" --> worker
  worker -- "${tr(l, 'результат, события', 'result, events')}" --> redis
  worker -- "sendMessage" --> tg
  app -. "${tr(l, 'запускает, проверяет, перезапускает', 'starts, probes, restarts')}" .-> redis
  app -.-> api
  app -.-> worker`,
  },
  {
    id: 'product-flow',
    title: { ru: 'Создание товара', en: 'Creating a product' },
    caption: {
      ru: 'API отвечает сразу; медленная работа уходит воркеру через Redis. После шагов — замеры последнего запроса.',
      en: 'The API answers at once; the slow work goes to the worker through Redis. After the steps: the last request’s measurements.',
    },
    source: (l) => `sequenceDiagram
  autonumber
  participant C as ${tr(l, 'Клиент', 'Client')}
  participant A as stackdesk api
  participant R as Redis
  participant W as stackdesk worker
  participant T as Telegram
  C->>A: POST /products/ {name, price}
  A->>A: ${tr(l, 'проверка (422 как в FastAPI)', 'validation (422 as FastAPI)')}
  A->>R: ${tr(l, 'один Lua-скрипт: товар, LPUSH celery, история PENDING', 'one Lua script: product, LPUSH celery, PENDING history')}
  A-->>C: 201 {id, task_id}
  R->>W: ${tr(l, 'сообщение (в unacked до подтверждения)', 'message (held in unacked until acked)')}
  W->>R: ${tr(l, 'события task-received, task-started', 'events task-received, task-started')}
  W->>T: sendMessage ${tr(l, '(или имитация NOTIFY_SIMULATED_SECS)', '(or a simulated NOTIFY_SIMULATED_SECS)')}
  T-->>W: message_id
  W->>R: SETEX celery-task-meta-{id} SUCCESS
  W->>R: ${tr(l, 'подтверждение (acks late), task-succeeded', 'ack (acks late), task-succeeded')}`,
  },
  {
    id: 'lifecycle',
    title: { ru: 'Жизненный цикл задачи', en: 'Task lifecycle' },
    caption: {
      ru: 'Состояния Celery. Числа — сколько задач в каждом состоянии сейчас; у выбранной задачи — её путь и время в каждом состоянии.',
      en: 'Celery’s states. The numbers: how many tasks are in each state now; a selected task shows its path and the time in each state.',
    },
    source: (l) => ['stateDiagram-v2', ...LIFECYCLE.map((t) => `  ${t.from} --> ${t.to}${t.label ? `: ${t.label[l]}` : ''}`)].join('\n'),
  },
  {
    id: 'components',
    title: { ru: 'Компоненты процессов', en: 'Components per process' },
    caption: {
      ru: 'Что внутри каждого процесса и какие ключи Redis он трогает.',
      en: 'What each process holds and which Redis keys it touches.',
    },
    source: (l) => `flowchart TB
  subgraph apiP["stackdesk api"]
    router["router: /products/, /tasks, /events, /docs"]
    recorder["${tr(l, 'регистратор событий → история', 'event recorder → history')}"]
    sampler["${tr(l, 'замер длины очереди', 'queue depth sampler')}"]
  end
  subgraph workerP["stackdesk worker"]
    consumer["${tr(l, 'потребитель (Lua: взять + unacked)', 'consumer (Lua: take + unacked)')}"]
    exec["${tr(l, 'исполнитель, concurrency', 'executor, concurrency')}"]
    settle["${tr(l, 'запись результатов и подтверждений', 'result and ack writer')}"]
    pidbox["pidbox: ping, revoke, stats"]
  end
  subgraph redisP["redis-server"]
    q[("celery, unacked")]
    meta[("celery-task-meta-*")]
    ev(["celeryev"])
    own[("stackdesk:*")]
  end
  router --> own
  router --> q
  recorder --> own
  ev --> recorder
  sampler --> q
  consumer --> q
  exec --> settle
  consumer --> exec
  settle --> meta
  settle --> ev
  pidbox --> ev`,
  },
  {
    id: 'configuration',
    title: { ru: 'Настройки', en: 'Configuration' },
    caption: {
      ru: 'Флаги > окружение > .env > значения по умолчанию. Стрелка — кто читает ключ.',
      en: 'Flags > environment > .env > defaults. An arrow: who reads the key.',
    },
    source: (l) => `flowchart LR
  url["REDIS_URL<br/>redis://127.0.0.1:6379/0"]
  port["API_PORT 8000"]
  conc["WORKER_CONCURRENCY 1<br/>${tr(l, 'как worker_pool=solo', 'as worker_pool=solo')}"]
  retries["TASK_MAX_RETRIES 3<br/>TASK_RETRY_COUNTDOWN_SECS 5"]
  notify["TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID<br/>NOTIFY_SIMULATED_SECS 30"]
  fixed["acks_late, prefetch 1, track_started,<br/>${tr(l, 'события задач, результаты 24 ч', 'task events, results 24 h')}"]
  api["stackdesk api"]
  worker["stackdesk worker"]
  redis[("redis-server")]
  url --> redis
  url --> api
  url --> worker
  port --> api
  conc --> worker
  retries --> worker
  notify --> worker
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
  participant R as redis-server
  participant A as stackdesk api
  participant W as stackdesk worker
  S->>S: ${tr(l, 'найти redis-server, записать redis.conf, проверить порты', 'find redis-server, write redis.conf, check ports')}
  S->>R: ${tr(l, 'запуск', 'start')}
  S->>R: PING ${tr(l, 'до ответа', 'until it answers')}
  S->>A: ${tr(l, 'запуск', 'start')}
  S->>A: GET /health ${tr(l, 'до 200', 'until 200')}
  S->>W: ${tr(l, 'запуск', 'start')}
  W-->>S: ${tr(l, 'событие worker-online', 'worker-online event')}
  Note over S,W: ${tr(l, 'Все три работают. Падение → перезапуск с паузой 0,25–8 с', 'All three running. A crash → restart after 0.25–8 s')}`,
  },
  {
    id: 'retries',
    title: { ru: 'Ошибки и повторы', en: 'Errors and retries' },
    caption: {
      ru: 'Решение о повторе принимается в одном месте воркера.',
      en: 'The retry decision is made in one place in the worker.',
    },
    source: (l) => `flowchart TD
  begin(["${tr(l, 'задача начата', 'task started')}"]) --> tgset{"${tr(l, 'Telegram настроен?', 'Telegram set up?')}"}
  tgset -- "${tr(l, 'нет', 'no')}" --> sim["${tr(l, 'имитация NOTIFY_SIMULATED_SECS', 'simulated NOTIFY_SIMULATED_SECS')}"]
  sim --> ok(["SUCCESS"])
  tgset -- "${tr(l, 'да', 'yes')}" --> send["sendMessage"]
  send -- "200" --> ok
  send -- "429" --> later["${tr(l, 'повтор через retry_after', 'retry after retry_after')}"]
  send -- "${tr(l, 'сеть, 5xx', 'network, 5xx')}" --> more{"${tr(l, 'повторы остались? (TASK_MAX_RETRIES)', 'retries left? (TASK_MAX_RETRIES)')}"}
  send -- "400, 401, 403" --> fail(["FAILURE"])
  more -- "${tr(l, 'да', 'yes')}" --> again["RETRY: ${tr(l, 'через TASK_RETRY_COUNTDOWN_SECS', 'after TASK_RETRY_COUNTDOWN_SECS')}"]
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
    source: (l) => `flowchart LR
  subgraph celery["${tr(l, 'Celery / kombu', 'Celery / kombu')}"]
    queue[("celery<br/>list: ${tr(l, 'сообщения', 'messages')}<br/>${now(l)}")]
    unacked[("unacked + unacked_index<br/>hash + zset: ${tr(l, 'в работе', 'in flight')}<br/>${now(l)}")]
    meta[("celery-task-meta-{id}<br/>string, TTL 86400 s<br/>${now(l)}")]
    events(["/0.celeryev<br/>${tr(l, 'события (pub/sub)', 'events (pub/sub)')}"])
  end
  subgraph ours["stackdesk:"]
    products[("stackdesk:product:{id}<br/>stackdesk:products<br/>${now(l)}")]
    tasks[("stackdesk:task:{id}<br/>stackdesk:tasks<br/>${now(l)}")]
    misc[("stackdesk:workers, :revoked,<br/>:dead_letter<br/>workers — · revoked — · dead —")]
  end
  queue -- "${tr(l, 'взята воркером', 'taken by a worker')}" --> unacked
  unacked -- "ack" --> meta`,
  },
  {
    id: 'with-without',
    title: { ru: 'С воркером и без', en: 'With and without a worker' },
    caption: {
      ru: 'Без фоновой задачи клиент ждёт отправку; с ней — получает 201 сразу. «Измерить» запускает оба варианта по-настоящему.',
      en: 'Without a background task the client waits for the send; with one it gets its 201 at once. “Measure” runs both for real.',
    },
    source: (l) => `flowchart LR
  subgraph without["${tr(l, 'Без воркера', 'Without a worker')}"]
    c1["${tr(l, 'Клиент', 'Client')}"] -- "POST" --> a1["API"]
    a1 -- "${tr(l, 'ждёт отправку ~30 с', 'waits for the send ~30 s')}" --> t1["Telegram"]
    a1 -- "${tr(l, '201 через ~30 с', '201 after ~30 s')}" --> c1
  end
  subgraph with["${tr(l, 'С воркером (Stackdesk)', 'With a worker (Stackdesk)')}"]
    c2["${tr(l, 'Клиент', 'Client')}"] -- "POST" --> a2["API"]
    a2 -- "${tr(l, 'в очередь', 'enqueue')}" --> r2[("Redis")]
    a2 -- "${tr(l, '201 за ~1 мс', '201 in ~1 ms')}" --> c2
    r2 --> w2["${tr(l, 'воркер', 'worker')}"] -- "~30 s" --> t2["Telegram"]
  end`,
  },
];
