// Why a process is in its state, in the learner's language: the supervisor sends a typed
// `Reason` (generated from its Rust definition), and each kind is worded here.

import type { Cause, DeskErrorBody, ExitHow, Language, NotReady, ProcessKind, Reason, StartFailure } from './ipc';
import { formatDuration, formatNumber } from './format';
import { type Key, language, t } from './i18n';

/** A setting's span of time: whole minutes as such («1 мин», not «1 мин 00 с»), else a duration. */
function span(secs: number, lang?: Language): string {
  if (secs < 60 || secs % 60 !== 0) return formatDuration(secs, lang);
  const unit = (lang ?? language()) === 'ru' ? 'мин' : 'min';
  return `${formatNumber(secs / 60, 0, lang)}\u00a0${unit}`;
}

function exitText(how: ExitHow, lang?: Language): string {
  switch (how.kind) {
    case 'code':
      return t('cause.exit_code', { code: how.code }, lang);
    case 'signal':
      return t('cause.signal', { signal: how.signal }, lang);
    case 'unknown':
      return t('cause.unknown', { detail: how.detail }, lang);
  }
}

function notReadyText(why: NotReady, lang?: Language): string {
  switch (why.kind) {
    case 'exited':
      return t('not_ready.exited', { how: exitText(why.how, lang) }, lang);
    case 'spawn':
      return t('not_ready.spawn', { detail: why.detail }, lang);
    case 'timeout':
      return t('not_ready.timeout', { secs: formatDuration(why.millis / 1000, lang) }, lang);
    case 'no_redis':
      return t('not_ready.no_redis', {}, lang);
    case 'lost_redis':
      return t('not_ready.lost_redis', {}, lang);
    case 'events':
      return t('not_ready.events', { detail: why.detail }, lang);
    case 'connect':
      return t('not_ready.connect', { detail: why.detail }, lang);
    case 'refused':
      return t(why.had_password ? 'not_ready.refused_password' : 'not_ready.refused_none', { reply: why.reply }, lang);
  }
}

/** What happened to a process, in words. */
export function causeText(cause: Cause, lang?: Language): string {
  return cause.kind === 'exited' ? exitText(cause.how, lang) : notReadyText(cause.why, lang);
}

/** Why a process is in its state, in words. */
export function reasonText(reason: Reason, lang?: Language): string {
  switch (reason.kind) {
    case 'probing':
      return t('reason.probing', {}, lang);
    case 'external_silent':
      return t('reason.external_silent', {}, lang);
    case 'crashed':
      return causeText(reason.cause, lang);
    case 'restarting_in':
      return t(
        'reason.restarting_in',
        { secs: formatDuration(reason.secs, lang), cause: causeText(reason.cause, lang) },
        lang,
      );
    case 'waiting_for_redis':
      return t('reason.waiting_for_redis', { cause: causeText(reason.cause, lang) }, lang);
    case 'waiting_for_put_back':
      return t('reason.waiting_for_put_back', {}, lang);
    case 'crash_loop':
      return t(
        'reason.crash_loop',
        {
          count: reason.count,
          window: span(reason.window_secs, lang),
          pause: span(reason.pause_secs, lang),
          cause: causeText(reason.cause, lang),
        },
        lang,
      );
  }
}

/** Why a start failed, in words, naming the process («Redis не запустился: …»). */
export function startFailureText(process: ProcessKind, failure: StartFailure, lang?: Language): string {
  const why = ((): string => {
    switch (failure.kind) {
      case 'no_redis_binary':
        return t('start_failure.no_redis_binary', {}, lang);
      case 'external_silent':
        return failure.port === null
          ? t('start_failure.external_silent_worker', {}, lang)
          : t('start_failure.external_silent', { port: failure.port }, lang);
      case 'not_ready':
        return notReadyText(failure.why, lang);
      case 'stopped_before_ready':
        return t('start_failure.stopped_before_ready', {}, lang);
    }
  })();
  return t('start_failure', { process: t(`process.${process}` as Key, {}, lang), why }, lang);
}

/** Who holds a taken port, and what to do, in words (the body of a `port_taken` error). */
export function portTakenText(body: DeskErrorBody, lang?: Language): string {
  const port = body.port ?? 0;
  if (body.owner === 'redis') return t('port.taken_by_redis', { port }, lang);
  const who =
    body.owner_name && body.owner_pid
      ? t('port.who_named', { name: body.owner_name, pid: body.owner_pid }, lang)
      : body.owner_pid
        ? t('port.who_pid', { pid: body.owner_pid }, lang)
        : t('port.who_unknown', {}, lang);
  const needer = body.process ?? 'monitor';
  const key = needer === 'redis' ? t('port.key_redis', {}, lang) : needer === 'api' ? 'API_PORT' : 'MONITOR_PORT';
  return t('port.taken', { port, needer: t(`port.needer.${needer}` as Key, {}, lang), who, key }, lang);
}
