// The first-run screen when no Redis can be found: what Redis is for, and the three ways to get
// one (the bundled one, Memurai on Windows, a Redis the learner already has), in plain words.

import type { Context } from '../context';
import { h } from '../dom';
import { t } from '../i18n';
import type { RedisServerCheck } from '../ipc';
import type { StackControl } from '../stack';
import { redisUrlFor } from '../state';

function choice(title: string, ...body: (Node | string)[]): HTMLElement {
  return h(
    'section',
    { class: 'choice' },
    h('h3', {}, title),
    ...body.map((b) => (typeof b === 'string' ? h('p', {}, b) : b)),
  );
}

export class FirstRun {
  constructor(
    private readonly ctx: Context,
    private readonly stack: StackControl,
  ) {}

  /** Asks where Redis is; shows the choices when a managed Redis has nothing to run. `told`: say
   * so when it is found (after "Check again"). */
  async check(told = false): Promise<void> {
    let check: RedisServerCheck;
    try {
      check = await this.ctx.backend.redisServer();
    } catch {
      return; // Settings are invalid: the settings tab says why.
    }
    if (check.managed && !check.path) return this.choices(check);
    if (told && check.path) this.ctx.notice(t('firstrun.found', { version: check.version ?? '?', path: check.path }));
  }

  /** Shows the choices (`check` says where we looked), in the dialog layer. */
  choices(check: RedisServerCheck): void {
    const windows = check.os === 'windows';
    const url = h('input', {
      id: 'first-run-url',
      name: 'REDIS_URL',
      type: 'text',
      autocomplete: 'off',
      spellcheck: 'false',
      value: redisUrlFor('6379'),
      'aria-label': t('firstrun.url_label'),
    }) as HTMLInputElement;
    const choices = [
      choice(t('firstrun.bundled'), t(windows ? 'firstrun.bundled.windows' : 'firstrun.bundled.linux')),
      ...(windows ? [choice(t('firstrun.memurai'), t('firstrun.memurai.body'))] : []),
      choice(t('firstrun.existing'), t('firstrun.existing.body'), url),
    ];
    this.ctx.dialog(
      t('firstrun.title'),
      [
        h('p', {}, t('firstrun.why')),
        h('div', { id: 'first-run', class: 'choices' }, ...choices),
        h('p', { class: 'muted' }, t('firstrun.searched', { searched: check.searched ?? '' })),
      ],
      [
        {
          label: t('firstrun.use_url'),
          primary: true,
          onclick: () =>
            void this.stack.saveThenStart({ external: ['redis'], values: { REDIS_URL: url.value.trim() } }),
        },
        { label: t('firstrun.check'), onclick: () => void this.check(true) },
        { label: t('common.close'), onclick: () => {} },
      ],
      { wide: true },
    );
  }
}
