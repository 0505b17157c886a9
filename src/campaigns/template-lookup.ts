/** What the planner and validation need of the templates library (src/templates implements it). */
export interface TemplateLookup {
  has(name: string): boolean;
  resolveLocale(name: string, wanted: string | null | undefined): string | undefined;
  requiredVariables(name: string): string[];
}

const loaded = new Map<string, Promise<TemplateLookup | undefined>>();

/** Loads the templates library when that domain is present (once per folder and process); undefined otherwise (checks are then skipped). */
export function loadTemplateLookup(dir: string): Promise<TemplateLookup | undefined> {
  let p = loaded.get(dir);
  if (!p) {
    p = loadOnce(dir);
    p.catch(() => loaded.delete(dir));
    loaded.set(dir, p);
  }
  return p;
}

async function loadOnce(dir: string): Promise<TemplateLookup | undefined> {
  const spec = '../templates/index.ts';
  let mod: { loadTemplateLibrary?: (dir: string) => Promise<TemplateLookup> };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch {
    return undefined;
  }
  if (typeof mod.loadTemplateLibrary !== 'function') return undefined;
  return mod.loadTemplateLibrary(dir);
}
