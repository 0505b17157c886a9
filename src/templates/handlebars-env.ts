/** The one Handlebars environment templates compile in: our helpers, no global registrations leak. */
import Handlebars from 'handlebars';
import { registerHelpers } from './helpers.ts';

export const hbs = Handlebars.create();
export const HELPER_NAMES: readonly string[] = registerHelpers(hbs);
