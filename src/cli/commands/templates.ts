import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { RegisterCommands } from '../context.ts';
import { formatJson, formatTable } from '../output.ts';
import { AppError } from '../../shared/app-error.ts';
import { deepMerge, loadTemplateLibrary, templateLibraryOptions, type TemplateLibrary } from '../../templates/index.ts';
import { formatFinding, lintTemplates } from '../../templates/lint-templates.ts';
import { templateDataForClient } from '../../templates/client-data.ts';
import type { AppContext } from '../context.ts';

interface RenderOptions {
  client?: string;
  contact?: string;
  data?: string;
  locale?: string;
  out?: string;
  json?: boolean;
}

function readDataFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new AppError('INPUT_FILE_UNREADABLE', `--data ${file}: cannot be read`, { cause });
  }
  let value: unknown;
  try {
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new AppError('INPUT_FILE_UNREADABLE', `--data ${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'} (${String((cause as Error).message).split('\n')[0]})`, { cause });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new AppError('INPUT_INVALID', `--data ${file}: must hold one object of template variables`);
  return value as Record<string, unknown>;
}

function parseId(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new AppError('INPUT_INVALID', `${flag} ${value}: must be a positive whole number`);
  return n;
}

async function openLibrary(ctx: AppContext): Promise<TemplateLibrary> {
  // One-shot commands: no dev-mode watcher (nothing stays running to use a recompile).
  const { fallback } = templateLibraryOptions(ctx.config.sections.templates);
  return loadTemplateLibrary(ctx.config.templatesDir, { fallback, clock: ctx.clock });
}

/** Sample data, overlaid with a client's real data (--client) or a data file (--data). */
async function renderFor(ctx: AppContext, lib: TemplateLibrary, name: string, opts: RenderOptions) {
  if (!lib.has(name)) throw new AppError('TEMPLATE_NOT_FOUND', `template "${name}" does not exist in ${ctx.config.templatesDir}`);
  if (opts.client && opts.data) throw new AppError('INPUT_INVALID', 'use --client or --data, not both');
  let wanted = opts.locale;
  let overlay: Record<string, unknown> = {};
  if (opts.client) {
    const c = await templateDataForClient(ctx.db, parseId(opts.client, '--client'), opts.contact ? parseId(opts.contact, '--contact') : undefined);
    overlay = c.data;
    wanted ??= c.language ?? undefined;
  } else if (opts.data) {
    overlay = readDataFile(opts.data);
  }
  const locale = lib.resolveLocale(name, wanted ?? 'en');
  if (!locale) throw new AppError('TEMPLATE_NOT_FOUND', `template "${name}": no locale fits ${wanted ?? 'en'}`);
  const data = opts.data ? overlay : deepMerge(lib.sampleData(name, locale), overlay);
  return { locale, mail: lib.render(name, locale, data) };
}

export const registerTemplatesCommands: RegisterCommands = (program, run) => {
  const t = program.command('templates').description('the mail templates: list, preview, render, lint');

  t.command('list')
    .description('list the templates with their kind, locales and purpose')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      run(async (ctx) => {
        const lib = await openLibrary(ctx);
        const list = lib.list();
        if (opts.json) ctx.out(formatJson(list.map((i) => ({ ...i, required: lib.requiredVariables(i.name) }))));
        else ctx.out(formatTable(list.map((i) => ({ name: i.name, kind: i.kind, locales: i.locales, purpose: i.purpose.length > 70 ? `${i.purpose.slice(0, 69)}…` : i.purpose })), ['name', 'kind', 'locales', 'purpose']));
      }),
    );

  t.command('preview <name>')
    .description('render a template (sample data, a client, or a data file) and write HTML and text files; prints the subject')
    .option('--client <id>', "use this client's contact, company and owner")
    .option('--contact <id>', 'with --client: this contact rather than the first active one')
    .option('--data <file>', 'a JSON or YAML file with the template variables')
    .option('--locale <tag>', 'BCP 47 language tag (falls back along the chain)')
    .option('--out <dir>', 'folder for NAME.LOCALE.html and .txt', '.')
    .action((name: string, opts: RenderOptions) =>
      run(async (ctx) => {
        const lib = await openLibrary(ctx);
        const { locale, mail } = await renderFor(ctx, lib, name, opts);
        const dir = path.resolve(opts.out ?? '.');
        mkdirSync(dir, { recursive: true });
        const base = path.join(dir, `${name}.${locale}`);
        writeFileSync(`${base}.html`, mail.html);
        writeFileSync(`${base}.txt`, `${mail.text}\n`);
        ctx.out(`subject: ${mail.subject}`);
        ctx.out(`locale:  ${locale}`);
        ctx.out(`wrote:   ${base}.html`);
        ctx.out(`         ${base}.txt`);
      }),
    );

  t.command('render <name>')
    .description('render a template and print subject, HTML and text')
    .option('--client <id>', "use this client's contact, company and owner")
    .option('--contact <id>', 'with --client: this contact rather than the first active one')
    .option('--data <file>', 'a JSON or YAML file with the template variables')
    .option('--locale <tag>', 'BCP 47 language tag (falls back along the chain)')
    .option('--json', 'print {template, locale, subject, html, text} as JSON')
    .action((name: string, opts: RenderOptions) =>
      run(async (ctx) => {
        const lib = await openLibrary(ctx);
        const { locale, mail } = await renderFor(ctx, lib, name, opts);
        if (opts.json) ctx.out(formatJson({ template: name, locale, subject: mail.subject, html: mail.html, text: mail.text }));
        else ctx.out(`Subject: ${mail.subject}\n\n${mail.text}`);
      }),
    );

  t.command('lint [name]')
    .description('check templates: MJML, Handlebars, metadata, variables, locales, sample data, writing rules (warnings)')
    .option('--json', 'print JSON')
    .action((name: string | undefined, opts: { json?: boolean }) =>
      run(async (ctx) => {
        const findings = await lintTemplates(ctx.config.templatesDir, name);
        const errors = findings.filter((f) => f.level === 'error').length;
        if (opts.json) ctx.out(formatJson({ errors, warnings: findings.length - errors, findings }));
        else {
          for (const f of findings) ctx.out(formatFinding(f));
          ctx.out(`${errors} error(s), ${findings.length - errors} warning(s)`);
        }
        if (errors > 0) throw new AppError('TEMPLATE_INVALID', `templates lint: ${errors} error(s) in ${ctx.config.templatesDir}`);
      }),
    );
};
