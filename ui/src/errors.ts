// The API's and the settings' validation errors in the UI's language. The API answers in
// FastAPI's English (`{"type", "loc", "msg", "ctx"}`), as FastAPI does, and the settings in
// English with a machine-readable `type` and `ctx` (`ProblemKind` in crates/desk/src/error.rs);
// the Russian UI words each by its type and context, the English UI keeps the message as sent.

import { formatNumber } from './format';
import { type Key, t } from './i18n';
import type { FieldError, Language, SettingProblem } from './ipc';

/** A number from an error's context, formatted for `lang` («1 000 000 000»); text as it is. */
function num(value: unknown, lang: Language): string {
  return typeof value === 'number' ? formatNumber(value, undefined, lang) : String(value ?? '');
}

/** One API validation error in `lang`; a type the UI does not know keeps the API's message. */
export function apiErrorText(error: FieldError, lang: Language): string {
  if (lang === 'en') return error.msg;
  const ctx = error.ctx ?? {};
  const say = (key: Key, params: Record<string, string | number> = {}) => t(key, params, lang);
  // A bound the context lacks: the API's own words rather than a sentence with a hole.
  const bound = (name: string, key: Key, param: string) =>
    ctx[name] === undefined ? error.msg : say(key, { [param]: num(ctx[name], lang) });
  switch (error.type) {
    case 'missing':
      return say('error.missing');
    case 'string_type':
      return say('error.string_type');
    case 'string_too_short':
      return ctx.min_length === 1 ? say('error.empty') : bound('min_length', 'error.string_too_short', 'min');
    case 'string_too_long':
      return bound('max_length', 'error.string_too_long', 'max');
    case 'greater_than':
      return bound('gt', 'error.greater_than', 'gt');
    case 'greater_than_equal':
      return bound('ge', 'error.greater_than_equal', 'ge');
    case 'less_than':
      return bound('lt', 'error.less_than', 'lt');
    case 'less_than_equal':
      return bound('le', 'error.less_than_equal', 'le');
    case 'float_parsing':
      return say('error.float_parsing');
    case 'float_type':
      return say('error.float_type');
    case 'int_parsing':
    case 'int_type':
      return say('error.int_parsing');
    case 'json_invalid':
      return say('error.json_invalid');
    case 'model_attributes_type':
      return say('error.model_attributes_type');
    case 'enum':
    case 'literal_error':
      return ctx.expected !== undefined ? say('error.expected', { expected: String(ctx.expected) }) : error.msg;
    default:
      return error.msg;
  }
}

/** One settings problem in `lang` (`field`: the form field it is shown under). */
export function settingProblemText(problem: SettingProblem, lang: Language, field = problem.key): string {
  if (lang === 'en') return problem.message;
  const say = (key: Key, params: Record<string, string | number> = {}) => t(key, params, lang);
  switch (problem.type) {
    case 'whole_number':
      return say('setting.whole_number', { min: num(problem.ctx.min, lang), max: num(problem.ctx.max, lang) });
    case 'seconds':
      return say('setting.seconds', { max: num(problem.ctx.max, lang) });
    case 'host':
      return say('setting.host');
    case 'http_url':
      return say('setting.http_url');
    case 'origins':
      return say('setting.origins');
    case 'redis_url':
      // The form asks for Redis's port and makes the URL of it.
      return field === 'REDIS_PORT' ? say('setting.port') : say('setting.redis_url');
    case 'redis_tcp':
      return say('setting.redis_tcp');
    case 'required_with':
      return say('setting.required_with', { other: problem.ctx.other });
    case 'env_file':
      return say('setting.env_file');
    case 'not_editable':
      return say('setting.not_editable');
    case 'distinct_port':
      return say('setting.distinct_port', { other: problem.ctx.other });
  }
}
